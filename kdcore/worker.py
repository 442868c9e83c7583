"""The worker: claim a queued run, train it, stream its progress to the store, recover.

One worker process trains one run at a time (one process per GPU). It heartbeats from a
background thread; a worker that dies (kill -9, power cut) stops heartbeating, and the
next worker to look puts its run back in the queue, where the pipeline resumes it from
its last finished epoch. Signal handlers only set flags: on SIGTERM/SIGINT the current
run stops at the next batch, goes back to the queue for another worker, and the worker
exits 0.

TensorFlow is imported only when the first run starts (``kdcore.pipeline``, lazily), so
``import kdcore.worker`` stays cheap for the app, which calls :func:`ensure_local_worker`.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback as tb
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from kdcore import paths
from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent, Reporter, RunCancelled
from kdcore.store import DEFAULT_MAX_CRASHES, DEFAULT_STALE_AFTER_S, RunRecord, RunStore, WorkerRecord

#: ``runner(config, run_dir, reporter, home=home) -> summary``; the default is the pipeline.
Runner = Callable[..., dict]
DEFAULT_RUNNER = "kdcore.pipeline:run_experiment"

#: The app does not spawn a second local worker within this many seconds of the first,
#: even if the first has not registered yet (several browser tabs at once).
SPAWN_GRACE_S = 20.0
WORKER_LOG = "worker.log"
#: Errors longer than this are cut in ``error`` (the traceback keeps everything).
MAX_ERROR_CHARS = 2000


# -- the reporter the pipeline talks to ------------------------------------------------------


class StoreReporter:
    """Buffers progress events and writes them in small transactions; answers "stop?".

    Events are written at most every ``flush_interval`` seconds, and at once at arm
    starts, epoch ends and arm ends, so curves are live but training is not slowed by a
    commit per batch. :meth:`should_stop` is called between batches: it reads the cancel
    flag from the store at most every ``cancel_poll_interval`` seconds and otherwise
    answers from memory.
    """

    def __init__(self, store: RunStore, run_id: str, worker_id: str, *, flush_interval: float = 0.5,
                 cancel_poll_interval: float = 0.2, stop_event: threading.Event | None = None):
        self.store = store
        self.run_id = run_id
        self.worker_id = worker_id
        self.flush_interval = flush_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.stop_event = stop_event or threading.Event()
        self.lost = threading.Event()  # the run was taken from this worker (requeued, deleted)
        self.cancel_seen = False
        self._buffer: list[tuple[float, ProgressEvent]] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._last_poll = float("-inf")

    def report(self, event: ProgressEvent) -> None:
        with self._lock:
            self._buffer.append((time.time(), event))
        if event.kind in ("arm_start", "epoch_end", "arm_end") or self._flush_due():
            self.flush()

    def log(self, text: str) -> None:
        """A line for the run's log (written with the next batch of events)."""
        self.report(ProgressEvent(kind="log", message=text))

    def flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        if batch and not self.store.record_events(self.run_id, batch, self.worker_id):
            self.lost.set()

    def should_stop(self) -> bool:
        if self._flush_due():
            self.flush()
        now = time.monotonic()
        if now - self._last_poll >= self.cancel_poll_interval:
            self._last_poll = now
            held, cancel = self.store.holds(self.run_id, self.worker_id)
            if not held:
                self.lost.set()
            self.cancel_seen = self.cancel_seen or cancel
        return self.cancel_seen or self.lost.is_set() or self.stop_event.is_set()

    def _flush_due(self) -> bool:
        return bool(self._buffer) and time.monotonic() - self._last_flush >= self.flush_interval


class _LogTee(io.TextIOBase):
    """Passes writes on to ``stream`` and sends each complete line to the run's log."""

    def __init__(self, stream: TextIO, reporter: StoreReporter):
        self.stream = stream
        self.reporter = reporter
        self._partial = ""

    def write(self, s: str) -> int:
        self.stream.write(s)
        self._partial += s
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                self.reporter.log(line.rstrip("\r"))
        return len(s)

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        if self._partial.strip():
            self.reporter.log(self._partial)
        self._partial = ""


@contextmanager
def _captured_stdout(reporter: StoreReporter) -> Iterator[None]:
    """What training prints (Python level) goes to the worker's output and the run's log."""
    original = sys.stdout
    tee = _LogTee(original, reporter)
    sys.stdout = tee
    try:
        yield
    finally:
        sys.stdout = original
        tee.finish()


# -- the worker ----------------------------------------------------------------------------


def load_runner(spec: str = DEFAULT_RUNNER) -> tuple[Runner, Callable[[], str]]:
    """``module:function`` -> (runner, device description).

    The device description is the module's ``device_description`` if it has one.
    """
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise ValueError(f"runner must look like module:function, got {spec!r}")
    module = importlib.import_module(module_name)
    runner = getattr(module, func_name)
    describe = getattr(module, "device_description", None)
    return runner, (describe if callable(describe) else (lambda: "unknown"))


def _pipeline_runner(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None) -> dict:
    from kdcore import pipeline  # TensorFlow: only once a run really starts

    return pipeline.run_experiment(config, run_dir, reporter, home=home)


def _pipeline_device() -> str:
    from kdcore import pipeline

    return pipeline.device_description()


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Serves queued runs one at a time until stopped (or idle, with ``exit_when_idle``)."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, worker_id: str | None = None,
                 runner: Runner | None = None, describe_device: Callable[[], str] | None = None,
                 poll_interval: float = 1.0, heartbeat_interval: float = 1.0,
                 stale_after: float = DEFAULT_STALE_AFTER_S, exit_when_idle: bool = False,
                 max_runs: int | None = None, max_crashes: int = DEFAULT_MAX_CRASHES, flush_interval: float = 0.5, cancel_poll_interval: float = 0.2,
                 log: TextIO | None = None):
        if stale_after <= 2 * heartbeat_interval:
            raise ValueError(f"stale_after must exceed twice heartbeat_interval ({2 * heartbeat_interval:g} s), "
                             f"got {stale_after:g}")
        self.store = RunStore(home)
        self.home = self.store.home
        self.id = worker_id or new_worker_id()
        self.runner = runner or _pipeline_runner
        self.describe_device = describe_device or (_pipeline_device if runner is None else (lambda: "unknown"))
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.exit_when_idle = exit_when_idle
        self.max_runs = max_runs
        self.max_crashes = max_crashes
        self.flush_interval = flush_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.devices = os.environ.get("CUDA_VISIBLE_DEVICES")
        self._log = log or sys.stdout
        self._stop = threading.Event()  # set by signals: stop the current run, requeue it, exit
        self._done = threading.Event()  # the heartbeat thread's end
        self._current: tuple[str, StoreReporter] | None = None
        self._device: str | None = None
        self.served = 0

    # -- flags --------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal handler and API: only sets the flag; the loop and the reporter act on it."""
        self._stop.set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self.request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _say(self, text: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} worker {self.id}: {text}", file=self._log, flush=True)

    # -- heartbeats ------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        store = self.store  # each thread gets its own connection from the store
        while not self._done.wait(self.heartbeat_interval):
            try:
                store.heartbeat_worker(self.id)
                current = self._current
                if current is not None and not store.heartbeat(current[0], self.id):
                    current[1].lost.set()
            except Exception as e:  # a locked or missing file must not kill the heartbeat
                self._say(f"heartbeat failed: {type(e).__name__}: {e}")

    # -- the loop ----------------------------------------------------------------------------
    def serve(self) -> int:
        """Claim and train runs until stopped; returns the process exit code (0)."""
        self.store.register_worker(self.id, devices=self.devices)
        beat = threading.Thread(target=self._heartbeat_loop, name="kdcore-heartbeat", daemon=True)
        beat.start()
        self._say(f"serving {self.store.path} (pid {os.getpid()}, devices {self.devices or 'default'})")
        try:
            with self._signals():
                while not self._stop.is_set():
                    for run_id in self._recover():
                        self._say(f"run {run_id}: its worker went silent; recovered (see the run's log)")
                    run = self.store.claim_next(self.id)
                    if run is None:
                        if self.exit_when_idle and not self._work_pending():
                            break
                        self._stop.wait(self.poll_interval)
                        continue
                    self.execute(run)
                    self.served += 1
                    if self.max_runs is not None and self.served >= self.max_runs:
                        break
        finally:
            self._done.set()
            beat.join(timeout=5)
            self.store.stop_worker(self.id)
            self._say(f"stopped after {self.served} run(s)")
        return 0

    def _recover(self) -> list[str]:
        """Requeue runs of silent workers: after ``stale_after``, or sooner for a worker on this
        host whose process is gone (a crash here is seen within a few heartbeats, not 30 s).

        The short path also needs a few missed heartbeats, so a live worker in another
        container that happens to share the host name and a pid number is not robbed.
        """
        silent = min(self.stale_after, max(5 * self.heartbeat_interval, 3.0))
        orphans = [run_id for run_id, pid in self.store.local_runs(socket.gethostname(), silent)
                   if not _pid_alive(pid)]
        recovered = self.store.requeue_stale(silent, self.max_crashes, run_ids=orphans) if orphans else []
        return recovered + self.store.requeue_stale(self.stale_after, self.max_crashes)

    def _work_pending(self) -> bool:
        counts = self.store.queue_counts()
        return counts["queued"] + counts["running"] > 0

    def execute(self, run: RunRecord) -> str:
        """Train one claimed run to its end; returns its final status (``queued`` if handed back)."""
        reporter = StoreReporter(self.store, run.id, self.id, flush_interval=self.flush_interval,
                                 cancel_poll_interval=self.cancel_poll_interval, stop_event=self._stop)
        self._current = (run.id, reporter)
        self._say(f"run {run.id} ({run.name or 'unnamed'}): started, attempt {run.attempts}")
        try:
            config = run.run_config()
            self.store.set_device(run.id, self._device_label())
            run_dir = paths.run_dir(run.id, self.home)
            with _captured_stdout(reporter):
                summary = self.runner(config, run_dir, reporter, home=self.home)
        except RunCancelled:
            status = self._after_stop(run, reporter)
        except Exception as e:  # MemoryError included: the run fails, the worker goes on
            reporter.flush()
            error = _describe_error(e)
            self.store.finish(run.id, "failed", error=error, traceback=tb.format_exc(), worker_id=self.id)
            status = "failed"
            self._say(f"run {run.id}: failed: {error}")
        else:
            reporter.flush()
            status = "succeeded" if self.store.finish(run.id, "succeeded", summary=summary,
                                                      worker_id=self.id) else "lost"
            self._say(f"run {run.id}: {status}")
        finally:
            self._current = None
        return status

    def _after_stop(self, run: RunRecord, reporter: StoreReporter) -> str:
        """The pipeline stopped at our request: cancelled, handed back, or taken away."""
        try:
            reporter.flush()
        except Exception as e:
            self._say(f"run {run.id}: could not write the last progress: {e}")
        if reporter.lost.is_set():
            self._say(f"run {run.id}: taken over by another worker; leaving it")
            return "lost"
        if self.store.cancel_requested(run.id):
            self.store.finish(run.id, "cancelled", worker_id=self.id)
            self._say(f"run {run.id}: cancelled")
            return "cancelled"
        if self._stop.is_set():
            self.store.requeue(run.id, self.id, reason=f"worker {self.id} was stopped")
            self._say(f"run {run.id}: stopped with the worker; back in the queue")
            return "queued"
        self.store.finish(run.id, "cancelled", worker_id=self.id)
        return "cancelled"

    def _device_label(self) -> str:
        if self._device is None:
            label = self.describe_device()
            if self.devices:
                label += f" (CUDA_VISIBLE_DEVICES={self.devices})"
            self._device = label
        return self._device


def _describe_error(e: BaseException) -> str:
    text = str(e).strip()
    if isinstance(e, MemoryError) and not text:
        text = "out of memory (try a smaller batch_size or teacher_batch_size, maxlen or model)"
    message = f"{type(e).__name__}: {text}" if text else type(e).__name__
    cause = e.__cause__
    if cause is not None and str(cause) and str(cause) not in message:
        message += f" (caused by {type(cause).__name__}: {cause})"
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 3] + "..."
    return message


# -- several GPUs: one process each -------------------------------------------------------------


def serve_devices(devices: Sequence[str], child_args: Sequence[str], log: TextIO = sys.stdout) -> int:
    """Start one worker process per device, pinned with ``CUDA_VISIBLE_DEVICES``; wait for all.

    SIGTERM/SIGINT here are passed on to the children (each hands its run back and exits).
    """
    stop = threading.Event()
    children: list[subprocess.Popen] = []
    for device in devices:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device}
        cmd = [sys.executable, "-m", "kdcore", "worker", *child_args]
        children.append(subprocess.Popen(cmd, env=env))
        print(f"worker for device {device}: pid {children[-1].pid}", file=log, flush=True)
    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    forwarded = False
    try:
        while any(c.poll() is None for c in children):
            if stop.wait(0.2) and not forwarded:
                for c in children:
                    if c.poll() is None:
                        c.send_signal(signal.SIGTERM)
                forwarded = True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return max((c.returncode or 0) for c in children)


# -- liveness, and the app's local worker ----------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive_workers(store: RunStore, stale_after: float = DEFAULT_STALE_AFTER_S) -> list[WorkerRecord]:
    """Workers that heartbeated within ``stale_after`` seconds and have not stopped.

    A worker on this host whose process is gone counts as dead at once.
    """
    host = socket.gethostname()
    return [w for w in store.workers(alive_within_s=stale_after) if w.host != host or _pid_alive(w.pid)]


_spawned: list[subprocess.Popen] = []


def ensure_local_worker(home: str | os.PathLike[str] | None = None, *, extra_args: Sequence[str] = ()) -> bool:
    """Start a detached local worker unless one is alive; True if this call started one.

    The worker runs in a new session (it survives the app's restart and Ctrl-C) and
    writes to ``<home>/worker.log``. A worker started by hand counts as alive too.
    """
    store = RunStore(home)
    try:
        if alive_workers(store):
            return False
        if not store.claim_meta("local_worker_spawned_at", SPAWN_GRACE_S):
            return False  # another caller just started one; it is still registering
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        with open(store.home / WORKER_LOG, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kdcore", "worker", "--home", str(store.home), *extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, close_fds=True,
            )
    finally:
        store.close()
    _spawned.append(proc)
    # Reap it when it exits, so it does not linger as a zombie of a long-lived app.
    threading.Thread(target=proc.wait, name="kdcore-reap-worker", daemon=True).start()
    return True


def run_worker(home: str | os.PathLike[str] | None = None, *, devices: Sequence[str] | None = None,
               runner_spec: str | None = None, child_args: Sequence[str] = (), **options: Any) -> int:
    """The ``kdcore worker`` command: one worker here, or one process per listed device."""
    if devices:
        return serve_devices(devices, child_args)
    if runner_spec:
        runner, describe = load_runner(runner_spec)
        options.update(runner=runner, describe_device=describe)
    return Worker(home, **options).serve()
