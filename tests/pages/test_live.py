"""The Live page: a run's progress and curves while it trains, its results once it is done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from kdcore.results import ArmResult, RunSummary
from kdcore.store import RunStore


def test_live__running_run_shows_progress_and_both_charts(kd_home: Path, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest],
                                                          texts: Callable[[AppTest], str]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["running"]})
    assert not at.exception, f"page raised: {at.exception}"
    shown = texts(at)
    assert "Distilled student" in shown and "running" in shown, f"status and current arm: {shown}"
    assert len(at.get("progress")) >= 3, "a progress bar per arm (teacher, student, scratch)"
    assert len(at.get("plotly_chart")) == 2, "accuracy and loss charts side by side"
    assert at.button(key="live.cancel"), "a running run can be cancelled"
    assert "CPU" in shown, "the device is shown"


def test_live__cancel_sets_the_flag(kd_home: Path, store: RunStore, fixture_runs: dict[str, str],
                                    open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["running"]})
    at.button(key="live.cancel").click().run()
    assert not at.exception, f"cancel raised: {at.exception}"
    assert store.get_run(fixture_runs["running"]).cancel_requested, "cancel should set the run's flag"


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "x" * 80])
def test_live__invalid_run_id_in_the_url_is_an_error_not_a_traceback(kd_home: Path, fixture_runs: dict[str, str],
                                                                     bad: str,
                                                                     open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py", {"run": bad})
    assert not at.exception, f"a bad id must not raise: {at.exception}"
    assert any("valid run" in e.value for e in at.error), f"an error should say the id is invalid: {at.error}"


def test_live__unknown_run_id_says_so(kd_home: Path, fixture_runs: dict[str, str],
                                      open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py", {"run": "20990101-000000-abcdef"})
    assert not at.exception
    assert any("no run" in e.value.lower() for e in at.error), f"unknown id should be explained: {at.error}"


def test_live__finished_run_shows_the_summary_seeds_verdict_and_log(kd_home: Path, fixture_runs: dict[str, str],
                                                                    open_page: Callable[..., AppTest],
                                                                    texts: Callable[[AppTest], str]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["succeeded"]})
    assert not at.exception, f"page raised: {at.exception}"
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["Teacher", "Distilled student", "Scratch student"], "one row per arm"
    student = table.set_index("Model").loc["Distilled student"]
    assert student["Test accuracy"] == "84.0%" and student["Gain over scratch"] == "+2.00 pts", f"{student}"
    assert student["Teacher accuracy kept"] == "97.7%", "share of the teacher's accuracy kept"
    shown = texts(at)
    assert "beat the student trained from scratch" in shown, "the verdict sentence"
    assert "± 0.40%" in shown and "2 seeds" in shown, "mean ± std over seeds"
    assert "[teacher] epoch 1/2 done" in shown, "the log in an expander"
    assert "live.cancel" not in [b.key for b in at.button], "a finished run offers no cancel"


def test_live__best_epoch_is_the_stored_one_based_epoch(kd_home: Path, open_page: Callable[..., AppTest],
                                                       add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given a 2-epoch run whose teacher and scratch student kept their second (last) epoch and whose
    # distilled student kept its first; the engine stores ArmResult.best_epoch 1-based
    def arm(accuracy: float, best_epoch: int) -> ArmResult:
        return ArmResult(test_accuracy=accuracy, best_epoch=best_epoch, epochs_trained=2, stopped_early=False)

    summary = RunSummary(arms={"teacher": arm(0.86, 2), "student": arm(0.84, 1), "scratch": arm(0.82, 2)},
                         verdict="Distillation paid.")
    run_id = add_finished_run("run-best-epoch", summary.to_dict())
    # when its Live page shows the results
    at = open_page("pages/live.py", {"run": run_id})
    # then each arm's best epoch is the one it kept, never past the epochs it trained
    assert not at.exception, f"page raised: {at.exception}"
    best = at.dataframe[0].value.set_index("Model")["Best epoch"].to_dict()
    assert best == {"Teacher": "2", "Distilled student": "1", "Scratch student": "2"}, \
        f"a 2-epoch run shows best epochs 1 or 2, as stored (1-based), not one more: {best}"


def test_live__failed_run_shows_its_error_and_folds_the_traceback(kd_home: Path, fixture_runs: dict[str, str],
                                                                  open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["failed"]})
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error), f"the error in words: {at.error}"
    folded = [x for x in at.expander if x.label == "Traceback"]
    assert folded and "Traceback (most recent call last)" in folded[0].code[0].value, "traceback in an expander"


def test_live__without_runs_says_what_to_do(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py")
    assert not at.exception
    assert "No runs yet" in at.info[0].value, "empty state points to New run"
