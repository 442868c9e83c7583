"""The Runs page: the table of runs, its filters, the curve overlay, and acting on one run."""

from __future__ import annotations

import base64
import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.store import RunStore


def test_runs__lists_every_run_and_filters(kd_home: Path, fixture_runs: dict[str, str],
                                           open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/runs.py")
    assert not at.exception, f"page raised: {at.exception}"
    table = at.dataframe[0].value
    assert set(table["ID"]) == set(fixture_runs.values()), "every run is listed"
    row = table.set_index("ID").loc[fixture_runs["succeeded"]]
    assert (row["Student"], row["Alpha"], row["Epochs"], row["Student acc"]) == ("8/4/4", 0.1, 2, 84.0), f"{row}"

    at.multiselect(key="runs.status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["ID"]) == [fixture_runs["failed"]], "status filter"
    at.multiselect(key="runs.status").set_value([])
    at.text_input(key="runs.search").set_value("progress").run()
    assert list(at.dataframe[0].value["ID"]) == [fixture_runs["running"]], "text filter on the name"


def test_runs__overlays_the_curves_of_chosen_runs(kd_home: Path, fixture_runs: dict[str, str],
                                                  open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.compare").set_value([fixture_runs["succeeded"], fixture_runs["running"]]).run()
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in figure["data"]]
    assert len(names) == 4, \
        f"3 arms of the finished run + the running run's teacher (its only finished epochs): {names}"


def test_runs__delete_needs_a_second_confirmation(kd_home: Path, store: RunStore, fixture_runs: dict[str, str],
                                                  open_page: Callable[..., AppTest]) -> None:
    run_id = fixture_runs["succeeded"]
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(run_id).run()
    assert at.button(key="runs.delete").disabled, "delete is disabled until confirmed"
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete").click().run()
    assert not at.exception, f"delete raised: {at.exception}"
    assert store.get_run(run_id) is None, "the run is gone from the store"
    assert not paths.run_dir(run_id, kd_home).exists(), "and its artifacts from disk"


def test_runs__cancel_a_queued_run(kd_home: Path, store: RunStore, fixture_runs: dict[str, str],
                                   open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["queued"]).run()
    at.button(key="runs.cancel").click().run()
    assert not at.exception
    assert store.get_run(fixture_runs["queued"]).status == "cancelled", "a queued run is cancelled at once"


def test_runs__new_run_from_this_one_prefills_the_form(kd_home: Path, fixture_runs: dict[str, str],
                                                       open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["running"]).run()
    at.button(key="runs.clone").click().run()
    assert not at.exception, f"clone raised: {at.exception}"
    assert at.number_input(key="form.distill.alpha").value == 0.5, "the form holds the run's alpha"
    assert at.text_input(key="form.name").value == "alpha 0.5 in progress", "and its name"
    assert at.selectbox(key="preset.student").value == "tiny", "the preset follows the sizes"
    assert any(fixture_runs["running"] in i.value for i in at.info), "the page says where the values came from"


def test_runs__without_runs_says_what_to_do(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/runs.py")
    assert not at.exception
    assert at.info[0].value.startswith("No runs yet: start one on New run"), "empty state"


def shown_cells(at: AppTest) -> pd.DataFrame:
    """The Runs table as the browser draws it: the styled display text where the page styles it."""
    element = at.dataframe[0]
    if element.proto.arrow_data.styler.display_values:
        return pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_pandas()
    return element.value


def test_runs__a_run_without_results_shows_dashes_not_none(kd_home: Path, store: RunStore,
                                                           fixture_runs: dict[str, str],
                                                           open_page: Callable[..., AppTest]) -> None:
    # given a queued run that was cancelled before it started: it has no figures at all
    store.request_cancel(fixture_runs["queued"])
    # when the Runs page lists it
    at = open_page("pages/runs.py")
    # then its empty cells read "–" (Streamlit draws a missing value as "None")
    assert not at.exception, f"page raised: {at.exception}"
    table = shown_cells(at)
    row = table[table["ID"] == fixture_runs["queued"]].iloc[0]
    blank = [column for column, cell in row.items() if cell is None or (isinstance(cell, float) and math.isnan(cell))
             or str(cell) in ("None", "nan", "")]
    assert not blank, f"cells the browser draws as None for a cancelled run: {blank}"
    assert row["Student acc"] == "–", f"a missing accuracy reads as a dash: {row['Student acc']!r}"
    done = table[table["ID"] == fixture_runs["succeeded"]].iloc[0]
    assert done["Student acc"] == "84.0%" and done["Gain (pts)"] == "+2.00", f"figures keep their format: {done}"


def test_runs__a_run_deleted_elsewhere_is_not_acted_on_in_its_place(kd_home: Path, store: RunStore,
                                                                    fixture_runs: dict[str, str],
                                                                    open_page: Callable[..., AppTest]) -> None:
    # given the Runs page with the succeeded run picked and its delete confirmed
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["succeeded"]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    # when another tab (or the CLI) deletes that run, then the user clicks "Delete run" here
    store.delete_run(fixture_runs["succeeded"])
    at.button(key="runs.delete").click().run()
    # then no other run is deleted in its place, the page says the picked run is gone, and the box is unticked
    assert not at.exception, f"page raised: {at.exception}"
    left = {r.id for r in store.list_runs()}
    assert left == {fixture_runs[s] for s in ("failed", "running", "queued")}, f"another run was deleted: {left}"
    assert any(fixture_runs["succeeded"] in w.value for w in at.warning), f"the page says so: {at.warning}"
    assert fixture_runs["succeeded"] not in at.selectbox(key="runs.pick").options, "the picker no longer offers it"
    assert not at.checkbox(key="runs.confirm_delete").value, "the confirmation does not carry over to another run"


def test_runs__the_delete_confirmation_belongs_to_one_run(kd_home: Path, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest]) -> None:
    # given the delete of the succeeded run confirmed
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["succeeded"]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    # when the user picks another run
    at.selectbox(key="runs.pick").set_value(fixture_runs["failed"]).run()
    # then the box is unticked and delete needs a new confirmation
    assert not at.checkbox(key="runs.confirm_delete").value, "the tick stayed for the next run"
    assert at.button(key="runs.delete").disabled, "delete is disabled until this run's delete is confirmed"


def test_runs__refreshes_while_runs_are_queued_or_running(kd_home: Path, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # given the Runs page over a store with a running and a queued run
    at = open_page("pages/runs.py")
    asked: list[object] = []
    real_fragment = st.fragment

    def recording_fragment(func: object = None, *, run_every: object = None) -> object:
        asked.append(run_every)
        return real_fragment(func, run_every=run_every) if func is not None else real_fragment(run_every=run_every)

    monkeypatch.setattr(st, "fragment", recording_fragment)
    # when the page runs again
    at.run()
    # then its table and actions refresh on their own, as the Live page does
    assert not at.exception, f"page raised: {at.exception}"
    assert any(every for every in asked), f"a fragment that reruns every few seconds while runs progress: {asked}"


def test_runs__compare_table_highlights_the_fields_that_differ(kd_home: Path, fixture_runs: dict[str, str],
                                                              open_page: Callable[..., AppTest]) -> None:
    # given the succeeded run (alpha 0.1, two seeds) and the running one (alpha 0.5, one seed)
    at = open_page("pages/runs.py")
    # when both are chosen for comparison
    at.multiselect(key="runs.compare").set_value([fixture_runs["succeeded"], fixture_runs["running"]]).run()
    # then a table puts their settings side by side and flags the fields that differ
    assert not at.exception, f"page raised: {at.exception}"
    table = next(d for d in at.dataframe if "Differs" in d.value.columns).value
    assert table.loc["distill.alpha", "Differs"] and table.loc["train.seeds", "Differs"], f"{table}"
    assert not table.loc["train.epochs", "Differs"], "both ran two epochs"
    assert list(table.loc["distill.alpha"].iloc[:2]) == ["0.1", "0.5"], f"a column per run: {table.columns}"
    # and the toggle hides the fields they share
    at.toggle(key="runs.compare_only_differing").set_value(True).run()
    table = next(d for d in at.dataframe if "Differs" in d.value.columns).value
    assert set(table.index) == {"name", "distill.alpha", "train.seeds"}, f"only what differs: {list(table.index)}"


def numbers(encoded: object) -> list[float]:
    """A trace's values from the chart's JSON, where Plotly writes a numpy array as base64 bytes."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).tolist()
    return list(encoded)


def test_runs__overlay_any_metric_the_chosen_runs_recorded(kd_home: Path, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest]) -> None:
    # given two chosen runs that recorded loss, accuracy and their validation twins at each epoch's end
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.compare").set_value([fixture_runs["succeeded"], fixture_runs["running"]]).run()
    # when the metric select box offers them, and validation loss is picked
    metric = at.selectbox(key="runs.compare_metric")
    assert metric.options[:4] == ["Validation accuracy", "Validation loss", "Accuracy", "Loss"], f"{metric.options}"
    metric.set_value("val_loss").run()
    # then the overlay draws that metric per arm and run
    assert not at.exception, f"page raised: {at.exception}"
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "loss" in figure["layout"]["title"]["text"].lower(), f"the chart's title: {figure['layout']['title']}"
    highest = [max(numbers(trace["y"])) for trace in figure["data"]]
    assert all(value < 0.6 for value in highest), f"the validation losses (1.05 - acc), not accuracy: {highest}"
    assert len(figure["data"]) == 4, "3 arms of the finished run + the running run's teacher"


def test_runs__runs_with_the_same_name_keep_their_own_lines(kd_home: Path, store: RunStore,
                                                           add_finished_run: Callable[..., str],
                                                           open_page: Callable[..., AppTest]) -> None:
    # given two finished runs with the same name
    first, second = (add_finished_run(run_id, {"device": "CPU"}) for run_id in ("run-a", "run-b"))
    with sqlite3.connect(paths.store_path(kd_home)) as db:
        db.execute("UPDATE runs SET name = 'sweep'")
    # when both are overlaid
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.compare").set_value([first, second]).run()
    # then each keeps its three lines (a name used as the key dropped one run)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(figure["data"]) == 6, f"3 arms x 2 runs: {[t['name'] for t in figure['data']]}"
