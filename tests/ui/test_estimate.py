"""kdcore.ui.estimate: the run's time before Launch, from earlier runs' measured speeds or a labelled rough figure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kdcore.ui.estimate import (
    ROUGH_SAMPLES_PER_S,
    ArmSpeed,
    duration_text,
    measured_speeds,
    nearest_speed,
    run_time_estimate,
    training_reviews,
)

PLAN = [("teacher", 2), ("student", 3), ("scratch", 3)]
CONFIG = {"teacher": {"family": "ngram"}, "data": {"train_limit": 1000, "val_fraction": 0.2, "validate_on": "val"}}
PARAMS = {"teacher": 1_000_000, "student": 100_000}


def test_run_time_estimate__from_measured_speeds_of_the_same_family_and_size() -> None:
    # given an n-gram teacher measured at 400 samples/s and a recurrent student at 100, both near the planned sizes
    speeds = [ArmSpeed("ngram", 1_200_000, 400.0), ArmSpeed("recurrent", 90_000, 100.0)]
    # when the plan is estimated (800 training reviews after the validation split)
    estimate = run_time_estimate(PLAN, CONFIG, PARAMS, speeds)
    # then each arm is epochs x reviews / its speed, and the figure says it is measured
    assert estimate.seconds == pytest.approx(2 * 800 / 400 + 2 * 3 * 800 / 100), f"{estimate}"
    assert estimate.measured, "every arm had a measured speed"
    assert "from the speeds of earlier runs here" in estimate.text(), estimate.text()


def test_run_time_estimate__without_runs_is_a_rough_figure_labelled_as_such() -> None:
    estimate = run_time_estimate(PLAN, CONFIG, PARAMS, [])
    expected = 2 * 800 / ROUGH_SAMPLES_PER_S["ngram"] + 6 * 800 / ROUGH_SAMPLES_PER_S["recurrent"]
    assert estimate.seconds == pytest.approx(expected), f"{estimate}"
    assert not estimate.measured and "rough guess" in estimate.text(), estimate.text()


def test_run_time_estimate__a_reused_teacher_costs_nothing() -> None:
    estimate = run_time_estimate([("teacher", 0), ("student", 1)], CONFIG, PARAMS, [ArmSpeed("recurrent", 1e5, 80.0)])
    assert estimate.seconds == pytest.approx(800 / 80.0) and estimate.measured, f"{estimate}"


def test_nearest_speed__another_family_or_a_far_size_does_not_count() -> None:
    speeds = [ArmSpeed("conv", 1_000_000, 999.0), ArmSpeed("ngram", 50_000_000, 10.0), ArmSpeed("ngram", 2e6, 300.0),
              ArmSpeed("ngram", 1.1e6, 350.0)]
    assert nearest_speed("ngram", 1_000_000, speeds) == 350.0, "the same family's nearest size"
    assert nearest_speed("recurrent", 1_000_000, speeds) is None, "no recurrent model measured"
    assert nearest_speed("ngram", None, speeds) is None, "a model whose size is invalid has no estimate"


def test_measured_speeds__reads_finished_runs_and_skips_what_is_missing() -> None:
    runs = [SimpleNamespace(config={"teacher": {"family": "ngram"}},
                            summary={"arms": {"teacher": {"params": 10, "samples_per_s": 5.0},
                                              "student@1": {"params": 4, "samples_per_s": 7.0},
                                              "scratch": {"params": 4, "samples_per_s": None}}}),
            SimpleNamespace(config={}, summary=None)]
    assert measured_speeds(runs) == [ArmSpeed("ngram", 10, 5.0), ArmSpeed("recurrent", 4, 7.0)], \
        "the teacher's family from the config, every student recurrent, an arm without a speed skipped"


def test_training_reviews__the_split_and_the_test_protocol() -> None:
    assert training_reviews({"data": {}}) == 25_000, "no limit: all of IMDB's training split"
    assert training_reviews({"data": {"train_limit": 1000, "val_fraction": 0.1, "validate_on": "test"}}) == 1000, \
        "validating on the test set holds nothing out"
    assert training_reviews({"data": {"train_limit": 1000, "val_fraction": 0.1}}) == 900, "10% held out"


@pytest.mark.parametrize(("seconds", "text"), [(12.4, "12 s"), (0.2, "1 s"), (150, "2 min"), (4000, "1 h 7 min")])
def test_duration_text__as_precise_as_an_estimate(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text, f"{seconds} s shown as {duration_text(seconds)!r}"
