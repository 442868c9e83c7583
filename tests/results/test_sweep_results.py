"""A sweep's results against a hand-built sweep: rows, Pareto marks, heatmap cells, every answer case."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from kdcore.results.sweep_answer import NO_RESULT, answer, best_teacher, teacher_scores
from kdcore.results.sweep_results import SweepRow, frontier, heatmap, pareto_flags, sweep_rows, varying_keys

TEACHER_PARAMS = 1_000_000


@dataclass(frozen=True)
class FakeRun:
    """What the results read of a RunRecord."""

    id: str
    status: str = "succeeded"
    point: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    summary: dict | None = None
    name: str = ""


def summary(student: float, scratch: float, params: int, *, teacher: float = 0.90, pruned: bool = False,
            latency: tuple[float, float, float] | None = None, interval: bool = True) -> dict[str, Any]:
    """A run's summary as the engine writes it (fractions), with the compression report's latency if given."""
    gain = student - scratch
    out: dict[str, Any] = {"arms": {
        "teacher": {"test_accuracy": teacher, "params": TEACHER_PARAMS},
        "student": {"test_accuracy": student, "params": params, "gain_over_scratch": gain, "epochs_trained": 3,
                    "pruned": pruned or None,
                    **({"gain_low": gain - 0.01, "gain_high": gain + 0.01} if interval else {})},
        "scratch": {"test_accuracy": scratch, "params": params, "epochs_trained": 3}}}
    if latency is not None:
        out["deployment"] = {"latency": {arm: {"batch1_median_ms": ms, "batch1_p95_ms": ms * 1.2}
                                         for arm, ms in zip(("teacher", "student", "scratch"), latency)}}
    return out


def size_sweep() -> list[FakeRun]:
    """Four student sizes: the 20k one is dominated by the 10k one; 40k was stopped; 80k is still running."""
    return [
        FakeRun("r10k", point={"student.lstm_units": 8}, summary=summary(0.86, 0.85, 10_000, latency=(8, 1, 1))),
        FakeRun("r20k", point={"student.lstm_units": 16}, summary=summary(0.85, 0.84, 20_000)),
        FakeRun("r40k", point={"student.lstm_units": 32}, summary=summary(0.95, 0.86, 40_000, pruned=True)),
        FakeRun("r160k", point={"student.lstm_units": 128},
                summary=summary(0.895, 0.87, 160_000, latency=(8, 2, 2))),
        FakeRun("r80k", status="running", point={"student.lstm_units": 64}),
    ]


def test_sweep_rows__read_every_figure_and_leave_missing_ones_none() -> None:
    # given a finished run with a latency report and a conv student, and a queued one
    runs = [FakeRun("a", point={"distill.alpha": 0.1}, config={"student": {"family": "conv"}},
                    summary=summary(0.86, 0.84, 10_000, latency=(9.0, 1.5, 1.4))),
            FakeRun("b", status="queued", point={"distill.alpha": 0.5})]

    # when they become rows
    done, queued = sweep_rows(runs)

    # then every figure is read, in the contract's units, and the queued run's are None
    assert (done.student_family, done.teacher_family) == ("conv", "recurrent"), "a missing family is recurrent"
    assert (done.student_params, done.teacher_params) == (10_000, TEACHER_PARAMS), "sizes from the arms"
    assert done.gain == pytest.approx(0.02) and done.gain_low == pytest.approx(0.01), "gain and interval, fractions"
    assert (done.teacher_latency_ms, done.student_latency_ms, done.scratch_latency_ms) == (9.0, 1.5, 1.4), \
        "batch-1 median latency per arm"
    assert queued.student_accuracy is None and queued.student_latency_ms is None and not queued.pruned, \
        "an unfinished run has no figures"
    assert done.epochs_trained == 3 and done.point == {"distill.alpha": 0.1}, "epochs and point"


def test_sweep_rows__a_summary_without_deployment_has_no_latency() -> None:
    # given a run finished before the compression report existed
    (row,) = sweep_rows([FakeRun("old", summary=summary(0.8, 0.79, 5_000))])

    # then its latencies are unknown, not zero
    assert row.student_latency_ms is None and row.teacher_latency_ms is None, "no report: no latency"


def test_varying_keys__only_keys_whose_values_differ() -> None:
    rows = sweep_rows([FakeRun("a", point={"distill.alpha": 0.1, "train.seed": 0}),
                       FakeRun("b", point={"distill.alpha": 0.5, "train.seed": 0})])
    assert varying_keys(rows) == ["distill.alpha"], "a key with one value is no axis"


def test_pareto_flags__dominated_points_are_not_marked() -> None:
    flags = pareto_flags([(1.0, 0.8), (2.0, 0.7), (2.0, 0.9), (3.0, 0.9)])
    assert flags == [True, False, True, False], "dominated, or tied at a larger size: not marked"


def test_frontier__marks_pareto_points_and_never_a_pruned_or_unfinished_one() -> None:
    # given the size sweep
    rows = sweep_rows(size_sweep())

    # when its frontier over parameters is drawn
    result = frontier(rows, "params")

    # then the distilled series holds the finished and the stopped runs, the running one not at all
    distilled = {p.run_id: p for p in result.series("student")}
    assert set(distilled) == {"r10k", "r20k", "r40k", "r160k"}, "a running run has no point"
    assert distilled["r10k"].pareto and distilled["r160k"].pareto, "the smallest and the most accurate finished"
    assert not distilled["r20k"].pareto, "larger and less accurate than the 10k student"
    assert distilled["r40k"].pruned and not distilled["r40k"].pareto, "a stopped point is drawn, never Pareto"
    scratch = {p.run_id: p.pareto for p in result.series("scratch")}
    assert scratch == {"r10k": True, "r20k": False, "r40k": True, "r160k": True}, \
        "the scratch series has its own frontier (its twins were not stopped)"
    assert result.teacher_accuracy == pytest.approx(0.90), "the teacher's line"
    assert distilled["r10k"].x == 10_000, "x is the parameter count"


def test_frontier__over_latency_leaves_out_unmeasured_runs() -> None:
    result = frontier(sweep_rows(size_sweep()), "latency")
    assert {p.run_id: p.x for p in result.series("student")} == {"r10k": 1.0, "r160k": 2.0}, \
        "only runs with a compression report have a latency"
    assert all(p.pareto for p in result.series("student")), "faster-and-worse and slower-and-better both count"


def alpha_t_sweep() -> list[FakeRun]:
    """alpha 0.1, 0.5 x T 2, 5 x seeds 0, 1; (0.5, 5) failed for both seeds, one (0.5, 2) run was stopped."""
    accuracies = {(0.1, 2): (0.80, 0.82), (0.1, 5): (0.84, 0.86), (0.5, 2): (0.70, 0.99), (0.5, 5): (None, None)}
    runs = []
    for (alpha, t), per_seed in accuracies.items():
        for seed, accuracy in enumerate(per_seed):
            point = {"distill.alpha": alpha, "distill.temperature": t, "train.seed": seed}
            run_id = f"a{alpha}-t{t}-s{seed}"
            if accuracy is None:
                runs.append(FakeRun(run_id, status="failed", point=point))
            else:
                runs.append(FakeRun(run_id, point=point, summary=summary(accuracy, 0.80, 10_000,
                                                                         pruned=accuracy == 0.99)))
    return runs


def test_heatmap__means_over_seeds_with_none_where_nothing_finished() -> None:
    # given the alpha x T sweep with two seeds per cell
    rows = sweep_rows(alpha_t_sweep())

    # when the student-accuracy heatmap is made
    student = heatmap(rows, x="distill.temperature", y="distill.alpha", value="student")

    # then each cell is the mean over seeds of the runs that finished and were not stopped
    assert student.x_values == (2, 5) and student.y_values == (0.1, 0.5), "axes sorted by value"
    assert student.cells[0][0] == pytest.approx(0.81) and student.cells[0][1] == pytest.approx(0.85), \
        "alpha 0.1: the mean of the two seeds"
    assert student.cells[1][0] == pytest.approx(0.70), "the stopped run is left out of the mean"
    assert student.pruned[1][0] == 1 and student.counts[1][0] == 1, "and counted as stopped"
    assert student.cells[1][1] is None and student.counts[1][1] == 0, "a cell where every run failed is empty"
    gain = heatmap(rows, value="gain")
    assert gain.cells[0][1] == pytest.approx(0.05), "the gain heatmap averages the gain over scratch"


def test_answer__the_smallest_student_within_a_point_with_size_speed_and_gain() -> None:
    # given the size sweep (teacher 90.0%): the 160k student reached 89.5%
    rows = sweep_rows(size_sweep())

    # when the answer is asked within 1 point
    text = answer(rows, within_points=1.0)

    # then it names that student, its ratios and the gain with its interval
    assert text.startswith("The smallest student within 1 point of the teacher (90.0%) has 160,000 parameters"), text
    assert "6.2x smaller" in text and "4.0x faster (batch-1 latency)" in text, text
    assert "distillation added +2.5 points (95% interval +1.5..+3.5) at that size" in text, text


def test_answer__within_a_share_of_the_teacher() -> None:
    # 95 % of 90 % is 85.5 %: the 10k student (86 %) is the smallest finished one above it
    text = answer(sweep_rows(size_sweep()), within_share=0.95)
    assert "within 95% of the teacher (90.0%) has 10,000 parameters" in text, f"85.5% is the bar: {text}"
    assert "100.0x smaller and 8.0x faster" in text, text


def test_answer__none_within_reach_says_the_best_and_its_gap() -> None:
    rows = sweep_rows(size_sweep())
    text = answer(rows, within_points=0.1)
    assert text == ("No student came within 0.1 points of the teacher (90.0%): the best, with 160,000 parameters, "
                    "reached 89.5%, 0.5 points below it."), text


def test_answer__no_finished_run_yet() -> None:
    rows = sweep_rows([FakeRun("q", status="queued"), FakeRun("s", status="running")])
    assert answer(rows) == NO_RESULT, "nothing to say before a run finishes"


def test_answer__latency_unknown_compares_size_only() -> None:
    rows = [replace(r, student_latency_ms=None) for r in sweep_rows(size_sweep())]
    text = answer(rows)
    assert "6.2x smaller (its latency was not measured" in text and "faster" not in text, text


def test_answer__a_student_slower_than_its_teacher_is_said_to_be_slower() -> None:
    # given a teacher that answers in 0.4 ms (a bag of n-grams) and recurrent students of 15 ms
    rows = [replace(r, teacher_latency_ms=0.4, student_latency_ms=15.0) for r in sweep_rows(size_sweep())]
    # when
    text = answer(rows)
    # then
    assert "but 37.5x slower than the teacher (batch-1 latency)" in text and "faster" not in text, text


def test_answer__without_a_twin_the_gain_is_unknown() -> None:
    rows = [replace(r, gain=None, gain_low=None, gain_high=None) for r in sweep_rows(size_sweep())]
    assert "distillation's gain is unknown" in answer(rows), answer(rows)


def test_answer__without_a_teacher_accuracy_names_the_best_student() -> None:
    rows = [replace(r, teacher_accuracy=None) for r in sweep_rows(size_sweep())]
    text = answer(rows)
    assert text.startswith("No teacher accuracy was recorded") and "160,000 parameters" in text, text


def teacher_sweep() -> list[SweepRow]:
    runs = [FakeRun("ng-1", point={"teacher.family": "ngram", "distill.alpha": 0.1},
                    summary=summary(0.84, 0.85, 10_000, teacher=0.88)),
            FakeRun("ng-2", point={"teacher.family": "ngram", "distill.alpha": 0.5},
                    summary=summary(0.83, 0.85, 10_000, teacher=0.88)),
            FakeRun("rec-1", point={"teacher.family": "recurrent", "distill.alpha": 0.1},
                    summary=summary(0.87, 0.85, 10_000, teacher=0.86))]
    return sweep_rows(runs)


def test_best_teacher__names_the_teacher_of_the_best_student() -> None:
    rows = teacher_sweep()
    scores = teacher_scores(rows)
    assert [s.choice for s in scores] == ["family=recurrent", "family=ngram"], "best student first"
    assert scores[1].mean_gain == pytest.approx(-0.015), "the n-gram teacher's students lost to scratch on average"
    text = best_teacher(rows)
    assert text.startswith("The best student came from the teacher family=recurrent (teacher 86.0%, best student "
                           "87.0%, mean gain +2.0 points)"), text
    assert "family=ngram (teacher 88.0%, best student 84.0%, mean gain -1.5 points)" in text, text


def test_best_teacher__none_when_the_grid_keeps_one_teacher() -> None:
    assert best_teacher(sweep_rows(size_sweep())) is None, "no teacher key in the grid: nothing to say"
