"""What the pipeline tells the outside world while it trains, and how it is told to stop.

The pipeline knows nothing of SQLite, Streamlit or terminals: it emits
:class:`ProgressEvent` objects to a :class:`Reporter` and asks it, between batches,
whether to stop. The CLI prints them, the worker stores them, tests record them.
An event's ``arm`` is named as :mod:`kdcore.arms` says (``student@1`` for a second seed).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TextIO

EventKind = Literal["phase", "arm_start", "tick", "epoch_end", "arm_end", "log"]


#: The phases a run goes through besides training its arms, as the Live page names them.
PHASES = {
    "data": "Loading data",
    "teacher_model": "Building the teacher",
    "teacher_cached": "Loading the cached teacher",
    "teacher_earlier": "Loading the earlier run's teacher",
    "targets": "Computing teacher targets",
    "student_models": "Building the students",
    "report": "Measuring the deployable models",
}


class RunCancelled(Exception):
    """Raised inside training when the reporter asks to stop; finished arms are kept."""


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened in training.

    ``epoch`` is 0-based; ``step`` counts batches finished in that epoch out of ``steps``;
    ``epochs`` is the arm's planned total. ``metrics`` holds floats such as ``loss``,
    ``accuracy``, ``samples_per_s`` and, at epoch ends, ``val_loss`` and ``val_accuracy``.
    A ``phase`` event says in ``message`` what the run does outside training an arm (one of
    :data:`PHASES`, e.g. computing the teacher's targets): it moves no batch counter.
    """

    kind: EventKind
    arm: str = ""
    epoch: int = 0
    step: int = 0
    steps: int = 0
    epochs: int = 0
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def fraction(self) -> float:
        """Fractional epoch (epoch + step/steps), the x axis shared by ticks and epoch ends."""
        return self.epoch + (self.step / self.steps if self.steps else 0.0)


def phase_event(phase: str, arm: str = "") -> ProgressEvent:
    """The event that says the run entered ``phase`` (a key of :data:`PHASES`)."""
    return ProgressEvent("phase", arm, message=PHASES[phase])


class Reporter(Protocol):
    def report(self, event: ProgressEvent) -> None: ...

    def should_stop(self) -> bool: ...


def prune_reason(reporter: Reporter, arm: str, epoch: int, metrics: Mapping[str, float]) -> str | None:
    """Why ``arm`` should stop after ``epoch`` (a sweep's successive halving), or None to go on.

    Asked at each epoch end. Optional: only a reporter with a ``prune`` method (the worker's, for
    a run of a sweep with halving) ever says stop; every other reporter trains every epoch.
    """
    prune = getattr(reporter, "prune", None)
    return prune(arm, epoch, metrics) if callable(prune) else None


class NullReporter:
    """Reports nowhere and never stops: the default for library calls."""

    def report(self, event: ProgressEvent) -> None:
        pass

    def should_stop(self) -> bool:
        return False


class RecordingReporter:
    """Keeps every event in order and never stops: for tests and benchmarks (subclass to stop)."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def report(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def should_stop(self) -> bool:
        return False


class PrintReporter:
    """Human-readable progress for the terminal: one line per tick and per epoch."""

    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream
        self.started = time.monotonic()

    def report(self, event: ProgressEvent) -> None:
        m = event.metrics
        if event.kind == "log":
            line = event.message
        elif event.kind == "phase":
            line = f"-- {event.message}" + (f" ({event.arm})" if event.arm else "")
        elif event.kind == "arm_start":
            line = f"== {event.arm}: {event.message}"
        elif event.kind == "tick":
            line = (f"[{event.arm}] epoch {event.epoch + 1}/{event.epochs} "
                    f"batch {event.step}/{event.steps} " + format_metrics(m))
        elif event.kind == "epoch_end":
            line = f"[{event.arm}] epoch {event.epoch + 1}/{event.epochs} done: " + format_metrics(m)
        else:
            line = f"== {event.arm} finished: " + format_metrics(m)
        print(f"{time.monotonic() - self.started:7.1f}s {line}", file=self.stream, flush=True)

    def should_stop(self) -> bool:
        return False


def format_metrics(metrics: Mapping[str, float]) -> str:
    """``loss 0.4123 accuracy 0.8100 1,234 samples/s``: one line of metrics for a terminal or a run's log."""
    parts = []
    for key, value in dict(metrics).items():
        if key == "samples_per_s":
            parts.append(f"{float(value):,.0f} samples/s")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.4f}")
        else:
            parts.append(f"{key} {value}")
    return " ".join(parts)
