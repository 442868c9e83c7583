"""The tables the pages show: the Runs page's list of runs, a finished run's results, seeds and classes.

DataFrames and lines of text built from run records and summaries; the pages only draw them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from kdcore.arms import arm_base, arm_label
from kdcore.config import AUGMENT_FIELDS, LATER_FIELDS
from kdcore.results import ArmResult, RunSummary, SeedStats
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
        summary = RunSummary.from_dict(r.summary)
        train = cfg.get("train", {})
        distill = cfg.get("distill", {})
        student = summary.arm("student")
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
            "Teacher acc": _percent(summary.arm("teacher").test_accuracy),
            "Student acc": _percent(student.test_accuracy),
            "Scratch acc": _percent(summary.arm("scratch").test_accuracy),
            "Gain (pts)": student.gain_over_scratch * 100 if student.gain_over_scratch is not None else None,
            "Duration": fmt_duration(run_duration(r, now)),
        })
    # results first: on a narrow screen the table scrolls, and the ids matter least
    columns = ["Name", "Status", "Student acc", "Scratch acc", "Gain (pts)", "Teacher acc", "Teacher", "Student",
               "Alpha", "T", "Targets", "Epochs", "Duration", "Created", "ID"]
    return pd.DataFrame(rows, columns=columns)


# -- a finished run's results --------------------------------------------------------------


def accuracy_text(summary: RunSummary, name: str) -> str:
    """An arm's test accuracy with its 95 % interval when the test count (or the stored interval) gives one."""
    interval = summary.accuracy_interval(name)
    value = fmt_pct(summary.arm(name).test_accuracy)
    return f"{value} ({interval[0] * 100:.1f}–{interval[1] * 100:.1f})" if interval else value


def gain_text(arm: ArmResult) -> str:
    """A student's gain over its twin with the test set's paired 95 % interval and McNemar p, when stored."""
    if arm.gain_low is None or arm.gain_high is None:
        return fmt_points(arm.gain_over_scratch)
    p = f"; p = {arm.gain_p_value:.2g}" if arm.gain_p_value is not None else ""
    return f"{fmt_points(arm.gain_over_scratch)} ({arm.gain_low * 100:+.2f} to {arm.gain_high * 100:+.2f}{p})"


def macro_f1_text(arm: ArmResult, *, student: bool) -> str:
    """An arm's macro-F1; a student's with its gap to its scratch twin when stored."""
    gap = f" ({fmt_points(arm.macro_f1_gain)})" if student and arm.macro_f1_gain is not None else ""
    return fmt_pct(arm.macro_f1) + gap


def summary_frame(summary: RunSummary) -> pd.DataFrame:
    """The finished run's results, one row per arm, formatted for reading rather than sorting.

    Accuracies carry their Wilson 95 % interval, a student's gain the paired interval of the test set
    and McNemar's p (:mod:`kdcore.results.paired`): how much the test set's size lets one say.
    A "Macro-F1" column follows the accuracy when any arm stored one (runs before it have none).
    """
    rows = []
    with_f1 = any(summary.arm(name).macro_f1 is not None for name in summary.arm_names())
    for name in summary.arm_names():
        arm, share = summary.arm(name), summary.share_of_teacher(name)
        student = arm_base(name) == "student"
        rows.append({
            "Model": arm_label(name),
            "Test accuracy": accuracy_text(summary, name),
            **({"Macro-F1": macro_f1_text(arm, student=student)} if with_f1 else {}),
            "Test loss": f"{arm.test_loss:.4f}" if arm.test_loss is not None else "–",
            "Parameters": fmt_params(arm.params),
            "Size on disk": fmt_bytes(arm.file_bytes),
            "Training time": fmt_duration(arm.train_seconds),
            "Best epoch": str(arm.best_epoch) if arm.best_epoch is not None else "–",  # stored 1-based
            "Gain over scratch": gain_text(arm) if student else "",
            "Teacher accuracy kept": fmt_pct(share) if share is not None else "",
        })
    return pd.DataFrame(rows)


def result_metrics(summary: RunSummary) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) for the four headline numbers of a finished run."""
    student, teacher = summary.arm("student"), summary.arm("teacher")
    gain = student.gain_over_scratch
    return [
        ("Student test accuracy", fmt_pct(student.test_accuracy),
         f"{fmt_points(gain)} vs scratch" if gain is not None else None),
        ("Teacher test accuracy", fmt_pct(teacher.test_accuracy), None),
        (*smaller_by(params_ratio(summary), summary.bytes_ratio), None),
        ("Total time", fmt_duration(summary.total_seconds), None),
    ]


def params_ratio(summary: RunSummary) -> float | None:
    """Teacher parameters over student parameters, from the arms (else the summary's ``compression``)."""
    teacher, student = summary.arm("teacher").params, summary.arm("student").params
    return teacher / student if teacher and student else summary.compression


def smaller_by(params: float | None, on_disk: float | None) -> tuple[str, str]:
    """(label, value) of both size ratios, the label naming what each compares: "Smaller by: params · bytes".

    The two differ (the embedding dominates the parameters, the file adds its own overhead), and a
    ratio without its unit was once read as the download's when it was the parameters'. The units
    go in the label so that the value stays short enough for a metric's column.
    """
    known = [(ratio, unit) for ratio, unit in ((params, "params"), (on_disk, "bytes")) if ratio]
    if not known:
        return "Smaller by", "–"
    return (f"Smaller by: {' · '.join(unit for _, unit in known)}",
            " · ".join(f"{ratio:.1f}×" for ratio, _ in known))


def download_sizes(summary: RunSummary, files: dict[str, int]) -> str:
    """The student download's size and how it compares with the teacher's, in bytes and in parameters.

    ``files`` is what the Download page serves (name -> bytes on disk), so the size and the bytes
    ratio are those of the very files a user gets.
    """
    student_bytes, teacher_bytes = files.get("student.keras"), files.get("teacher.keras")
    if not student_bytes:
        return "Not saved by this run."
    ratios = [f"{ratio:.1f}× fewer {unit}" for ratio, unit in (
        (teacher_bytes / student_bytes if teacher_bytes else None, "bytes"),
        (params_ratio(summary), "parameters")) if ratio]
    versus = f" ({', '.join(ratios)} than the teacher)" if ratios else ""
    return f"Size: {fmt_bytes(student_bytes)}{versus}."


def seed_lines(summary: RunSummary) -> list[str]:
    """Mean ± std over seeds, one sentence each, when the run repeated seeds (none for one seed)."""
    seeds = summary.seeds
    if len(seeds.student.values) < 2:
        return []
    roles: list[tuple[str, SeedStats | None]] = [("student", seeds.student), ("scratch", seeds.scratch)]
    lines = [_seed_line(role, stats) for role, stats in roles if stats is not None and stats.mean is not None]
    gain = seeds.gain
    if gain is not None and gain.mean is not None:
        verdict = "larger than the spread between seeds" if gain.exceeds_spread else "within the spread between seeds"
        # summaries stored before the interval existed give the std instead
        half, what = (gain.ci95, " (95% interval)") if gain.ci95 is not None else (gain.std, "")
        lines.append(f"Gain of distillation: {fmt_points(gain.mean)} ± {abs(half * 100):.2f} pts{what}, {verdict}")
    f1_gain = seeds.macro_f1_gain
    if f1_gain is not None and f1_gain.mean is not None and f1_gain.ci95 is not None:
        where = "larger than" if f1_gain.exceeds_spread else "within"
        lines.append(f"Macro-F1 gain of distillation: {fmt_points(f1_gain.mean)} ± {abs(f1_gain.ci95 * 100):.2f} pts "
                     f"(95% interval), {where} the spread between seeds")
    return lines


# -- a finished run's classes --------------------------------------------------------------

#: The arms whose per-class figures and confusion matrices a finished run shows, side by side.
CLASS_ARMS = ("teacher", "student", "scratch")


def class_arms(summary: RunSummary) -> list[str]:
    """Those of :data:`CLASS_ARMS` that stored per-class figures (none for runs stored before them)."""
    return [name for name in CLASS_ARMS if summary.arm(name).per_class]


def per_class_frame(summary: RunSummary) -> pd.DataFrame:
    """One row per class: its test rows, then precision, recall and F1 of each of :func:`class_arms`.

    Empty (no columns) when no arm stored per-class figures. The class names are the summary's
    (:meth:`RunSummary.classes`); an arm whose figures name other classes or fewer is shown by index.
    """
    arms = class_arms(summary)
    if not arms:
        return pd.DataFrame()
    names = summary.classes()
    first = summary.arm(arms[0]).per_class or ()
    rows = []
    for i, score in enumerate(first):
        row: dict[str, Any] = {"Class": names[i] if i < len(names) else score.name, "Test rows": score.support}
        for name in arms:
            scores = summary.arm(name).per_class or ()
            mine = scores[i] if i < len(scores) else None
            label = arm_label(name)
            row[f"{label}: precision"] = fmt_pct(mine.precision if mine else None)
            row[f"{label}: recall"] = fmt_pct(mine.recall if mine else None)
            row[f"{label}: F1"] = fmt_pct(mine.f1 if mine else None)
        rows.append(row)
    return pd.DataFrame(rows)


def class_caption(summary: RunSummary) -> str:
    """What the per-class table and the heatmaps show, and whether the classes are imbalanced."""
    counts = summary.test_class_counts() or ()
    balance = (" The classes are imbalanced (the smallest under half the largest): judge by macro-F1 and the "
               "per-class recall as well as accuracy." if summary.imbalanced else "")
    return (f"{len(counts)} classes, {sum(counts):,} test rows. Precision: of the rows predicted as a class, the "
            "share that are; recall: of a class's rows, the share found. Confusion matrices: rows are the true "
            "class, columns the predicted one; each cell shows its count, its colour the share of its row (white 0 %, "
            "dark blue 100 %: the diagonal is the recall)."
            + balance)


def _seed_line(role: str, stats: SeedStats) -> str:
    n = len(stats.values)
    return (f"{arm_label(role)}: {fmt_pct(stats.mean, 2)} ± {fmt_pct(stats.std, 2)} "
            f"test accuracy over {n} seed{'s' * (n != 1)}")


# -- where the teacher came from -----------------------------------------------------------


_SOURCE_WORDS = {"keras": "an uploaded .keras model", "soft_labels": "soft labels", "ensemble": "an ensemble"}


def teacher_source_line(summary: RunSummary, config: dict[str, Any] | None) -> str | None:
    """Where a run's teacher came from, for a teacher not trained here (None for one trained or reused here).

    Why a line of its own: a teacher given as soft labels without test outputs has no test
    accuracy, and the results table's dash in its place needs the reason beside it.
    """
    kind = ((config or {}).get("teacher_source") or {}).get("kind", "trained")
    if kind == "trained":
        return None
    text = summary.teacher_source or _SOURCE_WORDS.get(kind, kind)
    line = f"Teacher: {text}"
    if summary.arm("teacher").test_accuracy is None and "no test accuracy" not in text:
        line += " (no test outputs were given, so the teacher has no test accuracy)"
    return line
