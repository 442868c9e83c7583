"""What a run talks to while it trains in a worker: progress buffered into the store, stdout teed into its log.

Why buffered: a commit per batch would slow training and lock the database for the
dashboard's readers; a few small transactions a second keep the live charts live.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from kdcore.progress import ProgressEvent
from kdcore.store import RunStore


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
