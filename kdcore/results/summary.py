"""Turning per-arm results into the figures a user decides with, and a verdict in words.

The engine calls :func:`add_comparisons`, :func:`compare_arms` and :func:`verdict` on the
arms it trained (dicts in the :class:`~kdcore.results.contract.ArmResult` layout), or
:func:`summarise_run` for the whole :class:`~kdcore.results.contract.RunSummary`. No
TensorFlow here: the dashboard uses these functions on stored summaries too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from kdcore.arms import arm_base, scratch_twin
from kdcore.results.contract import ArmResult, DataCounts, GainStats, RunSummary, SeedComparison, SeedStats

#: Accuracy differences below this (a tenth of a point) are reported as "no difference".
NO_DIFFERENCE = 0.001

#: Two-sided 95% Student-t quantiles for 1 to 30 degrees of freedom (seeds - 1); 1.96 beyond.
#: A table, not scipy: this module runs in the UI process, which stays light.
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

#: Where a teacher trained by the run itself comes from; any other source means it was reused.
TRAINED_HERE = ("trained", "resumed")


def seed_stats(values: Iterable[float]) -> SeedStats:
    """Mean and sample standard deviation (0 for a single seed) of accuracies."""
    values = tuple(values)
    return SeedStats(mean=statistics.fmean(values) if values else None,
                     std=statistics.stdev(values) if len(values) > 1 else 0.0, values=values)


def confidence_half_width(std: float, n: int) -> float | None:
    """Half-width of the two-sided 95% interval of a mean of ``n`` values (None below 2 values)."""
    if n < 2:
        return None
    t = T95[n - 2] if n - 2 < len(T95) else 1.96
    return t * std / math.sqrt(n)


def paired_gain(gains: Iterable[float]) -> GainStats:
    """Statistics of per-seed gains, with the 95% interval and whether the gain exceeds it.

    A gain too small to call a difference is never "beyond the spread", however steady it is.
    """
    stats = seed_stats(gains)
    ci95 = confidence_half_width(stats.std, len(stats.values))
    exceeds = (None if ci95 is None or stats.mean is None
               else abs(stats.mean) >= NO_DIFFERENCE and abs(stats.mean) > ci95)
    return GainStats(mean=stats.mean, std=stats.std, values=stats.values, ci95=ci95, exceeds_spread=exceeds)


def compare_seeds(arms: Mapping[str, Mapping[str, Any]]) -> SeedComparison:
    """Student vs scratch over every seed pair, and whether the gain exceeds seed noise.

    The gain "exceeds the spread" when the 95% confidence interval of the mean paired gain
    (Student's t over the seeds) excludes zero. Pairing matters: a student and its scratch
    share initial weights and data order, so seed-to-seed swings that move both arms cancel
    out of the gain, while comparing the mean gain with the arms' own spreads both misses
    small consistent gains and (with 3 seeds) calls noise a gain. With one seed there is no
    spread to compare with, so the answer is ``None``.
    """
    students = sorted(a for a in arms if arm_base(a) == "student")
    pairs = [(arms[s]["test_accuracy"], arms[scratch_twin(s)]["test_accuracy"])
             for s in students if scratch_twin(s) in arms]
    student = seed_stats(arms[s]["test_accuracy"] for s in students)
    if not pairs:
        return SeedComparison(student=student)
    return SeedComparison(student=student, scratch=seed_stats(b for _, b in pairs),
                          gain=paired_gain(a - b for a, b in pairs))


def compare_arms(arms: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`compare_seeds` in the stored layout (``summary["seeds"]``)."""
    return compare_seeds(arms).to_dict()


def add_comparisons(arms: dict[str, dict[str, Any]]) -> None:
    """Add the student's gain over its paired scratch and the share of teacher accuracy kept."""
    teacher_acc = arms.get("teacher", {}).get("test_accuracy")
    for name, result in arms.items():
        if arm_base(name) != "student":
            continue
        scratch = arms.get(scratch_twin(name))
        result["gain_over_scratch"] = (result["test_accuracy"] - scratch["test_accuracy"]) if scratch else None
        result["teacher_share"] = (result["test_accuracy"] / teacher_acc) if teacher_acc else None


def summarise_run(arms: Mapping[str, Mapping[str, Any]], *, device: str, total_seconds: float, teacher_source: str,
                  teacher_key: str, scratch_reused: Iterable[str], data: DataCounts,
                  compression: float) -> RunSummary:
    """The whole summary of a run from its arms' results: comparisons, seed statistics, verdict.

    ``arms`` is not changed; :meth:`RunSummary.to_dict` gives what ``summary.json`` holds.
    Unlike reading (:meth:`RunSummary.from_dict`, tolerant of old runs), writing is strict:
    a field the contract does not declare is a TypeError, so a new figure is documented in
    :class:`~kdcore.results.contract.ArmResult` before any reader sees it.
    """
    compared = {name: dict(result) for name, result in arms.items()}
    add_comparisons(compared)
    seeds = compare_seeds(compared)
    results = {name: ArmResult(**result) for name, result in compared.items()}
    return RunSummary(device=device, total_seconds=total_seconds, teacher_reused=teacher_source not in TRAINED_HERE,
                      teacher_source=teacher_source, teacher_key=teacher_key, scratch_reused=tuple(scratch_reused),
                      data=data, compression=compression, arms=MappingProxyType(results), seeds=seeds,
                      verdict=describe(results.get("teacher") or ArmResult(), seeds))


def verdict(arms: Mapping[str, Mapping[str, Any]], seeds: Mapping[str, Any] | SeedComparison) -> str:
    """One paragraph that answers "did distillation pay here?", with the likely reason if not."""
    typed = seeds if isinstance(seeds, SeedComparison) else SeedComparison.from_dict(seeds)
    return describe(ArmResult.from_dict(arms.get("teacher")), typed)


def describe(teacher: ArmResult, seeds: SeedComparison) -> str:
    """:func:`verdict` on typed results."""
    student_mean = seeds.student.mean
    teacher_acc = teacher.test_accuracy or 0.0
    if student_mean is None:
        best = f", best epoch {teacher.best_epoch}" if teacher.best_epoch else ""  # 1-based, as stored
        val = teacher.val_accuracy
        return (f"Teacher only: {teacher_acc:.1%} test accuracy"
                f"{f' ({val:.1%} validation{best})' if val is not None else ''}; no student was trained.")
    if seeds.scratch is None or seeds.gain is None or seeds.gain.mean is None:
        return (f"Distilled student: {student_mean:.1%} test accuracy, "
                f"{teacher_acc:.1%} for the teacher; no scratch baseline was trained.")
    scratch_mean, gain = seeds.scratch.mean or 0.0, seeds.gain
    gain_mean = gain.mean or 0.0
    n = len(gain.values)
    over = f" over {n} seeds" if n > 1 else ""
    interval = f" (95% interval of the paired gain: ±{gain.ci95 * 100:.2f} points)" if gain.ci95 is not None else ""
    noise = {True: f" This is larger than the seed-to-seed spread{interval}.",
             False: f" This is within the seed-to-seed spread{interval}, so it may be noise.",
             None: " With one seed, the spread is unknown: repeat with train.seeds >= 3 to tell gain from noise."}[
        gain.exceeds_spread]
    if abs(gain_mean) < NO_DIFFERENCE:
        return (f"Distillation made no measurable difference: the distilled student reached {student_mean:.1%} "
                f"and the same model trained from scratch {scratch_mean:.1%}{over}.{noise}")
    if student_mean > scratch_mean:
        return (f"Distillation paid: the distilled student reached {student_mean:.1%} against {scratch_mean:.1%} "
                f"for the same model trained from scratch{over} ({gain_mean * 100:+.2f} points).{noise}")
    # a loss inside the noise may not be one: its reason is then said as a condition, not a finding
    lead = "Likely reason" if gain.exceeds_spread else "If the loss is real, the likely reason"
    return (f"The distilled student ended below the scratch student: {student_mean:.1%} against "
            f"{scratch_mean:.1%}{over} ({gain_mean * 100:+.2f} points).{noise} {lead}: "
            f"{_teacher_problem(teacher, scratch_mean)}")


def _teacher_problem(teacher: ArmResult, scratch_acc: float) -> str:
    """Why a student distilled from this teacher would lose to scratch, in words."""
    val, train, test = teacher.val_accuracy, teacher.train_accuracy, teacher.test_accuracy
    if val is not None and train is not None and train - val > 0.08:
        return (f"the teacher overfit (train accuracy {train:.1%}, validation {val:.1%}), and the "
                "student copied its mistakes. Try teacher dropout, keep-best weights, or fewer teacher epochs.")
    if test is not None and test <= scratch_acc + 0.005:
        return (f"the teacher ({test:.1%} test accuracy) is no stronger than the student trained "
                "alone, so its soft targets carry little extra knowledge. Train a stronger teacher (another "
                "family: teacher.family=ngram), or raise alpha.")
    return ("these alpha/temperature settings weight the teacher's soft targets in a way that "
            "does not help here; try a higher alpha or a lower temperature.")
