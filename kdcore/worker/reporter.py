"""What a run talks to while it trains in a worker: progress written to the store off the training thread,
stdout teed into its log.

Why buffered: a commit per batch would slow training and lock the database for the
dashboard's readers; a few small transactions a second keep the live charts live. Why a
thread of its own: a store that is busy (another process holding the write lock past the
busy timeout, a slow disk) must not stall or fail training, so the training thread only
appends to a bounded queue, and the writer retries what the store refused until it takes it.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from kdcore.progress import ProgressEvent
from kdcore.store import TRANSIENT_STORE_ERRORS, RunStore

#: Events after which the training thread waits (up to ``sync_timeout``) for the write: the
#: points a reader or a resumed run relies on, and a phase (what may last long with no batch).
URGENT_KINDS = frozenset({"arm_start", "epoch_end", "arm_end", "phase"})
#: Backoff between retries of a batch the store refused, doubling from the first to the last.
RETRY_FIRST_S, RETRY_MAX_S = 0.05, 2.0
#: The most events waiting for the store; past it new ticks (only ticks) are counted, not kept.
MAX_PENDING = 20_000


class StoreReporter:
    """Queues progress events for a writer thread that stores them in small transactions; answers "stop?".

    Events are written at most every ``flush_interval`` seconds, and at once at phases, arm
    starts, epoch ends and arm ends (the training thread waits up to ``sync_timeout`` for
    those), so curves are live but training is not slowed by a commit per batch. A store
    error that may pass (:data:`~kdcore.store.TRANSIENT_STORE_ERRORS`) is retried with the
    same batch, in order, so every row is written exactly once; any other store error drops
    that batch with a line to ``say``. :meth:`should_stop` is called between batches: it
    reads the cancel flag from the store at most every ``cancel_poll_interval`` seconds
    and otherwise answers from memory. :meth:`close` ends the writer.
    """

    def __init__(self, store: RunStore, run_id: str, worker_id: str, *, flush_interval: float = 0.5,
                 cancel_poll_interval: float = 0.2, stop_event: threading.Event | None = None,
                 sync_timeout: float = 2.0, max_pending: int = MAX_PENDING,
                 say: Callable[[str], None] | None = None,
                 pruner: Callable[[str, int, Mapping[str, float]], str | None] | None = None,
                 placement: str | None = None):
        self.store = store
        self.placement = placement  # where this worker trains (host or node, GPU): stored at each arm start
        self._pruner = pruner  # a sweep's successive halving (kdcore.worker.halving), None for any other run
        self.run_id = run_id
        self.worker_id = worker_id
        self.flush_interval = flush_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.sync_timeout = sync_timeout
        self.max_pending = max_pending
        self.stop_event = stop_event or threading.Event()
        self.lost = threading.Event()  # the run was taken from this worker (requeued, deleted)
        self.cancel_seen = False
        self.dropped_ticks = 0  # ticks not kept because the queue was full
        self.store_error: str | None = None  # the error the writer is retrying, None while the store takes writes
        self._say = say or (lambda text: None)
        self._cond = threading.Condition()
        self._pending: list[tuple[float, ProgressEvent]] = []
        self._queued = 0  # events ever queued; the writer counts them off as written (or dropped)
        self._written = 0
        self._wanted = 0  # write at once up to this many queued events (an urgent event, a flush)
        self._closed = False
        self._writer: threading.Thread | None = None
        self._last_poll = float("-inf")

    # -- the training thread's side -----------------------------------------------------------
    def report(self, event: ProgressEvent) -> None:
        with self._cond:
            if event.kind == "tick" and self._queued - self._written >= self.max_pending:
                self.dropped_ticks += 1
                return
            self._pending.append((time.time(), event))
            self._queued += 1
            if event.kind not in URGENT_KINDS:
                self._start_writer()
                self._cond.notify_all()
                return
        self.flush(self.sync_timeout)

    def log(self, text: str) -> None:
        """A line for the run's log (written with the next batch of events)."""
        self.report(ProgressEvent(kind="log", message=text))

    def flush(self, timeout: float | None = None) -> bool:
        """Have everything reported so far written; True once it is.

        Waits up to ``timeout`` (None: until written, or until the worker is stopping while
        the store refuses writes, so a stopped worker does not hang on a locked file).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._wanted = max(self._wanted, target)
            self._start_writer()
            self._cond.notify_all()
            while self._written < target:
                if timeout is None and self.stop_event.is_set() and self.store_error is not None:
                    return False
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def prune(self, arm: str, epoch: int, metrics: Mapping[str, float]) -> str | None:
        """Why to stop ``arm`` after ``epoch`` (successive halving of the run's sweep), or None to go on.

        Asked after the epoch's end was reported, which :meth:`report` waits to see written (an
        urgent event), so the runs that reach this rung later compare with this one's row.
        """
        return None if self._pruner is None else self._pruner(arm, epoch, metrics)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_poll >= self.cancel_poll_interval:
            self._last_poll = now
            try:
                held, cancel = self.store.holds(self.run_id, self.worker_id)
            except TRANSIENT_STORE_ERRORS:
                held, cancel = True, False  # a busy store is no news: ask again at the next poll
            if not held:
                self.lost.set()
            self.cancel_seen = self.cancel_seen or cancel
        return self.cancel_seen or self.lost.is_set() or self.stop_event.is_set()

    def close(self, timeout: float | None = None) -> None:
        """End the writer once it has written what it can (waits up to ``timeout``; it is a daemon)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join(timeout)

    # -- the writer thread -------------------------------------------------------------------------
    def _start_writer(self) -> None:
        """Called with the lock held."""
        if self._writer is None and not self._closed:
            self._writer = threading.Thread(target=self._write_loop, name=f"kdcore-writer-{self.run_id}",
                                            daemon=True)
            self._writer.start()

    def _write_loop(self) -> None:
        try:
            delay = RETRY_FIRST_S
            while (batch := self._next_batch()) is not None:
                while not self._write(batch):
                    if self._closed and self.stop_event.is_set():
                        return  # stopping on a store that refuses writes: what is left is lost
                    time.sleep(delay)
                    delay = min(2 * delay, RETRY_MAX_S)
                delay = RETRY_FIRST_S
                with self._cond:
                    self._written += len(batch)
                    self._cond.notify_all()
        finally:
            self.store.close_thread()

    def _next_batch(self) -> list[tuple[float, ProgressEvent]] | None:
        """The events to write next, after waiting for a reason to write; None when closed and empty."""
        with self._cond:
            due = time.monotonic() + self.flush_interval
            while not (self._pending and (self._closed or self._wanted > self._written
                                          or time.monotonic() >= due)):
                if self._closed and not self._pending:
                    return None
                self._cond.wait(max(due - time.monotonic(), 0.01) if self._pending else None)
            batch, self._pending = self._pending, []
            return batch

    def _write(self, batch: list[tuple[float, ProgressEvent]]) -> bool:
        """One try at storing ``batch``: True when done with it (written, or refused for good)."""
        try:
            held = self.store.record_events(self.run_id, batch, self.worker_id, placement=self.placement)
        except TRANSIENT_STORE_ERRORS as e:
            if self.store_error is None:
                self._say(f"run {self.run_id}: the store refused progress ({e}); training goes on, retrying")
            self.store_error = str(e)
            return False
        except Exception as e:  # noqa: BLE001 - a row the store will never take must not stall the others
            self._say(f"run {self.run_id}: {len(batch)} progress event(s) dropped, the store refused them: "
                      f"{type(e).__name__}: {e}")
            return True
        if self.store_error is not None:
            self._say(f"run {self.run_id}: the store takes progress again; what waited is written")
            self.store_error = None
        if not held:
            self.lost.set()
        with self._cond:
            dropped, self.dropped_ticks = self.dropped_ticks, 0
        if dropped:
            self._say(f"run {self.run_id}: {dropped} tick(s) were not kept while the store was busy")
        return True


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
def captured_stdout(reporter: StoreReporter) -> Iterator[None]:
    """What training prints (Python level) goes to the worker's output and the run's log."""
    original = sys.stdout
    tee = _LogTee(original, reporter)
    sys.stdout = tee
    try:
        yield
    finally:
        sys.stdout = original
        tee.finish()
