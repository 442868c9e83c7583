"""The per-class fields of the results contract: they round-trip, old summaries still read, comparisons use them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kdcore.results import ArmResult, ClassScore, DataCounts, RunSummary
from kdcore.results.classes import class_report
from kdcore.results.summary import summarise_run
from kdcore.results.verdict import RunEvidence

NAMES = ("negative", "neutral", "positive")


def arm(accuracy: float, labels: list[int], predicted: list[int]) -> dict[str, Any]:
    """An arm as the engine stores it in its state: the scalar figures and the per-class report, as JSON."""
    report = class_report(labels, predicted, NAMES)
    stored = ArmResult(test_accuracy=accuracy, test_loss=0.5, params=1000, macro_f1=report.macro_f1,
                       per_class=report.per_class, confusion=report.confusion).to_dict()
    return json.loads(json.dumps(stored))


LABELS = [0] * 6 + [1] * 2 + [2] * 4


def three_class_arms() -> dict[str, dict[str, Any]]:
    return {"teacher": arm(0.9, LABELS, [0] * 6 + [1, 1] + [2, 2, 2, 0]),
            "student": arm(0.8, LABELS, [0] * 6 + [1, 0] + [2, 2, 2, 0]),
            "scratch": arm(0.7, LABELS, [0] * 6 + [0, 0] + [2, 2, 2, 0])}


def build(arms: dict[str, dict[str, Any]], **evidence: Any) -> RunSummary:
    return summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                         scratch_reused=[], data=DataCounts(test=12), compression=2.0,
                         evidence=RunEvidence(**evidence))


def test_arm_result__per_class_fields_round_trip_through_json() -> None:
    # given an arm with its per-class figures, as the engine stores it
    stored = three_class_arms()["student"]
    # when it is read and written back
    result = ArmResult.from_dict(stored)
    # then the figures are typed and nothing is lost
    assert result.per_class is not None and result.per_class[1] == ClassScore("neutral", 1.0, 0.5, pytest.approx(2 / 3),
                                                                              2)
    assert result.confusion == ((6, 0, 0), (1, 1, 0), (1, 0, 3)), "rows true, columns predicted"
    assert result.macro_f1 == pytest.approx(stored["macro_f1"])
    assert result.to_dict() == stored, "the stored layout, exactly"


def test_arm_result__an_older_arm_has_no_class_fields_and_writes_none() -> None:
    # given an arm stored before the per-class figures existed
    old = {"test_accuracy": 0.84, "test_loss": 0.4, "params": 10}
    # when it is read, then they are unknown, and writing it back adds no keys
    result = ArmResult.from_dict(old)
    assert (result.macro_f1, result.per_class, result.confusion, result.macro_f1_gain) == (None, None, None, None)
    written = result.to_dict(student=True)
    assert not {"macro_f1", "macro_f1_gain", "per_class", "confusion"} & set(written), f"{written}"


@pytest.mark.parametrize("damaged", [
    {"per_class": [{"name": "a", "precision": "high", "recall": 1, "f1": 1, "support": 2}]},
    {"per_class": "all good"},
    {"confusion": [[1, 2], [3]]},
    {"confusion": [[1, 2], [3, "4"]]},
    {"confusion": 7},
])
def test_arm_result__damaged_class_fields_read_as_unknown(damaged: dict[str, Any]) -> None:
    result = ArmResult.from_dict({"test_accuracy": 0.5, **damaged})
    assert result.per_class is None and result.confusion is None, f"{damaged} is not half-read"
    assert result.test_accuracy == 0.5, "the rest of the arm still reads"


def test_summarise_run__class_names_macro_f1_gain_and_seed_statistics() -> None:
    # given a three-class run whose arms stored their per-class figures
    arms = three_class_arms()
    # when the summary is built with the data's class names, stored and read back
    built = build(arms, class_names=NAMES)
    stored = json.loads(json.dumps(built.to_dict()))
    summary = RunSummary.from_dict(stored)
    # then the class names are kept, the student carries its macro-F1 gap and the seeds their macro-F1 statistics
    assert summary.class_names == NAMES and stored["class_names"] == list(NAMES)
    student, scratch = summary.arm("student"), summary.arm("scratch")
    assert student.macro_f1 is not None and scratch.macro_f1 is not None
    assert student.macro_f1_gain == pytest.approx(student.macro_f1 - scratch.macro_f1), "student minus its twin"
    assert "macro_f1_gain" not in stored["arms"]["scratch"], "students only"
    seeds = summary.seeds
    assert seeds.macro_f1_gain is not None and seeds.macro_f1_gain.values == pytest.approx((student.macro_f1_gain,))
    assert seeds.student_macro_f1 is not None and seeds.student_macro_f1.mean == pytest.approx(student.macro_f1)
    assert summary.to_dict() == stored, "the new fields round-trip"
    assert summary.test_class_counts() == (6, 2, 4) and summary.imbalanced, "2 rows against 6: imbalanced"


def test_summarise_run__no_macro_f1_statistics_when_an_arm_lacks_it() -> None:
    # given a run whose scratch arm was stored before macro-F1 existed (a cached baseline of an older version)
    arms = three_class_arms()
    arms["scratch"] = {"test_accuracy": 0.7}
    summary = build(arms)
    # then no macro-F1 gap is made up, and the student's own macro-F1 statistics remain
    assert summary.arm("student").macro_f1_gain is None, "no twin to compare with"
    assert summary.seeds.macro_f1_gain is None and summary.seeds.scratch_macro_f1 is None
    assert summary.seeds.student_macro_f1 is not None
    assert "macro_f1_gain" not in summary.to_dict()["seeds"], "absent, not null"


def test_run_summary__an_older_summary_has_imdbs_two_classes() -> None:
    # given a summary stored before class names and per-class figures existed
    summary = RunSummary.from_dict({"arms": {"teacher": {"test_accuracy": 0.86}}})
    # then its classes are IMDB's, none is known per class, and nothing new is written back
    assert summary.class_names == () and summary.classes() == ("negative", "positive")
    assert summary.test_class_counts() is None and summary.imbalanced is False
    assert "class_names" not in summary.to_dict(), "an old summary writes back as it was"


def test_run_summary__classes_come_from_the_arms_when_not_stored() -> None:
    summary = RunSummary.from_dict({"arms": three_class_arms()})
    assert summary.classes() == NAMES, "the names each per-class entry carries"


def test_summarise_run__still_refuses_an_undeclared_field() -> None:
    arms = three_class_arms()
    arms["teacher"]["per_class_secret"] = 1
    with pytest.raises(TypeError, match="per_class_secret"):
        build(arms)
