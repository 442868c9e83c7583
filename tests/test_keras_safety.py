"""Loading ``.keras`` files safely (issue 17, item 17): a Keras without the published ``safe_mode``
bypasses (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906), and ``safe_mode=True`` said at every load."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]

#: The first Keras with fixes for all three CVEs.
SAFE_KERAS = (3, 11)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def test_pyproject__requires_a_keras_without_the_safe_mode_bypasses():
    # given pyproject's dependency on keras
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    keras = [dep for dep in dependencies if re.match(r"keras\s*[<>=!~]", dep)]
    assert len(keras) == 1, f"one keras requirement expected: {dependencies}"
    # then its lower bound is at least 3.11
    bound = re.search(r">=\s*([\d.]+)", keras[0])
    assert bound and _version(bound.group(1)) >= SAFE_KERAS, f"keras must be >=3.11, pyproject says {keras[0]!r}"


def test_requirements__pinned_keras_is_within_the_safe_range():
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("keras==")]
    assert pins and _version(pins[0].split("==")[1]) >= SAFE_KERAS, f"requirements.txt pins {pins}"


def _load_model_calls(path: Path) -> list[ast.Call]:
    """Every call of a function named ``load_model`` in one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "load_model":
                calls.append(node)
    return calls


def _passes_safe_mode_true(call: ast.Call) -> bool:
    return any(kw.arg == "safe_mode" and isinstance(kw.value, ast.Constant) and kw.value.value is True
               for kw in call.keywords)


def test_load_model__every_call_in_kdcore_says_safe_mode_true():
    # given every load_model(...) call in the package
    calls = [(path, call) for path in sorted((ROOT / "kdcore").rglob("*.py")) for call in _load_model_calls(path)]
    assert calls, "found no load_model call at all: is the scan looking in the right place?"
    # then each passes safe_mode=True explicitly (a default can change; a stated True cannot)
    unsafe = [f"{path.relative_to(ROOT)}:{call.lineno}" for path, call in calls if not _passes_safe_mode_true(call)]
    assert not unsafe, f"load_model without safe_mode=True: {unsafe}"
