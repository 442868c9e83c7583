"""The worker when its store misbehaves: the file removed or replaced under it (issue 17, item 10), the
database locked for longer than the busy timeout (item 11). Nothing trained twice, nothing lost, no run
failed for a store that was only busy. In-process workers with a small fake runner; no TensorFlow."""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kdcore import paths
from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent, Reporter, RunCancelled
from kdcore.store import RunStore
from kdcore.store import schema as store_schema
from kdcore.worker.loop import Worker
from kdcore.worker.reporter import StoreReporter

ARMS = ("teacher", "student")
EPOCHS = 2


def counting_run(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None) -> dict:
    """Two arms of two epochs of ``steps`` ticks (from the run name, ``steps=N step_s=S``), one ``loss`` each."""
    opts = dict(part.split("=", 1) for part in config.name.split() if "=" in part)
    steps, step_s = int(opts.get("steps", 5)), float(opts.get("step_s", 0.001))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "started").write_text("yes")
    for arm in ARMS:
        reporter.report(ProgressEvent("arm_start", arm, 0, 0, steps, EPOCHS))
        for epoch in range(EPOCHS):
            for step in range(1, steps + 1):
                time.sleep(step_s)
                if reporter.should_stop():
                    raise RunCancelled(f"{arm}: stopped at epoch {epoch + 1}, batch {step}")
                reporter.report(ProgressEvent("tick", arm, epoch, step, steps, EPOCHS, {"loss": 1.0 / step}))
            reporter.report(ProgressEvent("epoch_end", arm, epoch, steps, steps, EPOCHS, {"loss": 0.5}))
        reporter.report(ProgressEvent("arm_end", arm, EPOCHS, 0, 0, EPOCHS, {"test_accuracy": 0.9}))
    (run_dir / "finished").write_text("yes")
    return {"arms": {arm: {"test_accuracy": 0.9} for arm in ARMS}}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def _worker(home: Path, log: io.StringIO) -> Worker:
    return Worker(home, runner=counting_run, describe_device=lambda: "fake", poll_interval=0.05,
                  heartbeat_interval=0.1, stale_after=2.0, exit_when_idle=True, flush_interval=0.05, log=log)


def _serve_in_thread(worker: Worker) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(worker.serve()), daemon=True)
    thread.start()
    return thread, codes


def _training(store: RunStore, run_id: str, arm: str = "teacher", past_step: int = 3) -> bool:
    run = store.get_run(run_id)
    return run is not None and run.arm == arm and (run.step or 0) > past_step


# -- item 10: the file removed or replaced -------------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_worker__store_file_removed_or_replaced_stops_claiming(kd_home: Path, how: str) -> None:
    # given: a worker training a long run, a second run queued
    store = RunStore(kd_home)
    first = store.create_run(RunConfig(name="steps=2000 step_s=0.01"))
    second = store.create_run(RunConfig(name="steps=2"))
    log = io.StringIO()
    worker = _worker(kd_home, log)
    thread, codes = _serve_in_thread(worker)
    wait_for(lambda: _training(store, first), 10, "the first run to be training")
    # when: someone deletes the database (with its WAL), or restores a copy over it
    if how == "removed":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    else:
        backup = sqlite3.connect(kd_home / "backup.sqlite3")
        sqlite3.connect(store.path).backup(backup)
        backup.close()
        os.replace(kd_home / "backup.sqlite3", store.path)
    thread.join(timeout=10)
    # then
    text = log.getvalue()
    assert not thread.is_alive(), f"the worker stops serving a store that is gone:\n{text}"
    assert codes and codes[0] != 0, f"and exits with an error code, got {codes}"
    assert f"{store.path} was {how}" in text, f"a clear log line says what happened:\n{text}"
    assert not (paths.run_dir(first, kd_home) / "finished").exists(), "the run stops instead of training into a ghost"
    assert not paths.run_dir(second, kd_home).exists(), "no further run is claimed"
    if how == "replaced":
        with RunStore(kd_home) as now:
            assert now.get_run(second).status == "queued", "the file now in place still has the run queued"
    store.close()


# -- item 11: a database locked for longer than the busy timeout ---------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """Every connection opened from now on gives up on a lock after 0.2 s (instead of 30 s)."""
    monkeypatch.setattr(store_schema, "BUSY_TIMEOUT_S", 0.2)
    return 0.2


def _hold_write_lock(path: Path, seconds: float) -> None:
    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    other.execute("BEGIN EXCLUSIVE")
    time.sleep(seconds)
    other.execute("ROLLBACK")
    other.close()


def test_worker__store_locked_longer_than_busy_timeout_run_succeeds_with_every_metric(
        kd_home: Path, short_busy_timeout: float) -> None:
    # given: a run of 2 arms x 2 epochs x 40 ticks of 20 ms
    store = RunStore(kd_home)
    steps = 40
    run_id = store.create_run(RunConfig(name=f"steps={steps} step_s=0.02"))
    log = io.StringIO()
    thread, codes = _serve_in_thread(_worker(kd_home, log))
    wait_for(lambda: _training(store, run_id), 10, "the teacher to be training")
    # when: another process holds the write lock 1.5 s (over an epoch end), far past the busy timeout
    _hold_write_lock(store.path, 1.5)
    thread.join(timeout=30)
    # then
    run = store.get_run(run_id)
    assert not thread.is_alive() and codes == [0], f"the worker finished normally:\n{log.getvalue()}"
    assert run.status == "succeeded", f"a busy store fails no run: {run.status} {run.error}\n{log.getvalue()}"
    rows = sqlite3.connect(store.path).execute(
        "SELECT kind, COUNT(*), COUNT(DISTINCT arm || '/' || epoch || '/' || step || '/' || name) "
        "FROM metrics WHERE run_id = ? GROUP BY kind", (run_id,)).fetchall()
    counts = {kind: (n, distinct) for kind, n, distinct in rows}
    assert counts.get("tick") == (2 * EPOCHS * steps,) * 2, f"every tick once: {counts}"
    assert counts.get("epoch") == (2 * EPOCHS,) * 2, f"every epoch end once: {counts}"
    assert "[student] epoch 2/2 done" in store.logs(run_id), "the log lines are there too"
    store.close()


def test_store_reporter__report_does_not_wait_for_a_locked_store(kd_home: Path, short_busy_timeout: float) -> None:
    # given: a claimed run and a reporter writing often
    store = RunStore(kd_home)
    run_id = store.create_run(RunConfig(name="unit"))
    store.claim_next("w1")
    reporter = StoreReporter(store, run_id, "w1", flush_interval=0.01, sync_timeout=0.3)
    locker = threading.Thread(target=_hold_write_lock, args=(store.path, 1.0))
    locker.start()
    time.sleep(0.1)
    # when: the training thread reports ticks and an epoch end while the lock is held
    slowest = 0.0
    for step in range(1, 21):
        started = time.perf_counter()
        reporter.report(ProgressEvent("tick", "teacher", 0, step, 20, 1, {"loss": 1.0}))
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.01)
    started = time.perf_counter()
    reporter.report(ProgressEvent("epoch_end", "teacher", 0, 20, 20, 1, {"loss": 0.8}))
    epoch_end_s = time.perf_counter() - started
    stop_s = time.perf_counter()
    stopped = reporter.should_stop()
    stop_s = time.perf_counter() - stop_s
    locker.join()
    drained = reporter.flush()
    reporter.close()
    # then
    assert slowest < 0.05, f"a tick never waits for the store ({slowest:.3f} s)"
    assert epoch_end_s < 0.3 + 0.1, f"an epoch end waits at most sync_timeout ({epoch_end_s:.3f} s)"
    assert not stopped and stop_s < 0.05, f"a busy store is no reason to stop ({stop_s:.3f} s)"
    assert drained, "once the lock is gone everything is written"
    assert len(store.curves(run_id)) == 21, "every row, once"
    store.close()


def test_store_reporter__full_queue_sheds_ticks_never_epoch_ends(kd_home: Path, short_busy_timeout: float) -> None:
    # given: a reporter that keeps at most 5 events waiting, and a store locked for 0.6 s
    store = RunStore(kd_home)
    run_id = store.create_run(RunConfig(name="unit"))
    store.claim_next("w1")
    said: list[str] = []
    reporter = StoreReporter(store, run_id, "w1", flush_interval=0.01, sync_timeout=0.05, max_pending=5,
                             say=said.append)
    locker = threading.Thread(target=_hold_write_lock, args=(store.path, 0.6))
    locker.start()
    time.sleep(0.1)
    # when: 10 ticks and an epoch end arrive while it is locked
    for step in range(1, 11):
        reporter.report(ProgressEvent("tick", "teacher", 0, step, 10, 1, {"loss": 1.0}))
    reporter.report(ProgressEvent("epoch_end", "teacher", 0, 10, 10, 1, {"loss": 0.8}))
    locker.join()
    drained = reporter.flush(timeout=5)
    reporter.close()
    # then
    curves = store.curves(run_id)
    assert drained, "everything kept is written once the lock is gone"
    assert (curves["kind"] == "epoch").sum() == 1, "the epoch end is never shed"
    assert (curves["kind"] == "tick").sum() == 5, f"memory stays bounded: 5 ticks kept, got {len(curves) - 1}"
    assert any("5 tick(s) were not kept" in line for line in said), f"the worker's log says so: {said}"
    store.close()
