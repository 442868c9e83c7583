"""The typed results contract: the engine's summary layout round-trips, older summaries still read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kdcore.results import ArmResult, DataCounts, RunSummary
from kdcore.results.paired import wilson_interval
from kdcore.results.summary import add_comparisons, compare_arms, summarise_run, verdict
from kdcore.results.verdict import RunEvidence


def engine_arm(accuracy: float, *, saved: bool = True, best_epoch: int = 2) -> dict[str, Any]:
    """One arm as the engine's ``finish_arm`` stores it (best_epoch 1-based)."""
    return {"test_accuracy": accuracy, "test_loss": 1 - accuracy, "params": 1_320_000,
            "file_bytes": 15_000_000 if saved else None, "train_seconds": 30.5, "samples_per_s": 650.0,
            "best_epoch": best_epoch, "epochs_trained": 2, "stopped_early": False, "val_accuracy": accuracy - 0.01,
            "val_loss": 0.4, "train_accuracy": accuracy + 0.05}


def engine_arms() -> dict[str, dict[str, Any]]:
    return {"teacher": engine_arm(0.86), "student": engine_arm(0.84, best_epoch=1), "scratch": engine_arm(0.82),
            "student@1": engine_arm(0.845, saved=False), "scratch@1": engine_arm(0.83, saved=False)}


def engine_summary(arms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The summary as ``run_experiment`` assembles it from the three calls into kdcore.results.summary."""
    add_comparisons(arms)
    seeds = compare_arms(arms)
    return {"device": "CPU (2 cores)", "total_seconds": 123.4, "teacher_reused": False, "teacher_source": "trained",
            "teacher_key": "t-abc", "scratch_reused": ["scratch@1"],
            "data": {"train": 900, "val": 100, "test": 500, "validate_on": "train", "source": "imdb.npz"},
            "compression": 2.16, "bytes_ratio": 1.0, "arms": arms, "seeds": seeds, "verdict": verdict(arms, seeds)}


def test_run_summary__the_engine_layout_round_trips() -> None:
    # given a summary in the layout the engine writes to summary.json
    stored = json.loads(json.dumps(engine_summary(engine_arms())))
    # when it is read into the contract and written back
    summary = RunSummary.from_dict(stored)
    # then nothing is lost or added: old and new runs share one file format
    assert summary.to_dict() == stored, "to_dict must write exactly the layout from_dict read"
    assert json.loads(json.dumps(summary.to_dict())) == stored, "and it is JSON as it stands"
    assert summary.arm("student").best_epoch == 1 and summary.arm("teacher").best_epoch == 2, "1-based, as stored"
    assert "gain_over_scratch" not in summary.to_dict()["arms"]["teacher"], "only students carry comparisons"


def test_summarise_run__builds_what_the_engine_assembles() -> None:
    # given the arms of a run
    arms = engine_arms()
    # when the whole summary is built in one call
    built = summarise_run(arms, device="CPU (2 cores)", total_seconds=123.4, teacher_source="trained",
                          teacher_key="t-abc", scratch_reused=["scratch@1"],
                          data=DataCounts(train=900, val=100, test=500, validate_on="train", source="imdb.npz"),
                          compression=2.16)
    # then it is the summary the three separate calls give, and the arms passed in are left alone
    assert "gain_over_scratch" not in arms["student"], "summarise_run must not change its input"
    assert built.to_dict() == engine_summary(engine_arms()), "one builder, the same summary.json"
    assert built.seeds.gain is not None and built.seeds.gain.values == pytest.approx((0.02, 0.015))


def test_summarise_run__the_parameters_ratio_and_the_bytes_ratio_are_told_apart() -> None:
    # given a teacher with 4x the student's parameters whose deployable file is 3x the student's
    arms = {"teacher": {**engine_arm(0.86), "params": 4_000, "file_bytes": 30_000},
            "student": {**engine_arm(0.84), "params": 1_000, "file_bytes": 10_000}, "scratch": engine_arm(0.82)}
    # when the summary is built with the config's parameters ratio
    built = summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                          scratch_reused=[], data=DataCounts(), compression=4.0)
    # then both ratios are kept, each under its own name, and an old summary has no bytes ratio to show
    assert built.compression == 4.0, "compression stays the parameters ratio"
    assert built.bytes_ratio == pytest.approx(3.0), "bytes_ratio is teacher.keras bytes over student.keras bytes"
    assert built.to_dict()["bytes_ratio"] == pytest.approx(3.0), "and summary.json stores it"
    assert RunSummary.from_dict({"compression": 4.0}).bytes_ratio is None, "not guessed for an older summary"


def test_summarise_run__no_bytes_ratio_without_both_files() -> None:
    # given a run whose student was not saved (an extra seed only) or a teacher-only run
    arms = {"teacher": engine_arm(0.86), "student": engine_arm(0.84, saved=False)}
    # when the summary is built, then there is no bytes ratio rather than a made-up one
    built = summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                          scratch_reused=[], data=DataCounts(), compression=2.0)
    assert built.bytes_ratio is None, "a ratio needs both deployable files"


def test_summarise_run__refuses_a_field_the_contract_does_not_declare() -> None:
    # given an arm result with a figure nobody documented
    arms = {"teacher": {**engine_arm(0.86), "secret_sauce": 1.0}}
    # when the summary is built, then it is refused: readers would not know what it means
    with pytest.raises(TypeError, match="secret_sauce"):
        summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                      scratch_reused=[], data=DataCounts(), compression=2.0)


@pytest.mark.parametrize(("source", "reused"), [("trained", False), ("resumed", False), ("cache t-abc", True),
                                                ("run r1", True)])
def test_summarise_run__a_teacher_from_elsewhere_is_reused(source: str, reused: bool) -> None:
    built = summarise_run({"teacher": engine_arm(0.86)}, device="CPU", total_seconds=1.0, teacher_source=source,
                          teacher_key="k", scratch_reused=[], data=DataCounts(), compression=2.0)
    assert built.teacher_reused is reused, f"teacher_source {source!r}"
    assert built.verdict.startswith("Teacher only:"), built.verdict


def test_run_summary__an_older_summary_reads_with_its_gaps_filled() -> None:
    # given a summary stored before scratch_reused, the gain's interval and the students' shares existed
    old = engine_summary(engine_arms())
    del old["scratch_reused"], old["seeds"]["gain"]["ci95"]
    for arm in old["arms"].values():
        arm.pop("teacher_share", None)
        del arm["stopped_early"]
    # when it is read
    summary = RunSummary.from_dict(old)
    # then each missing field has its documented "unknown" value, and the rest is as stored
    assert summary.scratch_reused == (), "no scratch arm was known to be reused"
    assert summary.seeds.gain is not None and summary.seeds.gain.ci95 is None, "no interval stored"
    assert summary.seeds.gain.exceeds_spread is old["seeds"]["gain"]["exceeds_spread"]
    assert summary.arm("student").stopped_early is None and summary.arm("student").test_accuracy == 0.84
    assert summary.share_of_teacher("student") == pytest.approx(0.84 / 0.86), "the share computed when not stored"
    assert summary.share_of_teacher("scratch") == pytest.approx(0.82 / 0.86), "scratch arms never store one"
    assert summary.share_of_teacher("teacher") is None, "the teacher is not compared with itself"


@pytest.mark.parametrize("stored", [None, {}, "not a summary", {"arms": None, "seeds": [], "data": 3}])
def test_run_summary__missing_or_damaged_reads_as_empty(stored: Any) -> None:
    summary = RunSummary.from_dict(stored)
    assert summary.arms == {} and summary.arm_names() == [], "no arms"
    assert summary.arm("student") == ArmResult(), "an absent arm reads as all-unknown, shown as dashes"
    assert summary.seeds.student.mean is None and summary.seeds.gain is None, "no seed statistics"
    assert (summary.verdict, summary.total_seconds, summary.teacher_reused) == ("", None, False)


def test_arm_result__unreadable_fields_are_unknown_not_errors() -> None:
    arm = ArmResult.from_dict({"test_accuracy": "84%", "params": True, "best_epoch": 2.0, "stopped_early": 1})
    assert (arm.test_accuracy, arm.params, arm.best_epoch, arm.stopped_early) == (None, None, 2, None)


def test_run_summary__is_frozen() -> None:
    summary = RunSummary.from_dict(engine_summary(engine_arms()))
    with pytest.raises(AttributeError):
        summary.verdict = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        summary.arms["student"] = ArmResult()  # type: ignore[index]


def test_run_summary__paired_statistics_round_trip_and_stay_students_only() -> None:
    # given a run whose arms kept their per-review test answers (4 reviews; the student got one more right)
    arms = {"teacher": engine_arm(0.75), "student": engine_arm(0.75), "scratch": engine_arm(0.5)}
    evidence = RunEvidence(test_correct={"teacher": [True, True, True, False], "student": [True, True, True, False],
                                         "scratch": [True, False, True, False]})
    # when the summary is built, stored and read back
    built = summarise_run(arms, device="CPU", total_seconds=1.0, teacher_source="trained", teacher_key="k",
                          scratch_reused=[], data=DataCounts(test=4), compression=2.0, evidence=evidence)
    stored = json.loads(json.dumps(built.to_dict()))
    summary = RunSummary.from_dict(stored)
    # then the student carries its paired test, every arm its accuracy interval, and nothing is lost
    student = summary.arm("student")
    assert (student.only_student_right, student.only_scratch_right, student.gain_p_value) == (1, 0, 1.0)
    assert student.gain_low is not None and student.gain_high is not None
    assert student.gain_low < 0.25 < student.gain_high, "one review in four: an interval wide around +25 points"
    assert summary.accuracy_interval("teacher") == pytest.approx(wilson_interval(3, 4)), "from the answers"
    assert "gain_low" not in stored["arms"]["teacher"] and "only_student_right" not in stored["arms"]["scratch"]
    assert summary.to_dict() == stored, "the new fields round-trip"
    # and a summary stored before them reads, its interval computed from the accuracy and the test count
    old = {**stored, "arms": {"student": {"test_accuracy": 0.75}}}
    assert RunSummary.from_dict(old).arm("student").gain_low is None
    assert RunSummary.from_dict(old).accuracy_interval("student") == pytest.approx(wilson_interval(3, 4))
