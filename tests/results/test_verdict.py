"""The verdict's sentences, each from the run's own facts (tiny synthetic answers, no TensorFlow)."""

from __future__ import annotations

from typing import Any

import pytest

from kdcore.results import DataCounts, RunSummary
from kdcore.results.summary import summarise_run
from kdcore.results.verdict import RunEvidence

FAMILIES = ("recurrent", "ngram", "conv")


def answers(both: int, only_student: int, only_scratch: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Per-review correctness of a student and its scratch twin with the given 2x2 table."""
    student = [True] * both + [True] * only_student + [False] * only_scratch + [False] * neither
    scratch = [True] * both + [False] * only_student + [True] * only_scratch + [False] * neither
    return student, scratch


def run(teacher: float, table: tuple[int, int, int, int], *, majority: float = 0.5,
        val: dict[str, list[float]] | None = None, teacher_family: str = "recurrent",
        **teacher_extra: Any) -> RunSummary:
    """A one-seed run whose students answered the test reviews as ``table`` says; the teacher scored ``teacher``."""
    student, scratch = answers(*table)
    n = len(student)
    teacher_right = round(teacher * n)
    arms = {"teacher": {"test_accuracy": teacher_right / n, **teacher_extra},
            "student": {"test_accuracy": sum(student) / n}, "scratch": {"test_accuracy": sum(scratch) / n}}
    evidence = RunEvidence(
        test_correct={"teacher": [True] * teacher_right + [False] * (n - teacher_right), "student": student,
                      "scratch": scratch},
        majority_share=majority, val_accuracies=val or {}, teacher_family=teacher_family, families=FAMILIES)
    return summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                         scratch_reused=[], data=DataCounts(test=n), compression=2.0, evidence=evidence)


def test_verdict__the_issues_run_at_chance_does_not_say_distillation_paid() -> None:
    # given the issue's run: 200 test reviews, the scratch student at 46.5% (93 right), the distilled one at
    # 55.5% (111 right), every validation accuracy at 50%, and 53.5% of the test reviews in one class
    flat = {"teacher": [0.5, 0.5], "student": [0.5, 0.5], "scratch": [0.5, 0.5]}
    summary = run(0.5, (81, 30, 12, 77), majority=0.535, val=flat)
    text = summary.verdict
    # then no gain is claimed, and each reason is said in words
    assert "Distillation paid" not in text, text
    assert "No gain of distillation can be claimed" in text, text
    assert "The teacher (50.0%, 95% interval 43.1% to 56.9%) and the scratch student (46.5%, 95% interval 39.7% " \
           "to 53.4%) are at or below the majority-class rate (53.5%" in text, text
    assert "The distilled student (55.5%, 95% interval 48.6% to 62.2%) is not clearly above it." in text, text
    assert "Validation accuracy never moved for the teacher (50.0%), distilled student (50.0%) and scratch " \
           "student (50.0%) at every epoch: nothing was learned" in text, text


def test_verdict__a_difference_the_test_set_cannot_show_says_so() -> None:
    # given 200 reviews, the student at 80% and its twin at 77%: they disagree on 14 + 8 reviews
    summary = run(0.9, (146, 14, 8, 32))
    student = summary.arm("student")
    # then the summary carries the paired statistics, and the verdict calls the test set too small
    assert (student.only_student_right, student.only_scratch_right) == (14, 8)
    assert student.gain_low is not None and student.gain_high is not None and student.gain_low < 0 < student.gain_high
    text = summary.verdict
    assert "Distillation paid" not in text and "the test set is too small to tell a difference this size" in text, text
    assert (f"the 95% interval of the paired difference is {student.gain_low * 100:+.2f} to "
            f"{student.gain_high * 100:+.2f} points (McNemar's exact test on the 22 reviews where the two disagree: "
            f"p = {student.gain_p_value:.3g})") in text, text


def test_verdict__a_difference_the_test_set_shows_is_a_gain_even_with_one_seed() -> None:
    # given 1000 reviews, 85% against 80%, disagreeing on 70 + 20: McNemar p far below 0.05
    summary = run(0.9, (780, 70, 20, 130))
    student = summary.arm("student")
    assert student.gain_low is not None and student.gain_low > 0, "the interval leaves out 0"
    assert student.gain_p_value is not None and student.gain_p_value < 1e-6
    assert summary.verdict.startswith("Distillation paid: the distilled student reached 85.0% against 80.0%"), \
        summary.verdict
    assert "With one seed, the spread is unknown" in summary.verdict, "the seed spread is still not known"


def test_verdict__a_weak_teacher_is_named_and_the_advice_names_families_not_tried() -> None:
    # given the issue's short-text run: the n-gram teacher (81.4%) below the scratch student (83.7%), and the
    # distilled student below scratch on 1000 reviews
    summary = run(0.814, (760, 30, 77, 133), teacher_family="ngram", train_accuracy=0.85, val_accuracy=0.82)
    text = summary.verdict
    # then the teacher is called weaker than the scratch student itself, and other families are advised
    assert "below the scratch student" in text, text
    assert "is weaker than the scratch student itself (83.7%)" in text, text
    assert "teacher.family=recurrent or teacher.family=conv" in text, text
    assert "teacher.family=ngram" not in text, "never advise the family the run used"


def test_verdict__a_weak_teacher_is_said_even_when_there_is_no_loss() -> None:
    # given a conv teacher at 70% and students both at 80% (no difference)
    summary = run(0.70, (780, 20, 20, 180), teacher_family="conv")
    text = summary.verdict
    assert "no measurable difference" in text, text
    assert "The teacher (70.0%) is weaker than the scratch student itself (80.0%)" in text, text
    assert "teacher.family=recurrent or teacher.family=ngram" in text and "teacher.family=conv" not in text, text


def test_verdict__the_majority_rate_is_the_floor_not_fifty_percent() -> None:
    # given a test set with 70% of its reviews in one class, and a teacher at 71% on 1000 of them
    summary = run(0.71, (800, 30, 10, 160), majority=0.70)
    # then the teacher is not clearly above what always answering the common class scores
    assert "The teacher (71.0%, 95% interval 68.1% to 73.7%) is not clearly above the majority-class rate " \
           "(70.0%" in summary.verdict, summary.verdict


@pytest.mark.parametrize("curve", [[0.61], [0.6, 0.65], [1.0, 1.0]])
def test_verdict__a_validation_accuracy_that_moved_was_measured_once_or_is_perfect_is_not_called_still(
        curve: list[float]) -> None:
    summary = run(0.9, (780, 70, 20, 130), val={"student": curve})
    assert "never moved" not in summary.verdict, summary.verdict


def test_verdict__a_validation_accuracy_still_above_chance_was_reached_in_the_first_epoch() -> None:
    summary = run(0.9, (780, 70, 20, 130), val={"scratch": [0.8, 0.8, 0.8]})
    assert "never moved for the scratch student (80.0%) after the first epoch" in summary.verdict, summary.verdict
    assert "nothing was learned" not in summary.verdict, "80% is learned"


def test_verdict__a_teacher_within_half_a_point_of_scratch_is_not_called_weaker() -> None:
    # given a teacher one review in 200 below the students (99.5% against 100%)
    summary = run(0.995, (200, 0, 0, 0))
    assert "weaker" not in summary.verdict and "answered every review alike" in summary.verdict, summary.verdict


def test_verdict__without_answers_the_old_figures_still_give_a_verdict() -> None:
    # given arms stored with accuracies only (a run finished before answers were kept)
    arms = {"teacher": {"test_accuracy": 0.9}, "student": {"test_accuracy": 0.87}, "scratch": {"test_accuracy": 0.85}}
    summary = summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                            scratch_reused=[], data=DataCounts(test=500), compression=2.0)
    # then there is no paired interval to report, and the per-accuracy interval comes from data.test
    assert summary.arm("student").gain_low is None and "McNemar" not in summary.verdict
    assert summary.accuracy_interval("student") == pytest.approx((0.8377, 0.8967), abs=1e-4)
    assert summary.verdict.startswith("Distillation paid"), summary.verdict
