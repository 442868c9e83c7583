"""Check an uploaded ``.keras`` teacher in a process of its own: ``python -m kdcore teacher check FILE``.

Why a subprocess and not a call: loading a Keras model imports TensorFlow (seconds, and a
GPU context), which the dashboard's process must never do; a model that crashes the loader
or hangs takes down only the child. What the UI gets back is always a report dict,
``{"ok": bool, "problems": [...], ...}``: a timeout, a crash or output that is not JSON
becomes a problem in words, never an exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kdcore.config import RunConfig

#: Seconds a check may take: loading TensorFlow and the model, then a few rows through it.
CHECK_TIMEOUT_S = 120.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def teacher_check_argv(file: Path | str, config_file: Path | str, home: Path | str) -> list[str]:
    """The command line of one check: this interpreter, the CLI, the file, the run's config and home."""
    return [sys.executable, "-m", "kdcore", "teacher", "check", str(file), "--config", str(config_file),
            "--home", str(home)]


def failed_report(problem: str) -> dict[str, Any]:
    """A report that says only what went wrong (the check could not judge the model)."""
    return {"ok": False, "problems": [problem]}


def parse_report(stdout: str, stderr: str, returncode: int, file: Path | str) -> dict[str, Any]:
    """The check's JSON report (its last stdout line), else a problem naming the file and what the process said."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        report = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        report = None
    if isinstance(report, dict) and isinstance(report.get("problems", []), list):
        report.setdefault("problems", [])
        report["ok"] = bool(report.get("ok", not report["problems"])) and not report["problems"]
        if not report["ok"] and not report["problems"]:
            report["problems"] = [f"{Path(file).name}: the check said not ok (exit {returncode}) without a reason"]
        return report
    said = _last_lines(stderr or stdout)
    return failed_report(f"{Path(file).name}: the teacher check ended without a report (exit {returncode})"
                         + (f": {said}" if said else ""))


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])[-600:]


def run_teacher_check(file: Path | str, config: RunConfig, home: Path | str, *,
                      timeout: float = CHECK_TIMEOUT_S, argv_prefix: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the check of ``file`` against ``config``'s data in a subprocess and return its report.

    ``argv_prefix`` replaces ``python -m kdcore`` (tests point it at a stand-in script).
    """
    home = Path(home)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="kd-teacher-check-") as folder:
        config_file = Path(folder) / "config.json"
        config_file.write_text(config.to_json())
        argv = teacher_check_argv(file, config_file, home)
        if argv_prefix is not None:
            argv = [*argv_prefix, *argv[3:]]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL, cwd=folder)
        except subprocess.TimeoutExpired:
            return failed_report(f"{Path(file).name}: the teacher check took longer than {timeout:.0f} s and was "
                                 "stopped (a very large model, or a busy machine); try again, or check it with "
                                 f"`python -m kdcore teacher check {file}`")
        except OSError as e:
            return failed_report(f"{Path(file).name}: the teacher check could not start ({e})")
    return parse_report(done.stdout, done.stderr, done.returncode, file)
