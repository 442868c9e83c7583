"""The Sweeps page: define a sweep (count, estimate, refusals), launch it, follow it, read its results, cancel it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from kdcore.store import RunStore

WORKER_ID = "w-sweep-test"
PAGE = "pages/sweeps.py"
TINY_BASE = ("teacher: tiny\nstudent: tiny\ndata:\n  vocab_size: 500\n  train_limit: 200\ntrain:\n  epochs: 2\n")
TINY_BASE_DICT = {"teacher": "tiny", "student": "tiny", "data": {"vocab_size": 500, "train_limit": 200},
                  "train": {"epochs": 2}}


def define(at: AppTest, alpha: str, temperature: str | None = None, base: str = TINY_BASE) -> AppTest:
    """Fill the base and the two grid rows (alpha, then T or no field) and rerun."""
    at.text_area(key="sweep.base").set_value(base)
    at.text_input(key="sweep.values.0").set_value(alpha)
    if temperature is None:
        at.selectbox(key="sweep.field.1").set_value("")
    else:
        at.text_input(key="sweep.values.1").set_value(temperature)
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def progress_text(at: AppTest) -> str:
    """The text of the page's (first) progress bar: the sweep's group progress."""
    return at.get("progress")[0].proto.text


def sweep_summary(student: float, scratch: float, *, teacher: float = 0.88, latency: bool = True) -> dict[str, Any]:
    """A finished run's summary as the engine writes it, the compression report's latency included."""
    def arm(accuracy: float, params: int) -> dict[str, Any]:
        return {"test_accuracy": accuracy, "params": params, "epochs_trained": 2, "val_accuracy": accuracy}

    gain = student - scratch
    out: dict[str, Any] = {"arms": {
        "teacher": arm(teacher, 400_000),
        "student": {**arm(student, 4_000), "gain_over_scratch": gain, "gain_low": gain - 0.01,
                    "gain_high": gain + 0.01},
        "scratch": arm(scratch, 4_000)}}
    if latency:
        out["deployment"] = {"latency": {"teacher": {"batch1_median_ms": 10.0}, "student": {"batch1_median_ms": 2.0},
                                         "scratch": {"batch1_median_ms": 2.0}}}
    return out


def finish_sweep(store: RunStore, accuracies: list[float]) -> str:
    """Queue an alpha x T sweep of tiny models and have a worker finish its runs one by one, in grid order."""
    sweep_id = store.create_sweep({"name": "alpha x T", "base": TINY_BASE_DICT,
                                   "grid": {"distill.alpha": [0.1, 0.5], "distill.temperature": [2, 5]}})
    for accuracy in accuracies:
        claimed = store.claim_next(WORKER_ID)
        assert claimed is not None and claimed.sweep_id == sweep_id, "fixture: the next run of the sweep is claimed"
        assert store.finish(claimed.id, "succeeded", summary=sweep_summary(accuracy, 0.80), worker_id=WORKER_ID), \
            "fixture: the run finishes"
    return sweep_id


def test_sweeps_page__defining_a_sweep_shows_its_runs_teachers_scratch_and_time(
        kd_home: Path, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given the Sweeps page with a tiny base
    at = open_page(PAGE)
    assert not at.exception, f"page raised: {at.exception}"

    # when the grid is 3 alphas x 2 temperatures
    at = define(at, "0.1, 0.5, 0.9", "2, 5")

    # then it says 6 runs share one teacher and one scratch student, and estimates the time
    shown = metrics(at)
    assert shown["Runs"] == "6", f"3 x 2 points: {shown}"
    assert shown["Teachers trained"] == "1" and shown["Scratch students"] == "1", \
        f"alpha and T change neither the teacher nor the scratch twin: {shown}"
    assert shown["Training time"].strip(), "a time estimate before launch"
    assert "6 runs: 1 teacher, 1 scratch student and 6 distilled students are trained" in texts(at), texts(at)
    assert not at.button(key="sweep.launch").disabled, "a valid sweep can be launched"


def test_sweeps_page__a_grid_over_seeds_counts_one_teacher_per_seed(
        kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given a grid over train.seed (an "other" field typed by hand) and alpha
    at = open_page(PAGE)
    at.selectbox(key="sweep.field.1").set_value("other").run()
    at.text_input(key="sweep.other.1").set_value("train.seed").run()

    # when the values are given
    at = define(at, "0.1, 0.5", "0, 1")

    # then each seed trains its own teacher and scratch student
    shown = metrics(at)
    assert (shown["Runs"], shown["Teachers trained"], shown["Scratch students"]) == ("4", "2", "2"), f"{shown}"


def test_sweeps_page__a_bad_value_names_the_field_and_blocks_launch(
        kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given the page
    at = open_page(PAGE)

    # when alpha is given a value above 1
    at = define(at, "0.1, 2")

    # then the error names the grid field and the value, not a traceback, and nothing can be launched
    assert not at.exception, f"a bad value must not raise: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert "grid.distill.alpha=2" in errors and "less than or equal to 1" in errors, errors
    assert at.button(key="sweep.launch").disabled, "a refused sweep cannot be launched"


def test_sweeps_page__bad_yaml_and_an_unknown_field_are_named(kd_home: Path,
                                                             open_page: Callable[..., AppTest]) -> None:
    at = define(open_page(PAGE), "0.1", base="data: [1")
    assert any("base: not valid YAML" in e.value for e in at.error), f"the base's YAML problem: {at.error}"
    at = define(at, "0.1", base="distill:\n  alhpa: 0.3\n")
    assert any("base.distill.alhpa" in e.value for e in at.error), f"the misspelt base field: {at.error}"


def test_sweeps_page__launch_queues_every_run_with_the_sweep_id(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], worker_calls: list[Any],
        texts: Callable[[AppTest], str]) -> None:
    # given a defined 2 x 2 sweep
    at = define(open_page(PAGE), "0.1, 0.5", "2, 5")
    at.text_input(key="sweep.name").set_value("first sweep").run()

    # when it is launched
    at.button(key="sweep.launch").click().run()

    # then the store holds one sweep whose four runs are queued, and the page shows it
    assert not at.exception, f"launch raised: {at.exception}"
    (sweep,) = store.list_sweeps()
    runs = store.sweep_runs(sweep.id)
    assert [r.status for r in runs] == ["queued"] * 4, f"every run queued: {[r.status for r in runs]}"
    assert {r.sweep_id for r in runs} == {sweep.id}, "each run names its sweep"
    assert [r.point for r in runs][0] == {"distill.alpha": 0.1, "distill.temperature": 2}, "grid order"
    assert worker_calls, "a local worker is started for the queued runs"
    assert at.query_params.get("sweep") in (sweep.id, [sweep.id]), f"the sweep's view: {at.query_params}"
    assert "first sweep" in texts(at) and progress_text(at) == "0 of 4 runs finished", texts(at)


def test_sweeps_page__a_finished_sweep_shows_table_heatmaps_frontier_and_answer(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given an alpha x T sweep whose four runs finished (teacher 88 %)
    sweep_id = finish_sweep(store, [0.84, 0.875, 0.83, 0.86])

    # when its view is opened
    at = open_page(PAGE, {"sweep": sweep_id})

    # then the table has a row per run, the heatmaps and the frontier are drawn, and the answer is in words
    assert not at.exception, f"page raised: {at.exception}"
    table = at.dataframe[0].value
    assert len(table) == 4 and {"alpha", "temperature", "Student acc", "Gain (pts)"} <= set(table.columns), \
        f"a row per run, its point and figures: {table.columns.tolist()}"
    assert sorted(table["Student acc"].round(1)) == [83.0, 84.0, 86.0, 87.5], "accuracies in percent, as numbers"
    charts = at.get("plotly_chart")
    assert len(charts) == 3, "two heatmaps (accuracy, gain) and the frontier"
    shown = texts(at)
    assert ("The smallest student within 1 point of the teacher (88.0%) has 4,000 parameters (87.5%), is 100.0x "
            "smaller and 5.0x faster (batch-1 latency)") in shown, shown
    assert at.get("download_button"), "the table downloads as CSV"
    assert progress_text(at) == "4 of 4 runs finished", "the group's progress"
    assert "sweep.cancel" not in [b.key for b in at.button], "nothing left to cancel"


def test_sweeps_page__cancel_all_cancels_the_queued_runs(kd_home: Path, store: RunStore,
                                                       open_page: Callable[..., AppTest]) -> None:
    # given a sweep of four runs, one finished and three queued
    sweep_id = finish_sweep(store, [0.84])

    # when Cancel all is clicked
    at = open_page(PAGE, {"sweep": sweep_id})
    at.button(key="sweep.cancel").click().run()

    # then the queued ones are cancelled and the finished one kept
    assert not at.exception, f"cancel raised: {at.exception}"
    statuses = [r.status for r in store.sweep_runs(sweep_id)]
    assert statuses == ["succeeded", "cancelled", "cancelled", "cancelled"], statuses


def test_sweeps_page__lists_sweeps_newest_first_and_explains_an_unknown_one(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given two sweeps
    older = store.create_sweep({"name": "older", "base": TINY_BASE_DICT, "grid": {"distill.alpha": [0.1]}})
    newer = store.create_sweep({"name": "newer", "base": TINY_BASE_DICT, "grid": {"distill.alpha": [0.1, 0.5]}})

    # when the page opens without a sweep, then both are listed, newest first, with their progress
    shown = texts(open_page(PAGE))
    assert shown.index(newer) < shown.index(older), "newest first"
    assert "0/2 finished" in shown and "0/1 finished" in shown, shown

    # and a link to a sweep that does not exist says so
    at = open_page(PAGE, {"sweep": "sweep-20990101-000000-abcdef"})
    assert not at.exception and any("no sweep" in e.value for e in at.error), f"explained: {at.error}"


def test_sweeps_page__starting_from_a_run_fills_the_base_with_its_changed_fields(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest],
        add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given a finished run of tiny models
    run_id = add_finished_run("run-tiny", sweep_summary(0.8, 0.79))

    # when it is chosen as the base
    at = open_page(PAGE)
    at.selectbox(key="sweep.base_run").set_value(run_id).run()

    # then the base holds its sizes and vocabulary, and the sweep validates with it
    base = at.text_area(key="sweep.base").value
    assert "vocab_size: 500" in base and "lstm_units" in base, f"the run's non-default fields: {base}"
    assert metrics(at)["Runs"] == "4", "the default alpha x T grid over that base"


@pytest.mark.parametrize("sample", [3])
def test_sweeps_page__a_sample_runs_fewer_points(kd_home: Path, open_page: Callable[..., AppTest],
                                                 sample: int) -> None:
    at = define(open_page(PAGE), "0.1, 0.3, 0.5", "2, 5")
    at.number_input(key="sweep.sample").set_value(sample).run()
    assert metrics(at)["Runs"] == str(sample), "a random sample of the 6 points"


def test_sweeps_page__the_answer_and_frontier_follow_their_choices(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given a finished sweep whose runs have a compression report
    sweep_id = finish_sweep(store, [0.84, 0.875, 0.83, 0.86])
    at = open_page(PAGE, {"sweep": sweep_id})
    assert at.radio(key="sweep.frontier_x").options == ["parameters", "batch-1 CPU latency"], \
        "latency is offered when it was measured"

    # when the answer asks for 97 % of the teacher and the frontier is drawn against latency
    at.radio(key="sweep.within").set_value("share")
    at.radio(key="sweep.frontier_x").set_value("latency").run()

    # then the answer says so, and the frontier's x axis is the latency
    assert not at.exception, f"page raised: {at.exception}"
    assert "The smallest student within 97% of the teacher (88.0%)" in texts(at), texts(at)
    figure = at.get("plotly_chart")[-1].proto.spec
    assert "latency" in figure, "the frontier against batch-1 latency"


def test_sweeps_page__halving_that_no_run_can_use_is_refused_by_name(kd_home: Path,
                                                                    open_page: Callable[..., AppTest]) -> None:
    # given a one-epoch base: no run reaches a rung before its last epoch
    at = define(open_page(PAGE), "0.1, 0.5", base=TINY_BASE.replace("epochs: 2", "epochs: 1"))

    # when halving is switched on
    at.toggle(key="sweep.halving").set_value(True).run()

    # then the refusal names halving and train.epochs, and nothing can be launched
    errors = " ".join(e.value for e in at.error)
    assert "halving: train.epochs is 1" in errors, errors
    assert at.button(key="sweep.launch").disabled, "a refused sweep cannot be launched"
