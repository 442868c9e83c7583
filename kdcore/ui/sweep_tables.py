"""The Sweeps page's tables: a sweep's progress counts, the table of its runs (and its CSV), the list of sweeps.

Numbers stay numbers (accuracies in percent, gains in points) so that the page's table sorts
them as numbers; the CSV keeps the contract's fractions, for a notebook to read back exactly.
No Streamlit, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from kdcore.results.sweep_results import SweepRow, short_key, varying_keys
from kdcore.store import RUN_STATUSES

#: How the results table writes its numbers (column -> format), for :func:`kdcore.ui.format.dashes_for_missing`.
RESULT_FORMATS = {"Teacher acc": "{:.1f}%", "Student acc": "{:.1f}%", "Scratch acc": "{:.1f}%",
                  "Gain (pts)": "{:+.2f}", "Gain low": "{:+.2f}", "Gain high": "{:+.2f}", "Epochs": "{:.0f}",
                  "Student params": "{:,.0f}", "Student ms": "{:.2f}", "Scratch ms": "{:.2f}",
                  "Teacher ms": "{:.2f}"}


def result_formats(frame: pd.DataFrame) -> dict[str, str]:
    """:data:`RESULT_FORMATS` plus the grid's numeric columns written as given (``0.1``, not ``0.100000``)."""
    fixed = set(RESULT_FORMATS) | {"Run", "Status", "Family", "Stopped", "Id"}
    points = {c: "{:g}" for c in frame.columns if c not in fixed and pd.api.types.is_numeric_dtype(frame[c])}
    return {**RESULT_FORMATS, **points}


def status_counts(runs: Sequence[Any]) -> dict[str, int]:
    """Runs per status, every status present (0 when none), in the store's order."""
    return {status: sum(r.status == status for r in runs) for status in RUN_STATUSES}


def finished_share(runs: Sequence[Any]) -> float:
    """Share of the sweep's runs that ended (succeeded, failed or cancelled): the group's progress bar."""
    return sum(r.finished for r in runs) / len(runs) if runs else 0.0


def active(runs: Sequence[Any]) -> bool:
    return any(not r.finished for r in runs)


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def results_frame(rows: Sequence[SweepRow]) -> pd.DataFrame:
    """One row per run: its point (the grid's varying keys, by their short names), state and every figure."""
    keys = varying_keys(rows) or list(dict.fromkeys(k for r in rows for k in r.point))
    records = []
    for row in rows:
        record: dict[str, Any] = {"Run": row.name or row.run_id, "Status": row.status}
        record.update({short_key(k): _cell(row.point.get(k)) for k in keys})
        record.update({
            "Family": row.student_family, "Student params": row.student_params,
            "Teacher acc": _pct(row.teacher_accuracy), "Student acc": _pct(row.student_accuracy),
            "Scratch acc": _pct(row.scratch_accuracy), "Gain (pts)": _pct(row.gain),
            "Gain low": _pct(row.gain_low), "Gain high": _pct(row.gain_high), "Epochs": row.epochs_trained,
            "Stopped": row.pruned, "Student ms": row.student_latency_ms, "Scratch ms": row.scratch_latency_ms,
            "Teacher ms": row.teacher_latency_ms, "Id": row.run_id})
        records.append(record)
    frame = pd.DataFrame(records)
    numeric = [c for c in RESULT_FORMATS if c in frame.columns]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame


def _cell(value: Any) -> Any:
    """A grid value as a table cell: numbers stay numbers, anything else (a preset, a list) as text."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def results_csv(rows: Sequence[SweepRow]) -> bytes:
    """Every row's fields, the point's keys as columns, fractions as stored: the table's download."""
    records = []
    for row in rows:
        fields = asdict(row)
        point = fields.pop("point")
        records.append({"run_id": fields.pop("run_id"), **{k: _cell(v) for k, v in point.items()}, **fields})
    return pd.DataFrame(records).to_csv(index=False).encode()
