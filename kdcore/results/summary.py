"""Turning per-arm results into the figures a user decides with, and a verdict in words.

The engine calls :func:`add_comparisons`, :func:`compare_arms` and :func:`verdict` on the
arms it trained (dicts in the :class:`~kdcore.results.contract.ArmResult` layout), or
:func:`summarise_run` for the whole :class:`~kdcore.results.contract.RunSummary`, with the
:class:`~kdcore.results.verdict.RunEvidence` that the test-set intervals and the verdict are
judged by (:mod:`kdcore.results.paired` for the statistics, :mod:`kdcore.results.verdict` for
the words). No TensorFlow here: the dashboard uses these functions on stored summaries too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from types import MappingProxyType
from typing import Any

from kdcore.arms import arm_base, scratch_twin
from kdcore.results.contract import ArmResult, DataCounts, GainStats, RunSummary, SeedComparison, SeedStats
from kdcore.results.deployment import Deployment
from kdcore.results.paired import paired_test, wilson_interval
from kdcore.results.verdict import NO_DIFFERENCE, RunEvidence, describe

__all__ = ["NO_DIFFERENCE", "RunEvidence", "add_comparisons", "compare_arms", "compare_seeds", "describe",
           "paired_gain", "seed_stats", "summarise_run", "verdict"]

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
    f1 = _macro_f1_seeds(arms, students)
    if not pairs:
        return SeedComparison(student=student, **f1)
    return SeedComparison(student=student, scratch=seed_stats(b for _, b in pairs),
                          gain=paired_gain(a - b for a, b in pairs), **f1)


def _macro_f1_seeds(arms: Mapping[str, Mapping[str, Any]], students: Sequence[str]) -> dict[str, Any]:
    """:class:`SeedComparison`'s macro-F1 statistics, paired like accuracy's; none when any arm lacks macro-F1."""
    student = [arms[s].get("macro_f1") for s in students]
    if not students or any(v is None for v in student):
        return {}
    twins = [scratch_twin(s) for s in students if scratch_twin(s) in arms]
    scratch = [arms[t].get("macro_f1") for t in twins]
    out: dict[str, Any] = {"student_macro_f1": seed_stats(student)}
    if twins and len(twins) == len(students) and all(v is not None for v in scratch):
        out.update(scratch_macro_f1=seed_stats(scratch), macro_f1_gain=paired_gain(a - b for a, b in
                                                                                   zip(student, scratch)))
    return out


def compare_arms(arms: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`compare_seeds` in the stored layout (``summary["seeds"]``)."""
    return compare_seeds(arms).to_dict()


def add_comparisons(arms: dict[str, dict[str, Any]],
                    test_correct: Mapping[str, Sequence[bool]] | None = None) -> None:
    """Add each arm's test-accuracy interval and each student's comparisons with its twin and the teacher.

    Without ``test_correct`` (each arm's per-review answers) the intervals are None: an accuracy
    alone does not say which reviews two arms disagree on.
    """
    answers = test_correct or {}
    teacher_acc = arms.get("teacher", {}).get("test_accuracy")
    for name, result in arms.items():
        correct = answers.get(name)
        interval = wilson_interval(sum(map(bool, correct)), len(correct)) if correct else None
        result["test_accuracy_low"], result["test_accuracy_high"] = interval or (None, None)
        if arm_base(name) != "student":
            continue
        scratch = arms.get(scratch_twin(name))
        result["gain_over_scratch"] = (result["test_accuracy"] - scratch["test_accuracy"]) if scratch else None
        result["teacher_share"] = (result["test_accuracy"] / teacher_acc) if teacher_acc else None
        if scratch and result.get("macro_f1") is not None and scratch.get("macro_f1") is not None:
            result["macro_f1_gain"] = result["macro_f1"] - scratch["macro_f1"]
        paired = paired_test(correct, answers[scratch_twin(name)]) if (
            scratch and correct and scratch_twin(name) in answers) else None
        result.update(gain_low=paired and paired.low, gain_high=paired and paired.high,
                      gain_p_value=paired and paired.p_value, only_student_right=paired and paired.only_student,
                      only_scratch_right=paired and paired.only_scratch)


def summarise_run(arms: Mapping[str, Mapping[str, Any]], *, device: str, total_seconds: float, teacher_source: str,
                  teacher_key: str, scratch_reused: Iterable[str], data: DataCounts,
                  compression: float | None, evidence: RunEvidence | None = None,
                  deployment: Deployment | None = None) -> RunSummary:
    """The whole summary of a run from its arms' results: comparisons, intervals, seed statistics, verdict.

    ``arms`` is not changed; :meth:`RunSummary.to_dict` gives what ``summary.json`` holds.
    ``compression`` is the parameters ratio (teacher / student, from the config); the bytes
    ratio of the deployable files is computed here from the arms' ``file_bytes``.
    ``evidence`` (each arm's per-review test answers, the test set's majority share, the
    validation curves, the families) is what the intervals and the verdict are judged by; it
    is not stored as it is; ``deployment`` is the compression report, stored as given.
    Unlike reading (:meth:`RunSummary.from_dict`, tolerant of old runs),
    writing is strict: a field the contract does not declare is a TypeError, so a new figure is
    documented in :class:`~kdcore.results.contract.ArmResult` before any reader sees it.
    """
    evidence = evidence or RunEvidence()
    compared = {name: dict(result) for name, result in arms.items()}
    add_comparisons(compared, evidence.test_correct)
    seeds = compare_seeds(compared)
    results = {name: declared(result) for name, result in compared.items()}
    return RunSummary(device=device, total_seconds=total_seconds, teacher_reused=teacher_source not in TRAINED_HERE,
                      teacher_source=teacher_source, teacher_key=teacher_key, scratch_reused=tuple(scratch_reused),
                      data=data, compression=compression, bytes_ratio=bytes_ratio(results),
                      arms=MappingProxyType(results), seeds=seeds,
                      verdict=describe(results, seeds, evidence), class_names=tuple(evidence.class_names),
                      deployment=deployment)


def declared(result: Mapping[str, Any]) -> ArmResult:
    """An engine's arm result (its stored dict) as the contract's type; a field it does not declare is a TypeError.

    Read with :meth:`ArmResult.from_dict`, so the per-class figures (stored as lists of dicts) become typed too.
    """
    unknown = sorted(set(result) - {f.name for f in fields(ArmResult)})
    if unknown:
        raise TypeError(f"arm result fields not declared in ArmResult: {', '.join(unknown)}")
    return ArmResult.from_dict(result)


def bytes_ratio(arms: Mapping[str, ArmResult]) -> float | None:
    """Teacher ``.keras`` bytes over student ``.keras`` bytes: how much smaller the download is, not the parameters."""
    teacher, student = arms.get("teacher"), arms.get("student")
    if teacher is None or student is None or not teacher.file_bytes or not student.file_bytes:
        return None
    return teacher.file_bytes / student.file_bytes


def verdict(arms: Mapping[str, Mapping[str, Any]], seeds: Mapping[str, Any] | SeedComparison,
            evidence: RunEvidence | None = None) -> str:
    """One paragraph that answers "did distillation pay here?", how sure that is, and the likely reason if not."""
    typed = seeds if isinstance(seeds, SeedComparison) else SeedComparison.from_dict(seeds)
    return describe({name: ArmResult.from_dict(arm) for name, arm in arms.items()}, typed, evidence)
