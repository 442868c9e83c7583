"""How progress events become rows of the run store: metric rows and log lines.

Split from :mod:`kdcore.store`: these are pure functions of an event (no connection), which
the store's writers call inside their transactions. No TensorFlow here.
"""

from __future__ import annotations

import math
from typing import Any

from kdcore.progress import ProgressEvent, format_metrics

INSERT_METRIC = (
    "INSERT INTO metrics (run_id, arm, kind, epoch, step, fraction, name, value, t) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, arm, epoch, name) WHERE kind = 'epoch' "
    "DO UPDATE SET value = excluded.value, step = excluded.step, t = excluded.t"
)
INSERT_EVENT = "INSERT INTO events (run_id, t, kind, arm, epoch, text) VALUES (?, ?, ?, ?, ?, ?)"


def finite(value: Any) -> float | None:
    """NaN/inf as NULL: SQLite stores them, JSON and charts choke on them."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def event_log_line(event: ProgressEvent) -> str | None:
    """The line a progress event adds to the run's log (ticks add none)."""
    if event.kind in ("log", "phase"):
        return event.message
    if event.kind == "arm_start":
        return f"== {event.arm}: " + (event.message or f"starting at epoch {event.epoch + 1}")
    if event.kind == "epoch_end":
        return f"[{event.arm}] epoch {event.epoch + 1}/{event.epochs} done: {format_metrics(event.metrics)}"
    if event.kind == "arm_end":
        return f"== {event.arm} finished" + (f": {format_metrics(event.metrics)}" if event.metrics else "")
    return None


def metric_row(run_id: str, arm: str, kind: str, epoch: int, step: int, steps: int, name: str,
                value: Any, t: float) -> tuple:
    if kind == "epoch":
        fraction = float(epoch + 1)
    else:
        fraction = epoch + (step / steps if steps else 0.0)
    return (run_id, arm, kind, int(epoch), int(step), fraction, name, finite(value), float(t))
