"""Turning per-arm results into the figures a user decides with, and a verdict in words.

No TensorFlow here: the dashboard uses these functions on stored summaries too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from kdcore.progress import arm_base

#: Accuracy differences below this (a tenth of a point) are reported as "no difference".
NO_DIFFERENCE = 0.001

#: Two-sided 95% Student-t quantiles for 1 to 30 degrees of freedom (seeds - 1); 1.96 beyond.
#: A table, not scipy: this module runs in the UI process, which stays light.
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def seed_stats(values: list[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (0 for a single seed) of accuracies."""
    return {
        "mean": statistics.fmean(values) if values else None,
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "values": values,
    }


def compare_arms(arms: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Student vs scratch over every seed pair, and whether the gain exceeds seed noise.

    The gain "exceeds the spread" when the 95% confidence interval of the mean paired gain
    (Student's t over the seeds) excludes zero. Pairing matters: a student and its scratch
    share initial weights and data order, so seed-to-seed swings that move both arms cancel
    out of the gain, while comparing the mean gain with the arms' own spreads both misses
    small consistent gains and (with 3 seeds) calls noise a gain. With one seed there is no
    spread to compare with, so the answer is ``None``.
    """
    students = sorted(a for a in arms if arm_base(a) == "student")
    pairs = [(arms[s]["test_accuracy"], arms[s.replace("student", "scratch", 1)]["test_accuracy"])
             for s in students if s.replace("student", "scratch", 1) in arms]
    out: dict[str, Any] = {"student": seed_stats([arms[s]["test_accuracy"] for s in students])}
    if pairs:
        out["scratch"] = seed_stats([b for _, b in pairs])
        gain = seed_stats([a - b for a, b in pairs])
        gain["ci95"] = confidence_half_width(gain["std"], len(pairs))
        # a gain too small to call a difference is never "beyond the spread", however steady it is
        gain["exceeds_spread"] = (None if gain["ci95"] is None
                                  else abs(gain["mean"]) >= NO_DIFFERENCE and abs(gain["mean"]) > gain["ci95"])
        out["gain"] = gain
    return out


def confidence_half_width(std: float, n: int) -> float | None:
    """Half-width of the two-sided 95% interval of a mean of ``n`` values (None below 2 values)."""
    if n < 2:
        return None
    t = T95[n - 2] if n - 2 < len(T95) else 1.96
    return t * std / math.sqrt(n)


def add_comparisons(arms: dict[str, dict[str, Any]]) -> None:
    """Add the student's gain over its paired scratch and the share of teacher accuracy kept."""
    teacher_acc = arms.get("teacher", {}).get("test_accuracy")
    for name, result in arms.items():
        if arm_base(name) != "student":
            continue
        scratch = arms.get(name.replace("student", "scratch", 1))
        result["gain_over_scratch"] = (result["test_accuracy"] - scratch["test_accuracy"]) if scratch else None
        result["teacher_share"] = (result["test_accuracy"] / teacher_acc) if teacher_acc else None


def verdict(arms: Mapping[str, Mapping[str, Any]], seeds: Mapping[str, Any]) -> str:
    """One paragraph that answers "did distillation pay here?", with the likely reason if not."""
    teacher = arms.get("teacher", {})
    student_mean = seeds["student"]["mean"]
    if student_mean is None:
        best = f", best epoch {teacher['best_epoch']}" if teacher.get("best_epoch") else ""
        val = teacher.get("val_accuracy")
        return (f"Teacher only: {teacher.get('test_accuracy', 0):.1%} test accuracy"
                f"{f' ({val:.1%} validation{best})' if val is not None else ''}; no student was trained.")
    if "scratch" not in seeds:
        return (f"Distilled student: {student_mean:.1%} test accuracy, "
                f"{teacher.get('test_accuracy', 0):.1%} for the teacher; no scratch baseline was trained.")
    scratch_mean = seeds["scratch"]["mean"]
    gain = seeds["gain"]
    n = len(gain["values"])
    over = f" over {n} seeds" if n > 1 else ""
    interval = (f" (95% interval of the paired gain: ±{gain['ci95'] * 100:.2f} points)"
                if gain.get("ci95") is not None else "")
    noise = {True: f" This is larger than the seed-to-seed spread{interval}.",
             False: f" This is within the seed-to-seed spread{interval}, so it may be noise.",
             None: " With one seed, the spread is unknown: repeat with train.seeds >= 3 to tell gain from noise."}[
        gain["exceeds_spread"]]
    if abs(gain["mean"]) < NO_DIFFERENCE:
        return (f"Distillation made no measurable difference: the distilled student reached {student_mean:.1%} "
                f"and the same model trained from scratch {scratch_mean:.1%}{over}.{noise}")
    if student_mean > scratch_mean:
        return (f"Distillation paid: the distilled student reached {student_mean:.1%} against {scratch_mean:.1%} "
                f"for the same model trained from scratch{over} ({gain['mean'] * 100:+.2f} points).{noise}")
    # a loss inside the noise may not be one: its reason is then said as a condition, not a finding
    lead = "Likely reason" if gain["exceeds_spread"] else "If the loss is real, the likely reason"
    reason = _teacher_problem(teacher, scratch_mean)
    return (f"The distilled student ended below the scratch student: {student_mean:.1%} against "
            f"{scratch_mean:.1%}{over} ({gain['mean'] * 100:+.2f} points).{noise} {lead}: {reason}")


def _teacher_problem(teacher: Mapping[str, Any], scratch_acc: float) -> str:
    """Why a student distilled from this teacher would lose to scratch, in words."""
    val = teacher.get("val_accuracy")
    train = teacher.get("train_accuracy")
    test = teacher.get("test_accuracy")
    if val is not None and train is not None and train - val > 0.08:
        return (f"the teacher overfit (train accuracy {train:.1%}, validation {val:.1%}), and the "
                "student copied its mistakes. Try teacher dropout, keep-best weights, or fewer teacher epochs.")
    if test is not None and test <= scratch_acc + 0.005:
        return (f"the teacher ({test:.1%} test accuracy) is no stronger than the student trained "
                "alone, so its soft targets carry little extra knowledge. Train a stronger teacher (another "
                "family: teacher.family=ngram), or raise alpha.")
    return ("these alpha/temperature settings weight the teacher's soft targets in a way that "
            "does not help here; try a higher alpha or a lower temperature.")
