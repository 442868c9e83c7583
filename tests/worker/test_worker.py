"""The worker: serving, failures, cancel, SIGTERM, crashes, two workers, live reads, detached start.

Most tests drive the worker with :func:`fake_run`, a stand-in for the pipeline that follows
its contract (events, stop checks, resume from a run folder) in milliseconds; worker
processes load it with ``--runner test_worker:fake_run``. The ``slow`` tests train the real
pipeline on tiny synthetic data.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.progress import ProgressEvent, Reporter, RunCancelled
from kdcore.samples import tiny_config, write_synthetic_imdb
from kdcore.store import RunStore
from kdcore.worker.loop import Worker
from kdcore.worker.processes import alive_workers, ensure_local_worker
from kdcore.worker.reporter import StoreReporter

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parents[1]
FAKE_RUNNER = "test_worker:fake_run"


# -- a fake pipeline -------------------------------------------------------------------------------


def _options(config: RunConfig) -> dict[str, str]:
    """The fake's knobs travel in the run name: ``"steps=50 step_s=0.01 slow=student fail=value"``."""
    return dict(part.split("=", 1) for part in config.name.split() if "=" in part)


def fake_run(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None,
             tick_interval: float = 0.0) -> dict[str, Any]:
    """Trains nothing, but behaves like ``pipeline.run_experiment`` towards the worker.

    Arms teacher, student (and scratch) with ``train.epochs`` epochs of ``steps`` batches;
    a tick after every batch; progress saved per finished epoch in ``fake.json``, so a call
    on the same folder resumes; one line per call appended to ``calls.txt``.
    """
    opts = _options(config)
    steps, step_s = int(opts.get("steps", 5)), float(opts.get("step_s", 0.001))
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "calls.txt", "a") as f:
        f.write(f"{os.getpid()} {os.environ.get('CUDA_VISIBLE_DEVICES')}\n")
    state_path = run_dir / "fake.json"
    done: dict[str, int] = json.loads(state_path.read_text()) if state_path.exists() else {}
    print(f"fake training printed this (pid {os.getpid()})")
    if opts.get("fail") == "value":
        raise ValueError("data.path: no IMDB file at '/nope/imdb.npz'")
    if opts.get("fail") == "memory":
        raise MemoryError()
    arms = ["teacher", "student"] + (["scratch"] if config.train.train_scratch else [])
    epochs = config.train.epochs
    slowest = 0.0
    for arm in arms:
        if done.get(arm, 0) >= epochs:
            continue
        reporter.report(ProgressEvent("arm_start", arm, done.get(arm, 0), 0, steps, epochs,
                                      message=f"starting at epoch {done.get(arm, 0) + 1}"))
        for epoch in range(done.get(arm, 0), epochs):
            for step in range(1, steps + 1):
                time.sleep(step_s if opts.get("slow", arm) == arm else 0.0005)
                started = time.perf_counter()
                if reporter.should_stop():
                    (run_dir / "stopped.json").write_text(json.dumps({"arm": arm, "epoch": epoch, "step": step,
                                                                     "t": time.time()}))
                    raise RunCancelled(f"{arm}: stopped at epoch {epoch + 1}, batch {step}")
                reporter.report(ProgressEvent("tick", arm, epoch, step, steps, epochs,
                                              {"loss": 1.0 / (epoch * steps + step), "samples_per_s": 100.0}))
                slowest = max(slowest, time.perf_counter() - started)
            reporter.report(ProgressEvent("epoch_end", arm, epoch, steps, steps, epochs,
                                          {"loss": 1.0 / (epoch + 1), "val_loss": 1.0 / (epoch + 2)}))
            done[arm] = epoch + 1
            state_path.write_text(json.dumps(done))
        (run_dir / f"{arm}.done").write_text("ok")
        reporter.report(ProgressEvent("arm_end", arm, epochs, 0, 0, epochs, {"test_accuracy": 0.9}))
    summary = {"arms": {arm: {"test_accuracy": 0.9} for arm in arms}, "slowest_report_s": slowest,
               "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return summary


def device_description() -> str:
    return "fake device"


# -- helpers -----------------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def fake_config(name: str = "", epochs: int = 2, scratch: bool = False) -> RunConfig:
    return RunConfig(name=name, train={"epochs": epochs, "train_scratch": scratch})


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS_DIR), str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``kdcore worker`` processes (fake runner unless ``runner=None``); killed at teardown."""
    procs: list[subprocess.Popen] = []

    def start(home: Path, *extra: str, runner: str | None = FAKE_RUNNER, stale_after: float = 2.0,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "kdcore", "worker", "--home", str(home), "--poll-interval", "0.1",
               "--heartbeat-interval", "0.2", "--stale-after", str(stale_after), *extra]
        if runner:
            cmd += ["--runner", runner]
        log = open(tmp_path / f"worker-{len(procs)}.log", "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**_env(), **(env or {})},
                                cwd=tmp_path)
        log.close()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _worker_log(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))


def _in_process_worker(home: Path, **options: Any) -> Worker:
    defaults = dict(runner=fake_run, describe_device=device_description, poll_interval=0.05,
                    heartbeat_interval=0.1, stale_after=2.0, exit_when_idle=True, log=open(os.devnull, "w"))
    return Worker(home, **{**defaults, **options})


def _assert_clean_metrics(store: RunStore, run_id: str) -> None:
    """Epoch rows once per (arm, epoch, name); ticks unique and in order per arm."""
    curves = store.curves(run_id)
    epochs = curves[curves["kind"] == "epoch"]
    dup = epochs.duplicated(["arm", "epoch", "name"])
    assert not dup.any(), f"duplicated epoch rows:\n{epochs[dup]}"
    ticks = curves[curves["kind"] == "tick"]
    dup = ticks.duplicated(["arm", "epoch", "step", "name"])
    assert not dup.any(), f"duplicated ticks:\n{ticks[dup]}"
    rows = sqlite3.connect(store.path).execute(
        "SELECT arm, name, fraction FROM metrics WHERE run_id = ? AND kind = 'tick' ORDER BY rowid", (run_id,)
    ).fetchall()
    last: dict[tuple[str, str], float] = {}
    for arm, name, fraction in rows:
        assert fraction > last.get((arm, name), -1.0), f"tick of {arm}/{name} out of order at {fraction}"
        last[(arm, name)] = fraction


# -- in-process: the loop, failures, cancel ---------------------------------------------------------


def test_worker__serves_queue_in_order(kd_home: Path) -> None:
    # given
    store = RunStore(kd_home)
    ids = [store.create_run(fake_config(f"run{i}")) for i in range(3)]
    # when
    code = _in_process_worker(kd_home).serve()
    # then
    assert code == 0, "an idle worker with --exit-when-idle exits 0"
    runs = [store.get_run(i) for i in ids]
    assert [r.status for r in runs] == ["succeeded"] * 3, f"all served: {[r.status for r in runs]}"
    assert runs[0].finished_at <= runs[1].started_at, "one at a time, oldest first"
    run = runs[0]
    assert run.device == "fake device" and run.summary["arms"]["student"] == {"test_accuracy": 0.9}, "stored"
    assert (run.arm, run.epoch, run.epochs) == ("student", 2, 2), f"last progress kept: {run.arm} {run.epoch}"
    log = store.logs(run.id)
    assert "fake training printed this" in log, f"what training printed is in the run's log:\n{log}"
    assert "[student] epoch 2/2 done" in log, f"a line per epoch end:\n{log}"
    assert set(store.curves(run.id)["arm"]) == {"teacher", "student"}, "both arms' curves"
    assert alive_workers(store) == [], "the worker deregisters when it stops"


@pytest.mark.parametrize("fail, message", [("value", "ValueError: data.path: no IMDB file at '/nope/imdb.npz'"),
                                           ("memory", "MemoryError: out of memory")])
def test_worker__failing_run_is_stored_and_next_served(kd_home: Path, fail: str, message: str) -> None:
    # given
    store = RunStore(kd_home)
    bad = store.create_run(fake_config(f"fail={fail}"))
    good = store.create_run(fake_config())
    # when
    _in_process_worker(kd_home).serve()
    # then
    run = store.get_run(bad)
    assert run.status == "failed", f"the raising run fails, got {run.status}"
    assert run.error.startswith(message), f"readable message, got {run.error!r}"
    assert "Traceback" in run.traceback and "fake_run" in run.traceback, "the traceback is stored"
    assert store.get_run(good).status == "succeeded", "the worker goes on to the next run"


def test_worker__invalid_stored_config_fails_the_run(kd_home: Path) -> None:
    # given: a config that no longer validates (e.g. written by an older version)
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config())
    sqlite3.connect(store.path, isolation_level=None).execute(
        "UPDATE runs SET config = ? WHERE id = ?", (json.dumps({"train": {"epochs": -1}}), run_id))
    # when
    _in_process_worker(kd_home).serve()
    # then
    run = store.get_run(run_id)
    assert run.status == "failed" and "train.epochs" in run.error, f"config error named: {run.error!r}"


def test_worker__cancel_running_stops_within_a_batch(kd_home: Path) -> None:
    # given: a teacher that finishes fast and a slow student (20 ms batches)
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=500 step_s=0.02 slow=student"))
    worker = _in_process_worker(kd_home, cancel_poll_interval=0.2)
    thread = threading.Thread(target=worker.serve)
    thread.start()
    try:
        wait_for(lambda: (r := store.get_run(run_id)).arm == "student" and (r.step or 0) > 5, 10,
                 "the student to be training")
        # when
        asked = time.time()
        assert store.request_cancel(run_id) == "running", "a running run stays running until it stops"
        run = wait_for(lambda: (r := store.get_run(run_id)).finished and r, 5, "the run to stop")
    finally:
        worker.request_stop()
        thread.join(timeout=10)
    # then
    stopped = json.loads((paths.run_dir(run_id, kd_home) / "stopped.json").read_text())
    assert run.status == "cancelled", f"ends as cancelled, got {run.status}"
    assert stopped["t"] - asked < 0.2 + 2 * 0.02 + 0.2, f"stopped {stopped['t'] - asked:.2f} s after the request"
    assert (paths.run_dir(run_id, kd_home) / "teacher.done").exists(), "finished arms' outputs are kept"
    assert "cancelled" in store.logs(run_id), "the log says so"


def test_worker__cancel_queued_run_is_never_started(kd_home: Path) -> None:
    # given
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config())
    # when
    status = store.request_cancel(run_id)
    _in_process_worker(kd_home).serve()
    # then
    assert status == "cancelled" and store.get_run(run_id).status == "cancelled", "cancelled at once"
    assert not paths.run_dir(run_id, kd_home).exists(), "never started"


def test_store_reporter__buffers_and_flushes_on_epoch_end(kd_home: Path) -> None:
    # given
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config())
    store.claim_next("w1")
    reporter = StoreReporter(store, run_id, "w1", flush_interval=60)
    # when: ticks within the flush interval
    reporter.report(ProgressEvent("tick", "teacher", 0, 1, 4, 1, {"loss": 1.0}))
    reporter.report(ProgressEvent("tick", "teacher", 0, 2, 4, 1, {"loss": 0.9}))
    buffered = len(store.curves(run_id))
    reporter.report(ProgressEvent("epoch_end", "teacher", 0, 4, 4, 1, {"loss": 0.8}))
    # then
    assert buffered == 0, "ticks wait in the buffer"
    assert len(store.curves(run_id)) == 3, "an epoch end writes the buffer and itself"


def test_store_reporter__reads_cancel_flag_at_most_every_interval(kd_home: Path) -> None:
    # given
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config())
    store.claim_next("w1")
    reporter = StoreReporter(store, run_id, "w1", cancel_poll_interval=0.3)
    assert not reporter.should_stop(), "not cancelled yet"
    # when
    store.request_cancel(run_id)
    cached = reporter.should_stop()
    time.sleep(0.35)
    # then
    assert not cached, "the flag is read from memory between polls"
    assert reporter.should_stop(), "and from the store after the interval"


def test_store_reporter__stops_when_run_taken_away(kd_home: Path) -> None:
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config())
    store.claim_next("w1")
    reporter = StoreReporter(store, run_id, "w1", cancel_poll_interval=0)
    store.requeue(run_id, "w1", reason="test")
    assert reporter.should_stop(), "a worker that lost its run stops training it"


def test_worker__rejects_stale_after_not_above_heartbeats(kd_home: Path) -> None:
    with pytest.raises(ValueError, match="stale_after must exceed"):
        Worker(kd_home, runner=fake_run, heartbeat_interval=1.0, stale_after=1.5)


# -- worker processes (fake runner) -------------------------------------------------------------------


def test_worker_process__sigterm_requeues_run_and_exits_0(kd_home: Path, spawn: Callable) -> None:
    # given: a worker training a long run
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=100 step_s=0.01"))
    proc = spawn(kd_home)
    wait_for(lambda: (store.get_run(run_id).step or 0) > 3, 20, "the run to be training")
    # when
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    # then
    run = store.get_run(run_id)
    assert code == 0, f"the worker exits 0 on SIGTERM, got {code}"
    assert run.status == "queued" and run.worker_id is None, f"the run goes back to the queue, got {run.status}"
    assert alive_workers(store) == [], "the worker deregistered"
    # and when another worker comes, the run resumes and succeeds
    spawn(kd_home, "--exit-when-idle").wait(timeout=60)
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.attempts == 2, f"resumed elsewhere: {run.status}, {run.attempts}"
    _assert_clean_metrics(store, run_id)


def test_worker_process__kill_9_run_resumes_on_next_worker(kd_home: Path, spawn: Callable) -> None:
    # given: a worker killed mid-epoch of the student, the teacher finished
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=100 step_s=0.01"))
    victim = spawn(kd_home)
    wait_for(lambda: (r := store.get_run(run_id)).arm == "student" and r.epoch == 1 and (r.step or 0) > 20, 30,
             "the student's second epoch")
    victim.kill()
    victim.wait(timeout=10)
    # when: a new worker notices the silent heartbeat
    spawn(kd_home, "--exit-when-idle", stale_after=1.0).wait(timeout=60)
    # then
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.attempts == 2, f"resumed and finished: {run.status}/{run.attempts}"
    starts = store.events(run_id, kinds=["arm_start"])
    assert [(e["arm"], e["epoch"]) for e in starts] == [("teacher", 0), ("student", 0), ("student", 1)], \
        f"the finished teacher is not retrained; the student resumes at epoch 2: {starts}"
    _assert_clean_metrics(store, run_id)
    curves = store.curves(run_id)
    student_ticks = curves[(curves["arm"] == "student") & (curves["kind"] == "tick") & (curves["name"] == "loss")]
    assert len(student_ticks) == 200, f"each student batch ticked exactly once, got {len(student_ticks)}"
    assert "stopped heartbeating" in store.logs(run_id), "the log tells of the recovery"


def test_worker_process__dead_local_worker_is_noticed_before_stale_after(kd_home: Path, spawn: Callable) -> None:
    # given: a worker on this host killed mid-run, and a 60 s staleness timeout
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=50 step_s=0.01"))
    victim = spawn(kd_home)
    wait_for(lambda: (store.get_run(run_id).step or 0) > 3, 20, "the run to be training")
    victim.kill()
    victim.wait(timeout=10)
    # when
    started = time.monotonic()
    spawn(kd_home, "--exit-when-idle", stale_after=60.0).wait(timeout=60)
    # then
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.attempts == 2, f"resumed: {run.status}/{run.attempts}"
    assert time.monotonic() - started < 30, "a dead local process is noticed from its pid, not after 60 s"


def test_worker_process__two_workers_run_six_runs_exactly_once(kd_home: Path, spawn: Callable) -> None:
    # given
    store = RunStore(kd_home)
    ids = [store.create_run(fake_config(f"steps=20 step_s=0.005 n={i}")) for i in range(6)]
    # when
    workers = [spawn(kd_home, "--exit-when-idle"), spawn(kd_home, "--exit-when-idle")]
    codes = [w.wait(timeout=90) for w in workers]
    # then
    assert codes == [0, 0], f"both workers exit 0, got {codes}"
    runs = [store.get_run(i) for i in ids]
    assert all(r.status == "succeeded" and r.attempts == 1 for r in runs), \
        f"every run succeeded on its first claim: {[(r.status, r.attempts) for r in runs]}"
    calls = [len((paths.run_dir(i, kd_home) / "calls.txt").read_text().splitlines()) for i in ids]
    assert calls == [1] * 6, f"each run executed exactly once, got {calls}"


def test_worker_process__devices_start_one_pinned_worker_each(kd_home: Path, spawn: Callable) -> None:
    # given
    store = RunStore(kd_home)
    ids = [store.create_run(fake_config(f"steps=20 step_s=0.01 n={i}")) for i in range(4)]
    # when
    code = spawn(kd_home, "--devices", "0,1", "--exit-when-idle").wait(timeout=90)
    # then
    assert code == 0, f"the supervisor exits 0, got {code}"
    seen = {store.get_run(i).summary["cuda_visible_devices"] for i in ids}
    assert seen <= {"0", "1"} and seen, f"each run ran in a worker pinned to one device: {seen}"
    devices = {w.devices for w in store.workers()}
    assert devices == {"0", "1"}, f"one worker per device registered, got {devices}"


def test_store__reads_while_worker_writes(kd_home: Path, spawn: Callable, tmp_path: Path) -> None:
    # given: a run that reports after every 2 ms batch (far above the pipeline's 2 ticks/s)
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=400 step_s=0.002", epochs=3))
    reader_script = tmp_path / "reader.py"
    reader_script.write_text(
        "import sys, time\nfrom kdcore.store import RunStore\n"
        "s = RunStore(sys.argv[1]); n = 0\n"
        "while True:\n"
        "    r = s.get_run(sys.argv[2]); s.curves(r.id); s.list_runs(); s.logs(r.id); n += 1\n"
        "    if r.finished: break\n"
        "    time.sleep(0.1)\n"
        "print(n)\n")
    errors: list[BaseException] = []
    polls = [0]

    def poll() -> None:
        reader = RunStore(kd_home)
        try:
            while True:
                run = reader.get_run(run_id)
                reader.curves(run_id)
                reader.list_runs()
                polls[0] += 1
                if run.finished:
                    return
                time.sleep(0.1)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    # when
    thread = threading.Thread(target=poll)
    thread.start()
    reader_proc = subprocess.Popen([sys.executable, str(reader_script), str(kd_home), run_id],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    spawn(kd_home, "--exit-when-idle").wait(timeout=90)
    thread.join(timeout=10)
    out, err = reader_proc.communicate(timeout=10)
    # then
    assert not errors, f"the reader thread failed: {errors!r}"
    assert reader_proc.returncode == 0, f"the reader process failed: {err}"
    assert polls[0] > 3 and int(out) > 3, f"readers polled during training ({polls[0]}, {out.strip()})"
    run = store.get_run(run_id)
    assert run.status == "succeeded", f"training finished: {run.status} {run.error}"
    assert run.summary["slowest_report_s"] < 0.25, \
        f"reporting never blocked training long, slowest {run.summary['slowest_report_s']:.3f} s"


def test_ensure_local_worker__survives_its_parent(kd_home: Path, tmp_path: Path) -> None:
    # given: a run queued, and an "app" process that starts the local worker
    store = RunStore(kd_home)
    run_id = store.create_run(fake_config("steps=100 step_s=0.01"))
    app = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from kdcore.worker.processes import ensure_local_worker\n"
         "print(ensure_local_worker(sys.argv[1], extra_args=['--runner', sys.argv[2], '--exit-when-idle',"
         " '--poll-interval', '0.1']), flush=True)\n"
         "time.sleep(600)\n", str(kd_home), FAKE_RUNNER],
        stdout=subprocess.PIPE, text=True, env=_env(), start_new_session=True)
    worker_pid = None
    try:
        assert app.stdout.readline().strip() == "True", "the app started a worker"
        wait_for(lambda: store.get_run(run_id).status == "running", 30, "the worker to take the run")
        worker_pid = alive_workers(store)[0].pid
        # when: the app and its whole process group die
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(timeout=10)
        # then
        assert not ensure_local_worker(kd_home), "a live worker is reused, not doubled"
        run = wait_for(lambda: (r := store.get_run(run_id)).finished and r, 60, "the run to finish")
        assert run.status == "succeeded", f"the run outlived the app: {run.status} {run.error}"
        assert worker_pid != app.pid, "the worker is its own process"
        assert "serving" in (kd_home / "worker.log").read_text(), "the worker writes to <home>/worker.log"
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
        if worker_pid is not None:
            wait_for(lambda: not _pid_running(worker_pid), 20, "the idle worker to exit")


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_ensure_local_worker__does_not_double_spawn(kd_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: Popen replaced, so nothing really starts
    started: list[list[str]] = []

    class FakePopen:
        def __init__(self, cmd: list[str], **kwargs: Any):
            assert kwargs.get("start_new_session"), "the worker must be detached from the app's session"
            started.append(cmd)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    # when: two app sessions ask at once, before the first worker registered
    first, second = ensure_local_worker(kd_home), ensure_local_worker(kd_home)
    # then
    assert (first, second) == (True, False), "only the first call starts a worker"
    assert started[0][1:4] == ["-m", "kdcore", "worker"] and "--home" in started[0], f"command: {started[0]}"


# -- the real pipeline (slow) ---------------------------------------------------------------------------


def _real_config(data: Path, *extra: str) -> RunConfig:
    return tiny_config(data, "train.train_scratch=false", "train.teacher_epochs=1", *extra)


def _student_mid_second_epoch(store: RunStore, run_id: str) -> bool:
    """True once a tick of the student's 2nd epoch is stored, or 40 % of that epoch has surely passed
    (on a fast machine the epoch may end before a tick, sent every 0.5 s, reaches the store)."""
    run = store.get_run(run_id)
    if run.finished or (run.arm == "student" and run.epoch == 1 and (run.step or 0) > 0):
        return True
    curves = store.curves(run_id)
    student = curves[(curves["arm"] == "student") & (curves["epoch"] == 0) & (curves["name"] == "samples_per_s")]
    ended = student[student["kind"] == "epoch"]
    if ended.empty or not run.steps:
        return False
    ticks = student[student["kind"] == "tick"]["value"]
    speed = ticks.median() if len(ticks) else ended["value"].iloc[0]  # samples/s without the compile, if known
    return time.time() >= ended["t"].iloc[0] + 0.4 * run.steps * 8 / speed


@pytest.mark.slow
def test_worker_real__kill_9_mid_epoch_resumes_without_duplicates(kd_home: Path, spawn: Callable,
                                                                  tmp_path: Path) -> None:
    # given: a worker killed in the student's 2nd epoch (batch 8 over 1,800 reviews: 225 batches)
    data = write_synthetic_imdb(tmp_path / "bigger.npz", n_train=2000, n_test=100)
    store = RunStore(kd_home)
    run_id = store.create_run(_real_config(data, "train.batch_size=8", "train.epochs=2"))
    victim = spawn(kd_home, runner=None)
    wait_for(lambda: _student_mid_second_epoch(store, run_id), 240, "the student's second epoch", interval=0.02)
    victim.kill()
    victim.wait(timeout=10)
    before = store.get_run(run_id)
    assert before.status == "running", f"killed mid-run ({before.status}): make the epochs longer"
    # when
    spawn(kd_home, "--exit-when-idle", runner=None, stale_after=3.0).wait(timeout=240)
    # then
    run = store.get_run(run_id)
    assert run.status == "succeeded", \
        f"the run resumed and succeeded: {run.status} {run.error}\n{_worker_log(tmp_path)}"
    assert run.attempts == 2, f"two attempts, got {run.attempts}"
    starts = [(e["arm"], e["epoch"]) for e in store.events(run_id, kinds=["arm_start"])]
    assert starts == [("teacher", 0), ("student", 0), ("student", 1)], \
        f"teacher not retrained, student resumed at its 2nd epoch: {starts}"
    _assert_clean_metrics(store, run_id)
    epochs = store.curves(run_id).query("kind == 'epoch' and name == 'val_loss'")
    assert sorted(zip(epochs["arm"], epochs["epoch"])) == [("student", 0), ("student", 1), ("teacher", 0)], \
        f"one val_loss per arm and epoch: {epochs}"
    assert (paths.run_dir(run_id, kd_home) / "student.keras").exists(), "artifacts written"


@pytest.mark.slow
def test_worker_real__failures_are_stored_and_worker_goes_on(kd_home: Path, spawn: Callable,
                                                             synthetic_imdb: Path) -> None:
    # given: a missing data file, then a teacher_from that names no run
    store = RunStore(kd_home)
    missing = store.create_run(apply_overrides(_real_config(synthetic_imdb), ["data.path=/nope/imdb.npz"]))
    impossible = store.create_run(_real_config(synthetic_imdb, "teacher_from=never-ran"))
    # when
    code = spawn(kd_home, "--exit-when-idle", runner=None).wait(timeout=180)
    # then
    assert code == 0, f"the worker survives failing runs, exit {code}"
    for run_id, needle in ((missing, "/nope/imdb.npz"), (impossible, "never-ran")):
        run = store.get_run(run_id)
        assert run.status == "failed", f"{run_id}: failed, got {run.status}"
        assert needle in run.error, f"the message names the problem: {run.error!r}"
        assert run.traceback and "Traceback" in run.traceback, "traceback stored"


@pytest.mark.slow
def test_worker_real__cancel_stops_soon_and_keeps_finished_arms(kd_home: Path, spawn: Callable,
                                                               tmp_path: Path) -> None:
    # given: the real pipeline in its student arm
    data = write_synthetic_imdb(tmp_path / "bigger.npz", n_train=2000, n_test=100)
    store = RunStore(kd_home)
    run_id = store.create_run(_real_config(data, "train.batch_size=8", "train.epochs=3"))
    proc = spawn(kd_home, "--exit-when-idle", runner=None)
    wait_for(lambda: (r := store.get_run(run_id)).arm == "student" and (r.step or 0) > 0 or r.finished, 240,
             "the student to be training", interval=0.02)
    # when
    asked = time.time()
    store.request_cancel(run_id)
    run = wait_for(lambda: (r := store.get_run(run_id)).finished and r, 30, "the run to stop")
    proc.wait(timeout=30)
    # then
    assert run.status == "cancelled", f"ends as cancelled: {run.status} {run.error}"
    assert run.finished_at - asked < 5.0, f"stopped {run.finished_at - asked:.1f} s after the request"
    assert (paths.run_dir(run_id, kd_home) / "teacher.keras").exists(), "the finished teacher is kept"
