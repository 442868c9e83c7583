"""The package's layers, as import-linter contracts in pyproject.toml, hold for today's code.

Why a test: a page that imports the engine would pull TensorFlow into the dashboard's
process; a store that imports the UI would make the worker depend on Streamlit. The
contracts say which way imports may go; this test fails the suite the moment one breaks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
#: ``lint-imports`` as this interpreter runs it (the console script next to it may not be on PATH).
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.argv[0] = 'lint-imports'; sys.exit(lint_imports_command())", "--no-cache"]


def test_import_contracts__are_kept() -> None:
    # given the contracts declared in pyproject.toml
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} >= {"layers", "forbidden"}, "a layers and a forbidden contract exist"
    # when import-linter checks the package
    done = subprocess.run(LINT_IMPORTS, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    # then every contract is kept
    assert done.returncode == 0, f"import contracts broken:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
    assert f"{len(contracts)} kept, 0 broken" in done.stdout, done.stdout[-2000:]


def test_import_contracts__catch_a_page_helper_that_imports_keras(tmp_path: Path) -> None:
    # given a copy of the package where a UI module imports Keras
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "kdcore", copy / "kdcore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    bad = copy / "kdcore" / "ui" / "format.py"
    bad.write_text("import keras  # a mistake the contract must catch\n" + bad.read_text())
    # when import-linter checks that copy
    done = subprocess.run(LINT_IMPORTS, cwd=copy,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(copy)})
    # then it fails and names the module
    assert done.returncode != 0, "a UI module importing keras must break the contract"
    assert "kdcore.ui.format" in done.stdout, done.stdout[-2000:]
