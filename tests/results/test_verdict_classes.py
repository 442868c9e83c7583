"""The verdict with K classes: chance is 1/K, and on imbalanced classes it names macro-F1 beside accuracy."""

from __future__ import annotations

import json
from typing import Any

from kdcore.results import ArmResult, DataCounts, RunSummary
from kdcore.results.classes import class_report
from kdcore.results.summary import summarise_run
from kdcore.results.verdict import RunEvidence

NAMES = ("negative", "neutral", "positive")


def arm(labels: list[int], predicted: list[int], names: tuple[str, ...] = NAMES) -> dict[str, Any]:
    """An arm's stored result from its test predictions (accuracy and per-class figures agree)."""
    report = class_report(labels, predicted, names)
    accuracy = sum(a == b for a, b in zip(labels, predicted)) / len(labels)
    return json.loads(json.dumps(ArmResult(test_accuracy=accuracy, macro_f1=report.macro_f1,
                                           per_class=report.per_class, confusion=report.confusion).to_dict()))


def run(labels: list[int], teacher: list[int], student: list[int], scratch: list[int],
        class_names: tuple[str, ...] = NAMES) -> RunSummary:
    arms = {"teacher": arm(labels, teacher, class_names), "student": arm(labels, student, class_names),
            "scratch": arm(labels, scratch, class_names)}
    return summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                         scratch_reused=[], data=DataCounts(test=len(labels)), compression=2.0,
                         evidence=RunEvidence(class_names=class_names))


def test_verdict__imbalanced_classes_name_macro_f1_and_its_gap() -> None:
    # given 100 test rows: 70 negative, 20 neutral, 10 positive; the distilled student finds the rare classes,
    # the scratch student answers "negative" to almost everything
    labels = [0] * 70 + [1] * 20 + [2] * 10
    teacher = labels
    student = [0] * 70 + [1] * 15 + [0] * 5 + [2] * 6 + [0] * 4
    scratch = [0] * 70 + [1] * 4 + [0] * 16 + [2] * 2 + [0] * 8
    summary = run(labels, teacher, student, scratch)
    text = summary.verdict
    # then the verdict says the classes are imbalanced and gives both students' macro-F1 and the gap
    assert "The classes are imbalanced on the test set (the smallest, 'positive', has 10 rows; the largest, " \
           "'negative', 70)" in text, text
    student_f1, scratch_f1 = summary.arm("student").macro_f1, summary.arm("scratch").macro_f1
    assert student_f1 is not None and scratch_f1 is not None and student_f1 > scratch_f1
    assert (f"Macro-F1: {student_f1:.1%} for the distilled student against {scratch_f1:.1%} for the scratch student "
            f"({(student_f1 - scratch_f1) * 100:+.2f} points), 100.0% for the teacher.") in text, text
    assert "disagree" not in text, "both figures favour the distilled student"


def test_verdict__balanced_classes_say_nothing_of_macro_f1() -> None:
    # given 30 rows of each class
    labels = [0] * 30 + [1] * 30 + [2] * 30
    student = [0] * 30 + [1] * 25 + [0] * 5 + [2] * 30
    scratch = [0] * 30 + [1] * 20 + [0] * 10 + [2] * 30
    summary = run(labels, labels, student, scratch)
    # then accuracy says it all: no macro-F1 sentence
    assert "Macro-F1" not in summary.verdict and "imbalanced" not in summary.verdict, summary.verdict
    assert summary.imbalanced is False


def test_verdict__accuracy_and_macro_f1_disagreeing_is_said() -> None:
    # given 80 negative and 20 positive rows (two classes): the distilled student is right more often by always
    # answering negative, the scratch student finds positives at the cost of some negatives
    labels = [0] * 80 + [1] * 20
    student = [0] * 100
    scratch = [0] * 60 + [1] * 20 + [1] * 18 + [0] * 2
    summary = run(labels, labels, student, scratch, class_names=("negative", "positive"))
    text = summary.verdict
    # then accuracy favours the student, macro-F1 the scratch twin, and the verdict says which to trust
    assert summary.arm("student").test_accuracy > summary.arm("scratch").test_accuracy
    assert (summary.arm("student").macro_f1_gain or 0.0) < 0
    assert "Accuracy and macro-F1 disagree on which student is better: if every class matters alike, judge by " \
           "macro-F1." in text, text


def test_verdict__chance_with_three_classes_is_a_third() -> None:
    # given three balanced classes and a teacher at 45 % on 300 rows (chance is 33 %, not 50 %)
    labels = [0] * 100 + [1] * 100 + [2] * 100
    teacher = [0] * 100 + [1] * 35 + [0] * 65 + [0] * 100
    summary = run(labels, teacher, labels, labels)
    # then the teacher is not called at chance, which a binary 50 % floor would have said
    assert "chance" not in summary.verdict, summary.verdict


def test_verdict__three_classes_at_chance_name_a_third() -> None:
    labels = [0] * 100 + [1] * 100 + [2] * 100
    teacher = [0] * 300
    summary = run(labels, teacher, labels, labels)
    assert "The teacher (33.3%" in summary.verdict and "at or below chance (33%)" in summary.verdict, summary.verdict
