"""The Live page: a run's progress and curves while it trains, its results once it is done."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.progress import ProgressEvent
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


def test_live__failed_run_shows_its_error_but_never_the_servers_traceback(kd_home: Path,
                                                                          fixture_runs: dict[str, str],
                                                                          open_page: Callable[..., AppTest],
                                                                          texts: Callable[[AppTest], str]) -> None:
    # given a failed run whose record holds the error and the server's traceback (issue 17 item 16: the
    # page used to show that traceback, with server paths, in an expander)
    # when its Live page is opened
    at = open_page("pages/live.py", {"run": fixture_runs["failed"]})
    # then the error is there in words, the traceback is not, and the page says where it is kept
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error), f"the error in words: {at.error}"
    shown = texts(at) + " ".join(x.label for x in at.expander)
    assert "Traceback" not in shown and "pipeline.py" not in shown, f"no server traceback in the browser: {shown}"
    assert "kdcore logs" in shown, "the page says how to read the traceback on the server"


def test_live__failed_run_does_not_wait_for_a_first_batch(kd_home: Path, store: RunStore,
                                                          open_page: Callable[..., AppTest],
                                                          texts: Callable[[AppTest], str]) -> None:
    # given a run that failed while loading its data, before any training batch
    run_id = running_run(store, "failed early", [(1.0, ProgressEvent("phase", message="Loading data"))])
    store.finish(run_id, "failed", error="ValueError: data.path: no such file", traceback="Traceback ...",
                 worker_id=WORKER)
    # when its Live page is opened
    at = open_page("pages/live.py", {"run": run_id})
    # then nothing says it is waiting for a batch that will never come
    assert not at.exception, f"page raised: {at.exception}"
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Waiting for the first training batch" not in texts(at) + charts, "a failed run waits for nothing"
    assert "before any training batch" in texts(at), "it says that no batch was trained"


@pytest.mark.parametrize(("teacher_epochs", "trained"), [(2, False), (3, True)], ids=["cached", "trained"])
def test_live__epoch_counter_never_passes_the_planned_epochs(kd_home: Path, store: RunStore, teacher_epochs: int,
                                                             trained: bool, open_page: Callable[..., AppTest]) -> None:
    # given a running run right after its teacher's arm_end: a cached teacher loaded (no ticks), or one
    # trained for its last epoch; the engine's arm_end carries epoch = epochs done
    events = teacher_events(teacher_epochs) if trained else []
    events.append((40.0, ProgressEvent("arm_end", "teacher", teacher_epochs, 0, 0, teacher_epochs,
                                       {"test_accuracy": 0.8})))
    run_id = running_run(store, "teacher done", events, f"train.teacher_epochs={teacher_epochs}")
    # when the Live page shows it
    at = open_page("pages/live.py", {"run": run_id})
    # then the epoch counter is at most the planned epochs (it said 3/2 and 4/3)
    assert not at.exception, f"page raised: {at.exception}"
    epoch = next(m.value for m in at.metric if m.label == "Epoch")
    done, planned = (int(x) for x in epoch.split("/"))
    assert done <= planned, f"the counter overflows: Epoch {epoch}"


def test_live__shows_the_phase_before_the_first_batch(kd_home: Path, store: RunStore,
                                                      open_page: Callable[..., AppTest],
                                                      texts: Callable[[AppTest], str]) -> None:
    # given a running run that has loaded its data and is computing its teacher's soft targets
    run_id = running_run(store, "targets", [(1.0, ProgressEvent("phase", message="Loading data")),
                                            (3.0, ProgressEvent("phase", "teacher",
                                                                message="Computing teacher targets"))])
    # when the Live page shows it
    at = open_page("pages/live.py", {"run": run_id})
    # then it names the phase instead of "batch 0/N" and empty charts
    assert not at.exception, f"page raised: {at.exception}"
    shown = texts(at) + " ".join(p.proto.text for p in at.get("progress"))
    assert "Computing teacher targets" in shown, f"the phase is shown: {shown}"
    assert "batch 0/" not in shown, f"no batch counter before training: {shown}"


WORKER = "w-live"


def running_run(store: RunStore, name: str, events: list[tuple[float, ProgressEvent]], *extra: str) -> str:
    """A claimed run of tiny models (2 epochs) that has reported ``events``."""
    config = apply_overrides(RunConfig(name=name), ["teacher=tiny", "student=tiny", "data.vocab_size=500",
                                                    "train.epochs=2", *extra])
    run_id = store.create_run(config, run_id=f"run-{name.replace(' ', '-')}")
    claimed = store.claim_next(WORKER)
    assert claimed is not None and claimed.id == run_id, "fixture: the run just queued is claimed"
    if events:
        assert store.record_events(run_id, events, WORKER), "fixture: the claimed run takes its events"
    return run_id


def teacher_events(epochs: int, steps: int = 4) -> list[tuple[float, ProgressEvent]]:
    """A teacher trained for ``epochs`` epochs: start, ticks, epoch ends."""
    events = [(0.0, ProgressEvent("arm_start", "teacher", 0, 0, steps, epochs))]
    for epoch in range(epochs):
        for step in range(1, steps + 1):
            events.append((epoch * steps + step, ProgressEvent("tick", "teacher", epoch, step, steps, epochs,
                                                               {"loss": 0.5, "accuracy": 0.7})))
        events.append((epoch * steps + steps, ProgressEvent("epoch_end", "teacher", epoch, steps, steps, epochs,
                                                            {"val_loss": 0.5, "val_accuracy": 0.7})))
    return events


def test_live__without_runs_says_what_to_do(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/live.py")
    assert not at.exception
    assert "No runs yet" in at.info[0].value, "empty state points to New run"


def test_live__shows_the_runs_settings_with_its_changes_marked(kd_home: Path, fixture_runs: dict[str, str],
                                                               open_page: Callable[..., AppTest]) -> None:
    # given a running run queued with alpha 0.5, two epochs and tiny models
    run_id = fixture_runs["running"]
    # when its Live page opens
    at = open_page("pages/live.py", {"run": run_id})
    # then a settings panel says how many fields differ from the defaults, grouped by section
    assert not at.exception, f"page raised: {at.exception}"
    panels = [e for e in at.expander if e.label.startswith("Settings")]
    assert panels, f"a settings panel: {[e.label for e in at.expander]}"
    panel = panels[0]
    assert "changed" in panel.label, f"the label counts the changes: {panel.label}"
    tabs = [t.label for t in panel.tabs]
    assert [t.split(" · ")[0] for t in tabs[:7]] == ["Run", "Data", "Teacher", "Student", "Teacher source",
                                                     "Distillation", "Training"], f"grouped by section: {tabs}"
    rows = pd.concat([frame.value for frame in panel.dataframe]).set_index("Field")
    assert rows.loc["distill.alpha", "Value"] == "0.5" and rows.loc["distill.alpha", "Changed"], \
        f"alpha 0.5 is marked as changed: {rows.loc['distill.alpha']}"
    assert not rows.loc["distill.temperature", "Changed"], "a default value is not marked"
    # and the raw JSON is one click away, the config the run was validated with
    shown = json.loads(panel.code[0].value)
    assert shown["distill"]["alpha"] == 0.5 and shown["train"]["epochs"] == 2, f"the run's JSON: {shown}"


def test_live__a_damaged_row_shows_no_settings_it_never_had(kd_home: Path, store: RunStore,
                                                            fixture_runs: dict[str, str],
                                                            open_page: Callable[..., AppTest]) -> None:
    # given a run whose stored config is not JSON
    run_id = fixture_runs["queued"]
    with sqlite3.connect(paths.store_path(kd_home)) as db:
        db.execute("UPDATE runs SET config = '{not json' WHERE id = ?", (run_id,))
    # when its Live page opens
    at = open_page("pages/live.py", {"run": run_id})
    # then the page stays up and the panel shows no settings (an empty config is not the defaults)
    assert not at.exception, f"page raised: {at.exception}"
    panels = [e for e in at.expander if e.label.startswith("Settings")]
    assert panels and not panels[0].dataframe, "no table of default values for a config that was lost"
