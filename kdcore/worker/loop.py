"""The worker loop: claim a queued run, train it, stream its progress to the store, recover.

One worker process trains one run at a time (one process per GPU). It heartbeats from a
background thread; a worker that dies (kill -9, power cut) stops heartbeating, and the
next worker to look puts its run back in the queue, where the pipeline resumes it from
its last finished epoch. Signal handlers only set flags: on SIGTERM/SIGINT the current
run stops at the next batch, goes back to the queue for another worker, and the worker
exits 0.

The store can misbehave under a worker, and no result may be lost for it: a store that is
only busy (another process holding the write lock past the busy timeout) is retried, never
a failed run (the reporter writes progress off the training thread); a store file that was
removed or replaced is noticed at the next heartbeat, and the worker stops the run and
stops claiming, exit code 1, rather than train into a file nobody will read again.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import traceback as tb
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

from kdcore import paths
from kdcore.progress import RunCancelled
from kdcore.store import DEFAULT_MAX_CRASHES, DEFAULT_STALE_AFTER_S, TRANSIENT_STORE_ERRORS, RunRecord, RunStore
from kdcore.worker.halving import SweepPruner, pruner_for
from kdcore.worker.processes import pid_alive, serve_devices, stop_signals
from kdcore.worker.reporter import StoreReporter, captured_stdout
from kdcore.worker.runner import Runner, load_runner, pipeline_device, pipeline_runner

#: Errors longer than this are cut in ``error`` (the traceback keeps everything).
MAX_ERROR_CHARS = 2000
#: Exit code of a worker whose store file was removed or replaced while it served it.
EXIT_STORE_GONE = 1
#: Backoff between retries of a store write the worker cannot skip (a run's end), first to last.
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 5.0

_T = TypeVar("_T")


def new_worker_id() -> str:
    """``host-pid``: unique among live workers, and says where to look for a stuck one."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Serves queued runs one at a time until stopped (or idle, with ``exit_when_idle``)."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, worker_id: str | None = None,
                 runner: Runner | None = None, describe_device: Callable[[], str] | None = None,
                 poll_interval: float = 1.0, heartbeat_interval: float = 1.0,
                 stale_after: float = DEFAULT_STALE_AFTER_S, exit_when_idle: bool = False,
                 max_runs: int | None = None, max_crashes: int = DEFAULT_MAX_CRASHES, flush_interval: float = 0.5,
                 cancel_poll_interval: float = 0.2, log: TextIO | None = None, store: RunStore | None = None,
                 placement: str | None = None):
        """``store``: what the worker reads and writes (default: the SQLite store under ``home``); a Ray task
        passes a proxy to the head's store here. ``placement``: where it trains, for the Live page
        (default: this host, and its ``CUDA_VISIBLE_DEVICES``)."""
        check_intervals(stale_after, heartbeat_interval)
        self.store = store if store is not None else RunStore(home)
        self.home = self.store.home
        self.id = worker_id or new_worker_id()
        self.runner = runner or pipeline_runner
        self.describe_device = describe_device or (pipeline_device if runner is None else (lambda: "unknown"))
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.exit_when_idle = exit_when_idle
        self.max_runs = max_runs
        self.max_crashes = max_crashes
        self.flush_interval = flush_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.devices = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.placement = placement or (socket.gethostname() + (f", GPU {self.devices}" if self.devices else ""))
        self._log = log or sys.stdout
        self._stop = threading.Event()  # set by signals: stop the current run, requeue it, exit
        self._done = threading.Event()  # the heartbeat thread's end
        self._current: tuple[str, StoreReporter] | None = None
        self.store_gone: str | None = None  # why the store file is no longer the one this worker opened
        self._device: str | None = None
        self.served = 0

    # -- flags --------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal handler and API: only sets the flag; the loop and the reporter act on it."""
        self._stop.set()


    def _say(self, text: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} worker {self.id}: {text}", file=self._log, flush=True)

    # -- heartbeats ------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        store = self.store  # each thread gets its own connection from the store
        while not self._done.wait(self.heartbeat_interval):
            if not self._store_still_there():
                return
            try:
                store.heartbeat_worker(self.id)
                current = self._current
                if current is not None and not store.heartbeat(current[0], self.id):
                    current[1].lost.set()
            except Exception as e:  # a locked or missing file must not kill the heartbeat
                self._say(f"heartbeat failed: {type(e).__name__}: {e}")

    def _store_still_there(self) -> bool:
        """False (once said, and the worker asked to stop) if the store file was removed or replaced.

        SQLite keeps writing to an unlinked file without a word, and a page or command opening
        the path afterwards sees another database: every result from here on would be lost.
        """
        if self.store_gone is None:
            reason = self.store.file_changed()
            if reason is None:
                return True
            self.store_gone = reason
            self._say(f"{reason} while this worker served it; stopping the current run and claiming no more "
                      f"(its run folder keeps what was trained; restore the file or start a worker on the new one)")
            self._stop.set()
        return False

    def _retrying(self, what: str, call: Callable[[], _T]) -> _T | None:
        """``call()`` until the store takes it; None if the worker stops (or the file goes) first."""
        delay = RETRY_FIRST_S
        while True:
            try:
                return call()
            except TRANSIENT_STORE_ERRORS as e:
                if self.store_gone is not None or self._stop.is_set():
                    self._say(f"{what}: not written, the store refused it ({e}) and the worker is stopping")
                    return None
                if delay == RETRY_FIRST_S:
                    self._say(f"{what}: the store is busy ({e}); retrying")
                time.sleep(delay)
                delay = min(2 * delay, RETRY_MAX_S)

    # -- the loop ----------------------------------------------------------------------------
    def serve(self) -> int:
        """Claim and train runs until stopped; returns the process exit code (0; 1 if the store file went)."""
        self.store.register_worker(self.id, devices=self.devices)
        beat = threading.Thread(target=self._heartbeat_loop, name="kdcore-heartbeat", daemon=True)
        beat.start()
        self._say(f"serving {self.store.path} (pid {os.getpid()}, devices {self.devices or 'default'})")
        try:
            with stop_signals(self.request_stop):
                while not self._stop.is_set() and self._serve_next():
                    pass
        finally:
            self._done.set()
            beat.join(timeout=5)
            if self.store_gone is None:
                self._retrying("deregistering", lambda: self.store.stop_worker(self.id))
            self._say(f"stopped after {self.served} run(s)")
        return EXIT_STORE_GONE if self.store_gone is not None else 0

    def _serve_next(self) -> bool:
        """Recover, claim and train one run, or wait for one; False when the worker should exit."""
        if not self._store_still_there():
            return False
        try:
            for run_id in self._recover():
                self._say(f"run {run_id}: its worker went silent; recovered (see the run's log)")
            run = self.store.claim_next(self.id)
            idle = run is None and self.exit_when_idle and not self._work_pending()
        except TRANSIENT_STORE_ERRORS as e:  # a busy store: wait and look again, never crash the worker
            self._say(f"the store is busy ({e}); trying again")
            self._stop.wait(self.poll_interval)
            return True
        if run is None:
            if idle:
                return False
            self._stop.wait(self.poll_interval)
            return True
        self.execute(run)
        self.served += 1
        return self.max_runs is None or self.served < self.max_runs

    def _recover(self) -> list[str]:
        """Requeue runs of silent workers; those of a dead worker process on this host sooner (see :func:`recover`)."""
        return recover(self.store, lambda silent: [run_id for run_id, pid in self.store.local_runs(
            socket.gethostname(), silent) if not pid_alive(pid)], self.stale_after, self.heartbeat_interval,
            self.max_crashes)

    def _work_pending(self) -> bool:
        return work_pending(self.store)

    def execute(self, run: RunRecord) -> str:
        """Train one claimed run to its end; returns its final status (``queued`` if handed back, ``stopped``
        if the store file went, ``lost`` if another worker holds it now)."""
        pruner = self._pruner(run)
        reporter = StoreReporter(self.store, run.id, self.id, flush_interval=self.flush_interval,
                                 cancel_poll_interval=self.cancel_poll_interval, stop_event=self._stop,
                                 say=self._say, pruner=pruner.prune if pruner is not None else None,
                                 placement=self.placement)
        self._current = (run.id, reporter)
        self._say(f"run {run.id} ({run.name or 'unnamed'}): started, attempt {run.attempts}")
        try:
            config = run.run_config()
            self._retrying(f"run {run.id}: device", lambda: self.store.set_device(run.id, self._device_label()))
            run_dir = paths.run_dir(run.id, self.home)
            with captured_stdout(reporter):
                summary = self.runner(config, run_dir, reporter, home=self.home)
        except RunCancelled:
            status = self._after_stop(run, reporter)
        except TRANSIENT_STORE_ERRORS as e:  # the runner's own store call: the run is not at fault
            status = self._hand_back(run, reporter, f"the store was busy ({e})")
        except Exception as e:  # MemoryError included: the run fails, the worker goes on
            status = self._finish(run, reporter, "failed", error=_describe_error(e), traceback=tb.format_exc())
        else:
            status = self._finish(run, reporter, "succeeded", summary=summary)
        finally:
            self._current = None
            reporter.close(timeout=1.0)
        return status

    def _pruner(self, run: RunRecord) -> SweepPruner | None:
        """Successive halving for a run of a sweep that asks for it; a damaged row or busy store: none."""
        try:
            return pruner_for(self.store, run, run.run_config())
        except (ValueError, *TRANSIENT_STORE_ERRORS):
            return None

    def _finish(self, run: RunRecord, reporter: StoreReporter, status: str, **fields: Any) -> str:
        """Write the run's last progress, then its end; ``lost`` if it is no longer this worker's."""
        if self.store_gone is not None or not reporter.flush():
            return self._after_stop(run, reporter)
        done = self._retrying(f"run {run.id}: {status}",
                              lambda: self.store.finish(run.id, status, worker_id=self.id, **fields))
        if done is None:
            return self._after_stop(run, reporter)
        status = status if done else "lost"
        self._say(f"run {run.id}: {status}" + (f": {fields['error']}" if fields.get("error") else ""))
        return status

    def _hand_back(self, run: RunRecord, reporter: StoreReporter, reason: str) -> str:
        reporter.flush(timeout=self.stale_after)
        self._retrying(f"run {run.id}: requeue", lambda: self.store.requeue(run.id, self.id, reason=reason))
        self._say(f"run {run.id}: {reason}; back in the queue")
        return "queued"

    def _after_stop(self, run: RunRecord, reporter: StoreReporter) -> str:
        """The pipeline stopped at our request: cancelled, handed back, or taken away."""
        if self.store_gone is not None:
            self._say(f"run {run.id}: stopped; the store that held it is gone, so nothing more is written")
            return "stopped"
        if not reporter.flush():
            self._say(f"run {run.id}: could not write the last progress: {reporter.store_error}")
        if reporter.lost.is_set():
            self._say(f"run {run.id}: taken over by another worker; leaving it")
            return "lost"
        if self._retrying(f"run {run.id}: cancel flag", lambda: self.store.cancel_requested(run.id)):
            self._retrying(f"run {run.id}: cancelled", lambda: self.store.finish(run.id, "cancelled",
                                                                                  worker_id=self.id))
            self._say(f"run {run.id}: cancelled")
            return "cancelled"
        if self._stop.is_set():
            self._retrying(f"run {run.id}: requeue",
                           lambda: self.store.requeue(run.id, self.id, reason=f"worker {self.id} was stopped"))
            self._say(f"run {run.id}: stopped with the worker; back in the queue")
            return "queued"
        self._retrying(f"run {run.id}: cancelled", lambda: self.store.finish(run.id, "cancelled", worker_id=self.id))
        return "cancelled"

    def _device_label(self) -> str:
        if self._device is None:
            label = self.describe_device()
            if self.devices:
                label += f" (CUDA_VISIBLE_DEVICES={self.devices})"
            self._device = label
        return self._device


def check_intervals(stale_after: float, heartbeat_interval: float) -> None:
    """A worker must beat at least twice within ``stale_after``, or a live one would be taken for dead."""
    if stale_after <= 2 * heartbeat_interval:
        raise ValueError(f"stale_after must exceed twice heartbeat_interval ({2 * heartbeat_interval:g} s), "
                         f"got {stale_after:g}")


def recover(store: RunStore, orphans: Callable[[float], list[str]], stale_after: float, heartbeat_interval: float,
            max_crashes: int) -> list[str]:
    """Requeue runs of silent workers: after ``stale_after``, or sooner for those ``orphans(silent)`` names
    (runs of a worker known dead, e.g. its process gone from this host: seen within a few heartbeats, not 30 s).

    The short path also needs a few missed heartbeats, so a live worker in another container that
    happens to share the host name and a pid number is not robbed.
    """
    silent = min(stale_after, max(5 * heartbeat_interval, 3.0))
    dead = orphans(silent)
    recovered = store.requeue_stale(silent, max_crashes, run_ids=dead) if dead else []
    return recovered + store.requeue_stale(stale_after, max_crashes)


def work_pending(store: RunStore) -> bool:
    """Whether any run is queued or running (a worker told to exit when idle waits for these)."""
    counts = store.queue_counts()
    return counts["queued"] + counts["running"] > 0


def _describe_error(e: BaseException) -> str:
    """The run's ``error`` in one line a person can act on: type, message, cause; never empty, never huge."""
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


def run_worker(home: str | os.PathLike[str] | None = None, *, devices: Sequence[str] | None = None,
               runner_spec: str | None = None, child_args: Sequence[str] = (), **options: Any) -> int:
    """The ``kdcore worker`` command: one worker here, or one process per listed device."""
    if devices:
        return serve_devices(devices, child_args)
    if runner_spec:
        runner, describe = load_runner(runner_spec)
        options.update(runner=runner, describe_device=describe)
    return Worker(home, **options).serve()
