"""The tables the pages show: the Runs page's list of runs, a finished run's results and seeds.

DataFrames and lines of text built from run records and summaries; the pages only draw them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from kdcore.config import AUGMENT_FIELDS, LATER_FIELDS
from kdcore.ui.charts import arm_label, sorted_arms
from kdcore.ui.format import (
    fmt_bytes,
    fmt_duration,
    fmt_params,
    fmt_pct,
    fmt_points,
    fmt_time,
    run_duration,
    size_text,
)

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
    from kdcore.store import RunRecord

# -- the Runs page -------------------------------------------------------------------------


def filter_runs(records: Iterable[RunRecord], statuses: Sequence[str] | None = None,
                text: str = "") -> list[RunRecord]:
    """Runs with one of ``statuses`` (all when empty) whose id, name or error contains ``text``."""
    needle = text.strip().lower()
    out = []
    for r in records:
        if statuses and r.status not in statuses:
            continue
        if needle and needle not in " ".join([r.id, r.name or "", r.error or ""]).lower():
            continue
        out.append(r)
    return out


def _percent(x: float | None) -> float | None:
    return None if x is None else round(x * 100, 2)


#: ``distill.teacher_view`` in a column a few characters wide.
TARGETS_SHORT = {"own": "own view", "student": "student's"}


def targets_text(distill: dict[str, Any]) -> str:
    """What the teacher's targets were made from, for a run stored with or before the later fields."""
    view = TARGETS_SHORT.get(distill.get("teacher_view", LATER_FIELDS["distill.teacher_view"]), "")
    augmented = any((distill.get(path.partition(".")[2]) or 0.0) > 0.0 for path in AUGMENT_FIELDS)
    return f"{view}, augmented" if augmented else view


def runs_frame(records: Iterable[RunRecord], now: float | None = None) -> pd.DataFrame:
    """One row per run: what it was, how it went. Accuracies in percent (numbers, so they sort)."""
    rows = []
    for r in records:
        cfg = r.config or {}
        arms = (r.summary or {}).get("arms", {}) or {}
        train = cfg.get("train", {})
        distill = cfg.get("distill", {})
        student = arms.get("student", {})
        rows.append({
            "ID": r.id,
            "Name": r.name or cfg.get("name") or "",
            "Status": r.status,
            "Created": fmt_time(r.created_at, "%m-%d %H:%M"),
            "Teacher": "reused" if cfg.get("teacher_from") else size_text(cfg.get("teacher")),
            "Student": size_text(cfg.get("student")),
            "Alpha": distill.get("alpha"),
            "T": distill.get("temperature"),
            # a run stored before the field: what it meant then
            "Targets": targets_text(distill),
            "Epochs": train.get("epochs"),
            "Teacher acc": _percent(arms.get("teacher", {}).get("test_accuracy")),
            "Student acc": _percent(student.get("test_accuracy")),
            "Scratch acc": _percent(arms.get("scratch", {}).get("test_accuracy")),
            "Gain (pts)": (student["gain_over_scratch"] * 100 if student.get("gain_over_scratch") is not None
                           else None),
            "Duration": fmt_duration(run_duration(r, now)),
        })
    # results first: on a narrow screen the table scrolls, and the ids matter least
    columns = ["Name", "Status", "Student acc", "Scratch acc", "Gain (pts)", "Teacher acc", "Teacher", "Student",
               "Alpha", "T", "Targets", "Epochs", "Duration", "Created", "ID"]
    return pd.DataFrame(rows, columns=columns)


# -- a finished run's results --------------------------------------------------------------


def summary_frame(summary: Mapping[str, Any] | None) -> pd.DataFrame:
    """The finished run's results, one row per arm, formatted for reading rather than sorting."""
    arms = (summary or {}).get("arms", {}) or {}
    teacher_acc = (arms.get("teacher") or {}).get("test_accuracy")
    rows = []
    for arm in sorted_arms(arms):
        a = arms[arm] or {}
        share = a.get("teacher_share")
        if share is None and teacher_acc and a.get("test_accuracy") is not None and arm != "teacher":
            share = a["test_accuracy"] / teacher_acc
        rows.append({
            "Model": arm_label(arm),
            "Test accuracy": fmt_pct(a.get("test_accuracy")),
            "Test loss": f"{a['test_loss']:.4f}" if a.get("test_loss") is not None else "–",
            "Parameters": fmt_params(a.get("params")),
            "Size on disk": fmt_bytes(a.get("file_bytes")),
            "Training time": fmt_duration(a.get("train_seconds")),
            "Best epoch": str(a["best_epoch"] + 1) if a.get("best_epoch") is not None else "–",
            "Gain over scratch": fmt_points(a.get("gain_over_scratch")) if arm.startswith("student") else "",
            "Teacher accuracy kept": fmt_pct(share) if share is not None and arm != "teacher" else "",
        })
    return pd.DataFrame(rows)


def result_metrics(summary: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) for the four headline numbers of a finished run."""
    arms = summary.get("arms", {}) or {}
    student, teacher = arms.get("student") or {}, arms.get("teacher") or {}
    gain = student.get("gain_over_scratch")
    ratio = (teacher["params"] / student["params"]) if teacher.get("params") and student.get("params") else None
    return [
        ("Student test accuracy", fmt_pct(student.get("test_accuracy")),
         f"{fmt_points(gain)} vs scratch" if gain is not None else None),
        ("Teacher test accuracy", fmt_pct(teacher.get("test_accuracy")), None),
        ("Student is smaller by", f"{ratio:.1f}×" if ratio else "–", None),
        ("Total time", fmt_duration(summary.get("total_seconds")), None),
    ]


def seed_lines(summary: Mapping[str, Any] | None) -> list[str]:
    """Mean ± std over seeds, one sentence each, when the run repeated seeds (none for one seed)."""
    seeds = (summary or {}).get("seeds") or {}
    if len((seeds.get("student") or {}).get("values") or []) < 2:
        return []
    lines = []
    for role in ("student", "scratch"):
        s = seeds.get(role)
        if s and s.get("mean") is not None:
            n = len(s.get("values") or [])
            lines.append(f"{arm_label(role)}: {fmt_pct(s['mean'], 2)} ± {fmt_pct(s.get('std') or 0.0, 2)} "
                         f"test accuracy over {n} seed{'s' * (n != 1)}")
    gain = seeds.get("gain")
    if gain and gain.get("mean") is not None:
        verdict = ("larger than the spread between seeds" if gain.get("exceeds_spread")
                   else "within the spread between seeds")
        half, what = ((gain["ci95"], " (95% interval)") if gain.get("ci95") is not None
                      else (gain.get("std") or 0.0, ""))  # summaries stored before the interval existed
        lines.append(f"Gain of distillation: {fmt_points(gain['mean'])} ± {abs(half * 100):.2f} pts{what}, {verdict}")
    return lines
