"""The Runs page: the table of runs, its filters, the curve overlay, and acting on one run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
