"""The answer a sweep was run for, in words: how small the student can get, and whether distillation paid.

Honest in every case: no finished run yet, no student within reach of the teacher (then the
best one and its gap), the latency not measured (then only the size is compared), no scratch
twin (then no gain). Numbers read as people say them: accuracies in percent, gains in
points, sizes as ratios. A sweep over teachers also says which teacher gave the best student.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kdcore.results.sweep_results import SweepRow

NO_RESULT = "No run of this sweep has finished yet: the answer comes with the first finished run."


def _complete(rows: Sequence[SweepRow]) -> list[SweepRow]:
    """Succeeded runs whose distilled student trained to the end and was sized and tested."""
    return [r for r in rows if r.succeeded and not r.pruned and r.student_accuracy is not None
            and r.student_params is not None]


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _times(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _reach(teacher: float, within_points: float | None, within_share: float | None) -> tuple[float, str]:
    """The accuracy a student must reach, and that bar in words."""
    if within_share is not None:
        return teacher * within_share, f"within {within_share:.0%} of the teacher ({_pct(teacher)})"
    points = 1.0 if within_points is None else within_points
    return teacher - points / 100, f"within {points:g} point{'s' * (points != 1)} of the teacher ({_pct(teacher)})"


def _gain_text(row: SweepRow) -> str:
    if row.gain is None:
        return "distillation's gain is unknown (no scratch twin was trained)"
    interval = ""
    if row.gain_low is not None and row.gain_high is not None:
        interval = f" (95% interval {row.gain_low * 100:+.1f}..{row.gain_high * 100:+.1f})"
    return f"distillation added {row.gain * 100:+.1f} points{interval} at that size"


def answer(rows: Sequence[SweepRow], within_points: float | None = 1.0, within_share: float | None = None) -> str:
    """"The smallest student within 1 point of the teacher (89.9%) has N parameters, ..." or why not.

    ``within_share`` (0.97: 97 % of the teacher's accuracy) wins over ``within_points`` when given.
    The teacher is the best one among the finished runs.
    """
    complete = _complete(rows)
    if not complete:
        return NO_RESULT
    teachers = [r.teacher_accuracy for r in complete if r.teacher_accuracy is not None]
    if not teachers:
        best = max(complete, key=lambda r: (r.student_accuracy, -(r.student_params or 0)))
        return (f"No teacher accuracy was recorded, so no student can be compared with it; the most accurate "
                f"student has {best.student_params:,} parameters and reached {_pct(best.student_accuracy)}.")
    teacher = max(teachers)
    bar, words = _reach(teacher, within_points, within_share)
    close = [r for r in complete if r.student_accuracy >= bar - 1e-12]
    if not close:
        best = max(complete, key=lambda r: (r.student_accuracy, -(r.student_params or 0)))
        gap = (teacher - best.student_accuracy) * 100
        return (f"No student came {words}: the best, with {best.student_params:,} parameters, reached "
                f"{_pct(best.student_accuracy)}, {gap:.1f} points below it.")
    pick = min(close, key=lambda r: (r.student_params, -r.student_accuracy))
    smaller = _times(pick.teacher_params, pick.student_params)
    faster = _times(pick.teacher_latency_ms, pick.student_latency_ms)
    size = f"is {smaller:.1f}x smaller" if smaller else "is of unknown size against the teacher"
    speed = _speed_text(faster)
    return (f"The smallest student {words} has {pick.student_params:,} parameters "
            f"({_pct(pick.student_accuracy)}), {size}{speed}; {_gain_text(pick)}.")


def _speed_text(faster: float | None) -> str:
    """A student is not always faster: a bag of n-grams answers in a fraction of a recurrent student's time."""
    if not faster:
        return " (its latency was not measured, so no speed-up is given)"
    if faster >= 1:
        return f" and {faster:.1f}x faster (batch-1 latency)"
    return f" but {1 / faster:.1f}x slower than the teacher (batch-1 latency)"


@dataclass(frozen=True)
class TeacherScore:
    """One teacher of a sweep over teachers: its own accuracy and the best student it gave."""

    choice: str  #: the teacher part of the grid point, e.g. ``family=ngram``
    teacher_accuracy: float | None
    best_student_accuracy: float
    best_run_id: str
    #: The mean gain over scratch of its students; None when no twin was trained.
    mean_gain: float | None


def teacher_scores(rows: Sequence[SweepRow]) -> list[TeacherScore]:
    """Per teacher of the grid (``teacher`` or ``teacher.*`` keys), best student first; empty without such keys."""
    by_choice: dict[str, list[SweepRow]] = {}
    for row in _complete(rows):
        if row.teacher_choice():
            by_choice.setdefault(row.teacher_choice(), []).append(row)
    scores = []
    for choice, group in by_choice.items():
        best = max(group, key=lambda r: r.student_accuracy)
        gains = [r.gain for r in group if r.gain is not None]
        teachers = [r.teacher_accuracy for r in group if r.teacher_accuracy is not None]
        scores.append(TeacherScore(choice, max(teachers) if teachers else None, best.student_accuracy, best.run_id,
                                   sum(gains) / len(gains) if gains else None))
    return sorted(scores, key=lambda s: -s.best_student_accuracy)


def best_teacher(rows: Sequence[SweepRow]) -> str | None:
    """Which teacher gave the best student, in words; None when the grid does not vary the teacher."""
    scores = teacher_scores(rows)
    if not scores:
        return None
    if len(scores) == 1:
        return f"Only the teacher {scores[0].choice} has finished runs so far."

    def described(s: TeacherScore) -> str:
        own = f"teacher {_pct(s.teacher_accuracy)}" if s.teacher_accuracy is not None else "teacher not tested"
        gain = f", mean gain {s.mean_gain * 100:+.1f} points" if s.mean_gain is not None else ""
        return f"{s.choice} ({own}, best student {_pct(s.best_student_accuracy)}{gain})"

    best, others = scores[0], scores[1:]
    return (f"The best student came from the teacher {described(best)}; the others: "
            + "; ".join(described(s) for s in others) + ".")
