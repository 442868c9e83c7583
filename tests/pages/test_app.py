"""The app's entry: the local worker, deep links, no TensorFlow; every page with a store it cannot open."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def test_app__starts_the_local_worker_once_per_session(kd_home: Path, worker_calls: list[Any],
                                                       open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.run()
    assert not at.exception, f"app raised: {at.exception}"
    assert len(worker_calls) == 1, f"ensure_local_worker should run once per session, ran {len(worker_calls)} times"


def test_app__worker_failure_is_a_warning_not_a_traceback(kd_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                          open_page: Callable[..., AppTest]) -> None:
    def broken(home: Any = None, **kw: Any) -> bool:
        raise OSError("no space left on device")

    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker", broken)
    at = open_page()
    assert not at.exception, f"a worker failure must not raise in the page: {at.exception}"
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "no space left on device" in warnings, f"the sidebar should explain the failure, got {warnings!r}"


def test_app__deep_link_sent_through_the_entry_point_reaches_its_page(kd_home: Path, fixture_runs: dict[str, str],
                                                                      open_page: Callable[..., AppTest]) -> None:
    """A page opened before app.py ran redirects to ``/?page=live&run=...``; app.py goes on from there."""
    at = open_page(query={"page": "live", "run": fixture_runs["failed"]})
    assert not at.exception, f"app raised: {at.exception}"
    assert at.selectbox(key="live.run").value == fixture_runs["failed"], "the live page of the linked run"
    assert "page" not in at.query_params, f"the routing parameter is dropped: {at.query_params}"


def test_app__never_imports_tensorflow(kd_home: Path) -> None:
    """Every page, run in a fresh interpreter, leaves TensorFlow (and Keras) unimported."""
    script = textwrap.dedent(f"""
        import sys
        from unittest import mock
        from streamlit.testing.v1 import AppTest
        with mock.patch("kdcore.worker.processes.ensure_local_worker", return_value=False):
            at = AppTest.from_file({APP!r}, default_timeout=60).run()
            for page in ("pages/live.py", "pages/runs.py", "pages/download.py", "pages/datasets.py"):
                at.switch_page(page).run()
                assert not at.exception, (page, at.exception)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print("HEAVY", heavy)
        sys.exit(1 if heavy else 0)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"the app imported TensorFlow/Keras or failed:\n{done.stdout}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("page", [None, "pages/live.py", "pages/runs.py", "pages/download.py", "pages/datasets.py"])
def test_pages__a_store_that_cannot_be_opened_is_named_not_a_traceback(kd_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       page: str | None,
                                                                       open_page: Callable[..., AppTest]) -> None:
    # given a kdcore home that is a file, not a folder
    blocked = kd_home / "not-a-folder"
    blocked.write_text("x")
    monkeypatch.setenv("KDCORE_HOME", str(blocked))
    # when a page opens (the app's own first page: New run)
    at = open_page(page)
    # then it says which folder and what to do, instead of raising
    assert not at.exception, f"page raised: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert str(blocked) in errors and "KDCORE_HOME" in errors, errors
    # and it is check_home's message (what is wrong with the path), not an exception's class and text
    assert "names a file, not a folder" in errors and "Error" not in errors, errors

