"""Browser end-to-end fixtures: Debian's Chromium driven by pytest-playwright, and the real app.

``kd_app_server`` starts ``streamlit run app.py`` on a free port with its own kdcore home and
waits for ``/_stcore/health``; the app then starts a real worker, which this fixture stops
again (by the pid the worker registered) so no process outlives the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.e2e.browser import poll

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Use the system's Chromium (never a downloaded one), headless and quiet."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": chromium, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A tall viewport, so one screenshot shows a whole page; downloads allowed.

    Taller than the New run form: a select box at the very bottom of the viewport opens no
    option list that Playwright can click.
    """
    return {**browser_context_args, "viewport": {"width": 1400, "height": 3000}, "accept_downloads": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class KdApp:
    url: str
    home: Path
    log: Path


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _stop_workers(home: Path) -> None:
    """Stop the workers the app spawned under this home: SIGTERM, then SIGKILL if they linger."""
    from kdcore.store import RunStore

    if not (home / "kdstudio.sqlite3").exists():
        return
    store = RunStore(home)
    try:
        pids = {w.pid for w in store.workers() if w.stopped_at is None}
    finally:
        store.close()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in pids:
        try:
            poll(partial(_gone, pid), timeout=20, what=f"worker {pid} to stop")  # bound now, not when polled
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def kd_app_server(tmp_path: Path) -> Iterator[KdApp]:
    """The real app on a free port, its kdcore home under tmp_path; stopped afterwards."""
    home = tmp_path / "kdhome"
    home.mkdir()
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "KDCORE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: proc.poll() is not None or _healthy(url), timeout=60, what="the app's health check")
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        yield KdApp(url, home, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _stop_workers(home)


@pytest.fixture
def screenshots() -> Path:
    """Where screenshots go (repo-relative, gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
