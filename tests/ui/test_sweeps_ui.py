"""What the Sweeps page computes: the base from a run, the grid from its rows, the plan's counts and time,
the results table and CSV, and the frontier and heatmap figures."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd
import pytest

from kdcore.config import RunConfig, apply_overrides, config_from_dict
from kdcore.results.sweep_results import SweepRow, frontier, heatmap
from kdcore.ui import charts
from kdcore.ui.estimate import ArmSpeed
from kdcore.ui.sweep_tables import result_formats, results_csv, results_frame, status_counts
from kdcore.ui.sweeps import EMPTY_BASE, base_fields, base_text, grid_from_rows, plan_sweep, sweep_spec

TINY = {"teacher": "tiny", "student": "tiny", "data": {"vocab_size": 500, "train_limit": 1000},
        "train": {"epochs": 2}}


def test_base_fields__validate_back_to_the_run_they_came_from() -> None:
    # given a run with an n-gram teacher, a narrower student and another alpha
    config = apply_overrides(RunConfig(name="mine"), ["teacher=tiny-ngram", "student.lstm_units=8",
                                                      "distill.alpha=0.3", "data.train_limit=500"])

    # when its base fields are taken
    fields = base_fields(config.model_dump(mode="json"))

    # then they are few, keep whole model sections, and validate back to the same settings
    assert set(fields) == {"teacher", "student", "distill", "data"}, f"only the changed sections: {fields}"
    assert fields["distill"] == {"alpha": 0.3}, "a changed leaf alone"
    assert fields["student"]["gru_units"] == config.student.gru_units, "a changed width brings its whole model"
    back = config_from_dict(fields).model_copy(update={"name": "mine"})
    assert back == config, "the base is the run's config"


def test_base_text__defaults_read_as_a_comment() -> None:
    assert base_text(None) == EMPTY_BASE and base_text(RunConfig().model_dump(mode="json")) == EMPTY_BASE, \
        "nothing changed: the explained empty base"


def test_grid_from_rows__skips_empty_rows_and_names_a_field_without_values() -> None:
    grid, problems = grid_from_rows([("distill.alpha", "0.1, 0.5"), ("", "3"), ("train.seed", " ")])
    assert grid == {"distill.alpha": [0.1, 0.5]}, "values parsed as YAML scalars; a row without field skipped"
    assert problems == ["grid.train.seed: give at least one value, comma-separated (e.g. 0, 1, 2)"], problems


def test_grid_from_rows__a_field_given_twice_is_refused() -> None:
    _, problems = grid_from_rows([("distill.alpha", "0.1"), ("distill.alpha", "0.5")])
    assert problems and "distill.alpha" in problems[0] and "twice" in problems[0], problems


def test_plan_sweep__counts_shared_teacher_and_scratch_students_once() -> None:
    # given 2 student widths x 3 alphas over a tiny base
    spec = sweep_spec("sizes", TINY, {"student.lstm_units": [4, 8], "distill.alpha": [0.1, 0.5, 0.9]})

    # when it is planned
    plan = plan_sweep(spec, [])

    # then 6 runs train one teacher, one scratch student per width and six distilled students
    assert (plan.runs, plan.teachers, plan.scratch) == (6, 1, 2), f"{plan.runs}, {plan.teachers}, {plan.scratch}"
    assert plan.summary_text() == "6 runs: 1 teacher, 2 scratch students and 6 distilled students are trained"


def test_plan_sweep__estimates_each_shared_arm_once_from_measured_speeds() -> None:
    # given measured speeds for both tiny models: every arm takes 900 reviews (1000 less the 10 % validation
    # split) x 2 epochs / 100 per s = 18 s
    config = config_from_dict(TINY)
    speeds = [ArmSpeed("recurrent", config.teacher_params(), 100.0),
              ArmSpeed("recurrent", config.student_params(), 100.0)]
    spec = sweep_spec("alpha", TINY, {"distill.alpha": [0.1, 0.5, 0.9]})

    # when the sweep over 3 alphas is planned
    estimate = plan_sweep(spec, speeds).estimate

    # then it counts 1 teacher + 3 students + 1 scratch, all measured
    assert estimate.planned_arms == 5 and estimate.measured, f"5 arms, timed from earlier runs: {estimate}"
    assert estimate.seconds == pytest.approx(5 * 18.0), "each arm's epochs x reviews / speed"


@dataclass(frozen=True)
class Run:
    id: str
    status: str
    finished: bool = False
    point: dict = field(default_factory=dict)


def test_status_counts__every_status_counted() -> None:
    counts = status_counts([Run("a", "queued"), Run("b", "queued"), Run("c", "succeeded", True)])
    assert counts["queued"] == 2 and counts["succeeded"] == 1 and counts["failed"] == 0, counts


def rows() -> list[SweepRow]:
    return [SweepRow("r1", "n1", "succeeded", {"distill.alpha": 0.1, "distill.temperature": 2}, student_params=4000,
                     teacher_params=40_000, teacher_accuracy=0.9, student_accuracy=0.85, scratch_accuracy=0.8,
                     gain=0.05, student_latency_ms=1.0),
            SweepRow("r2", "n2", "succeeded", {"distill.alpha": 0.5, "distill.temperature": 2}, student_params=8000,
                     teacher_accuracy=0.9, student_accuracy=0.80, scratch_accuracy=0.79, gain=0.01, pruned=True),
            SweepRow("r3", "n3", "queued", {"distill.alpha": 0.5, "distill.temperature": 5})]


def test_results_frame__numbers_in_percent_and_points_point_columns_by_short_name() -> None:
    frame = results_frame(rows())
    assert list(frame.columns[:4]) == ["Run", "Status", "alpha", "temperature"], "the point's varying keys first"
    assert frame.loc[0, "Student acc"] == pytest.approx(85.0) and frame.loc[0, "Gain (pts)"] == pytest.approx(5.0), \
        "percent and points"
    assert pd.isna(frame.loc[2, "Student acc"]), "a queued run's figure is missing, not 0"
    assert frame["Student acc"].dtype.kind == "f", "numbers sort as numbers"


def test_results_csv__keeps_fractions_and_the_point() -> None:
    back = pd.read_csv(io.BytesIO(results_csv(rows())))
    assert list(back["distill.alpha"]) == [0.1, 0.5, 0.5], "a column per grid key"
    assert back.loc[0, "student_accuracy"] == pytest.approx(0.85), "fractions, as the contract stores them"
    assert list(back["pruned"]) == [False, True, False], "stopped runs are marked"


def test_frontier_figure__two_series_pareto_marks_the_teacher_line_and_a_log_axis() -> None:
    fig = charts.frontier_figure(frontier(rows(), "params"))
    kinds = {(t.meta["series"], t.meta["kind"]) for t in fig.data}
    assert {("student", "points"), ("student", "stopped"), ("scratch", "points")} <= kinds, kinds
    points = next(t for t in fig.data if t.meta == {**t.meta, "series": "student", "kind": "points"})
    assert points.meta["pareto"] == [True], "the finished distilled student is Pareto"
    assert fig.layout.xaxis.type == "log", "sizes on a log axis"
    assert any(shape.y0 == pytest.approx(0.9) for shape in fig.layout.shapes), "the teacher as a horizontal line"


def test_frontier_figure__empty_says_why() -> None:
    fig = charts.frontier_figure(frontier(rows()[2:], "params"))
    assert not fig.data and "No finished run" in fig.layout.annotations[0].text, "an explained empty chart"


def test_heatmap_figure__cells_written_with_dashes_where_nothing_finished() -> None:
    fig = charts.heatmap_figure(heatmap(rows(), value="gain"), "Gain")
    (trace,) = fig.data
    assert list(trace.text[0]) == ["+5.0", "–"], f"alpha 0.1: T 2 finished, T 5 has no run: {trace.text}"
    assert list(trace.text[1]) == ["–", "–"], "alpha 0.5: one stopped and one queued run, no mean"


def test_result_formats__grid_numbers_are_written_as_given() -> None:
    formats = result_formats(results_frame(rows()))
    assert formats["alpha"] == "{:g}" and formats["temperature"] == "{:g}", "0.1, not 0.100000"
    assert formats["Student acc"] == "{:.1f}%", "the figures keep their formats"


def test_plan_sweep__a_registered_dataset_estimates_from_its_training_rows() -> None:
    # given a base on a registered dataset without a train limit, and that dataset's 2,000 training rows
    dataset = "0123456789abcdef"
    base = {**TINY, "data": {"dataset": dataset, "vocab_size": 500}}
    spec = sweep_spec("own data", base, {"distill.alpha": [0.1]})

    # when it is planned with and without knowing the dataset's size
    known = plan_sweep(spec, [], {dataset: 2_000}).estimate.seconds
    unknown = plan_sweep(spec, [], {}).estimate.seconds

    # then its rows, not IMDB's 25,000, make the estimate
    assert known == pytest.approx(unknown * 2_000 / 25_000), f"{known} against {unknown}"
