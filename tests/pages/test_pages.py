"""Every dashboard page, driven by Streamlit's AppTest against a real RunStore of fixture runs.

The store lives under ``tmp_path`` ($KDCORE_HOME); runs are written through the store's own
writer methods (create, claim, record events, finish) as a worker would. No worker is
started (``ensure_local_worker`` is patched at its boundary) and no TensorFlow is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
WORKER_ID = "w-test"
ARTIFACT_BYTES = {
    "student.keras": b"PK-fake-student-keras",
    "student.weights.h5": b"\x89HDF-fake-student-weights",
    "teacher.keras": b"PK-fake-teacher-keras",
    "scratch.keras": b"PK-fake-scratch-keras",
    "metrics.csv": b"arm,kind,epoch,step,fraction,name,value,t\nstudent,epoch,0,4,1.0,val_accuracy,0.8,1.0\n",
}


# -- fixture runs ---------------------------------------------------------------------------


def small_config(name: str, *extra: str) -> RunConfig:
    return apply_overrides(RunConfig(name=name), ["teacher=tiny", "student=tiny", "data.vocab_size=500",
                                                   "train.epochs=2", *extra])


def arm_events(arm: str, epochs: int, start_acc: float, *, steps: int = 4, t0: float = 0.0,
               finish: bool = True) -> list[tuple[float, ProgressEvent]]:
    """What the pipeline reports for one arm: start, ticks, epoch ends (with val_*), end."""
    events = [(t0, ProgressEvent(kind="arm_start", arm=arm, epochs=epochs, steps=steps))]
    t = t0
    for epoch in range(epochs):
        for step in range(1, steps + 1):
            t += 1.0
            acc = start_acc + 0.02 * (epoch * steps + step)
            events.append((t, ProgressEvent(kind="tick", arm=arm, epoch=epoch, step=step, steps=steps, epochs=epochs,
                                            metrics={"loss": 1.0 - acc, "accuracy": acc, "samples_per_s": 120.0})))
        events.append((t, ProgressEvent(kind="epoch_end", arm=arm, epoch=epoch, step=steps, steps=steps,
                                        epochs=epochs, metrics={"loss": 1.0 - acc, "accuracy": acc,
                                                                "val_loss": 1.05 - acc, "val_accuracy": acc - 0.03})))
    if finish:
        events.append((t, ProgressEvent(kind="arm_end", arm=arm, epochs=epochs, metrics={"test_accuracy": acc})))
    return events


def summary_for(teacher: float, student: float, scratch: float, *, seeds: bool = False) -> dict[str, Any]:
    def arm(acc: float, params: int) -> dict[str, Any]:
        return {"test_accuracy": acc, "test_loss": 1 - acc, "params": params, "file_bytes": params * 12,
                "train_seconds": 12.0, "samples_per_s": 250.0, "best_epoch": 1, "epochs_trained": 2,
                "val_accuracy": acc}

    summary: dict[str, Any] = {
        "device": "CPU", "total_seconds": 42.0, "teacher_reused": False, "teacher_key": "abc",
        "arms": {"teacher": arm(teacher, 2_857_474), "student": {**arm(student, 1_320_000),
                                                                 "gain_over_scratch": student - scratch,
                                                                 "teacher_share": student / teacher},
                 "scratch": arm(scratch, 1_320_000)},
        "verdict": "The distilled student beat the student trained from scratch by 2.0 points.",
    }
    if seeds:
        summary["seeds"] = {"student": {"mean": student, "std": 0.004, "values": [student - 0.004, student + 0.004]},
                            "scratch": {"mean": scratch, "std": 0.003, "values": [scratch - 0.003, scratch + 0.003]},
                            "gain": {"mean": student - scratch, "std": 0.005, "exceeds_spread": True}}
    return summary


def start(store: RunStore, config: RunConfig, run_id: str) -> str:
    """Queue a run and have the fake worker claim it (the queue holds nothing older)."""
    store.create_run(config, run_id=run_id)
    claimed = store.claim_next(WORKER_ID)
    assert claimed is not None and claimed.id == run_id, "fixture: the run just queued should be claimed"
    store.set_device(run_id, "CPU")
    return run_id


@pytest.fixture
def store(kd_home: Path) -> RunStore:
    s = RunStore(kd_home)
    yield s
    s.close()


@pytest.fixture
def fixture_runs(store: RunStore, kd_home: Path) -> dict[str, str]:
    """One run in each interesting state; returns status -> run id."""
    return fill_store(store, kd_home)


def fill_store(store: RunStore, kd_home: Path) -> dict[str, str]:
    """Write a succeeded (with fake artifacts), a failed, a running and a queued run."""
    done = start(store, small_config("baseline alpha 0.1", "train.seeds=2"), "run-succeeded")
    events = (arm_events("teacher", 2, 0.60) + arm_events("student", 2, 0.55, t0=20)
              + arm_events("scratch", 2, 0.50, t0=40))
    assert store.record_events(done, events, WORKER_ID)
    assert store.finish(done, "succeeded", summary=summary_for(0.86, 0.84, 0.82, seeds=True), worker_id=WORKER_ID)
    folder = paths.run_dir(done, kd_home)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in ARTIFACT_BYTES.items():
        (folder / name).write_bytes(data)
    (folder / "config.json").write_text(RunConfig(name="baseline alpha 0.1").to_json())

    failed = start(store, small_config("broken data"), "run-failed")
    store.record_events(failed, arm_events("teacher", 2, 0.6, finish=False)[:3], WORKER_ID)
    store.finish(failed, "failed", error="FileNotFoundError: /nowhere/imdb.npz does not exist",
                 traceback="Traceback (most recent call last):\n  File \"pipeline.py\"\nFileNotFoundError: ...",
                 worker_id=WORKER_ID)

    running = start(store, small_config("alpha 0.5 in progress", "distill.alpha=0.5"), "run-running")
    store.record_events(running, arm_events("teacher", 2, 0.6) + arm_events("student", 2, 0.55, t0=20,
                                                                              finish=False)[:4], WORKER_ID)

    queued = store.create_run(small_config("waiting"), run_id="run-queued")
    return {"succeeded": done, "failed": failed, "running": running, "queued": queued}


@pytest.fixture(autouse=True)
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Patch the app's one outside call: no worker process is started by these tests."""
    calls: list[Any] = []
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker", lambda home=None, **kw: calls.append(home) or True)
    return calls


def open_page(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """Run the app, switch to ``page`` (a path like ``pages/live.py``) with ``?query``."""
    at = AppTest.from_file(APP, default_timeout=30)
    if page is None:
        if query:
            at.query_params.update(query)
        return at.run()
    at.run()
    at.switch_page(page)
    if query:
        at.query_params.update(query)
    return at.run()


def texts(at: AppTest) -> str:
    """Everything the page wrote as text, for "does it say X" checks."""
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success", "title",
                                  "subheader", "code") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


# -- app ------------------------------------------------------------------------------------


def test_app__starts_the_local_worker_once_per_session(kd_home: Path, worker_calls: list[Any]) -> None:
    at = open_page()
    at.run()
    assert not at.exception, f"app raised: {at.exception}"
    assert len(worker_calls) == 1, f"ensure_local_worker should run once per session, ran {len(worker_calls)} times"


def test_app__worker_failure_is_a_warning_not_a_traceback(kd_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(home: Any = None, **kw: Any) -> bool:
        raise OSError("no space left on device")

    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker", broken)
    at = open_page()
    assert not at.exception, f"a worker failure must not raise in the page: {at.exception}"
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "no space left on device" in warnings, f"the sidebar should explain the failure, got {warnings!r}"


def test_app__deep_link_sent_through_the_entry_point_reaches_its_page(kd_home: Path,
                                                                      fixture_runs: dict[str, str]) -> None:
    """A page opened before app.py ran redirects to ``/?page=live&run=...``; app.py goes on from there."""
    at = open_page(query={"page": "live", "run": fixture_runs["failed"]})
    assert not at.exception, f"app raised: {at.exception}"
    assert at.selectbox(key="live.run").value == fixture_runs["failed"], "the live page of the linked run"
    assert "page" not in at.query_params, f"the routing parameter is dropped: {at.query_params}"


def test_app__never_imports_tensorflow(kd_home: Path) -> None:
    """Every page, run in a fresh interpreter, leaves TensorFlow (and Keras) unimported."""
    script = textwrap.dedent(f"""
        import sys
        from unittest import mock
        from streamlit.testing.v1 import AppTest
        with mock.patch("kdcore.worker.processes.ensure_local_worker", return_value=False):
            at = AppTest.from_file({APP!r}, default_timeout=60).run()
            for page in ("pages/live.py", "pages/runs.py", "pages/download.py"):
                at.switch_page(page).run()
                assert not at.exception, (page, at.exception)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print("HEAVY", heavy)
        sys.exit(1 if heavy else 0)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"the app imported TensorFlow/Keras or failed:\n{done.stdout}\n{done.stderr[-3000:]}"


# -- new run --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [None, "pages/live.py", "pages/runs.py", "pages/download.py"])
def test_pages__a_store_that_cannot_be_opened_is_named_not_a_traceback(kd_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       page: str | None) -> None:
    # given a kdcore home that is a file, not a folder
    blocked = kd_home / "not-a-folder"
    blocked.write_text("x")
    monkeypatch.setenv("KDCORE_HOME", str(blocked))
    # when a page opens (the app's own first page: New run)
    at = open_page(page)
    # then it says which folder and what to do, instead of raising
    assert not at.exception, f"page raised: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert str(blocked) in errors and "KDCORE_HOME" in errors, errors


def test_new_run__shows_every_setting_and_live_parameter_counts(kd_home: Path) -> None:
    at = open_page()
    assert not at.exception, f"page raised: {at.exception}"
    for key in ("form.data.path", "form.data.vocab_size", "form.data.maxlen", "form.data.train_limit",
                "form.teacher.embedding_dim", "form.student.gru_units", "form.distill.alpha",
                "form.distill.temperature", "form.train.epochs", "form.train.seeds", "form.train.patience"):
        assert at.number_input(key=key) if key != "form.data.path" else at.text_input(key=key), f"{key} is missing"
    for key in ("form.distill.scale_t2", "form.train.train_scratch", "form.train.keep_best"):
        assert at.toggle(key=key) is not None, f"toggle {key} is missing"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Teacher parameters"] == "2.86 M", f"notebook teacher has 2,857,474 parameters: {metrics}"
    assert metrics["Compression"].endswith("×"), f"compression shown as a ratio: {metrics}"

    at.number_input(key="form.student.lstm_units").set_value(8).run()
    after = {m.label: m.value for m in at.metric}
    assert after["Student parameters"] != metrics["Student parameters"], "the count should follow the edit"
    assert at.selectbox(key="preset.student").value == "custom", "an edited size is no longer the preset"


def test_new_run__preset_fills_the_sizes(kd_home: Path) -> None:
    at = open_page()
    at.selectbox(key="preset.teacher").set_value("tiny").run()
    assert at.number_input(key="form.teacher.embedding_dim").value == 8, "tiny preset: embedding 8"
    assert at.number_input(key="form.teacher.lstm_units").value == 4, "tiny preset: 4 LSTM units"


def test_new_run__teacher_family_shows_its_fields_and_launches(kd_home: Path, store: RunStore) -> None:
    at = open_page()
    at.selectbox(key="form.teacher.family").set_value("ngram").run()
    assert not at.exception, f"page raised: {at.exception}"
    shown = {w.key for w in at.number_input}
    assert {"form.teacher.bigram_buckets", "form.teacher.embedding_dim"} <= shown, f"n-gram fields shown: {shown}"
    assert "form.teacher.lstm_units" not in shown, "the recurrent teacher's fields are hidden"
    assert at.number_input(key="form.data.teacher_maxlen").value == 400, "the family's recipe: a longer view"
    assert at.radio(key="form.distill.teacher_view").value == "student", "and targets from the student's words"
    assert at.selectbox(key="form.train.teacher_optimizer").value == "lazy_adam", "and the faster teacher optimizer"
    assert (at.number_input(key="form.distill.augment_window").value,
            at.number_input(key="form.distill.augment_mask").value) == (1.0, 0.2), "and the augmented transfer set"
    assert at.number_input(key="form.train.epochs").value == 5, "and the students' longer training on it"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Teacher parameters"] == "18.06 M", f"18,057,346 parameters for the default n-gram teacher: {metrics}"

    at.selectbox(key="form.teacher.family").set_value("conv").run()
    assert at.text_input(key="form.teacher.kernel_sizes").value == "3, 4, 5", "conv widths as editable text"
    assert at.radio(key="form.distill.teacher_view").value == "own", "the conv recipe (untuned) keeps its own view"
    assert at.selectbox(key="form.train.teacher_optimizer").value == "adam", "and Keras' Adam"
    assert at.number_input(key="form.distill.augment_mask").value == 0.0, "and no augmentation"
    at.number_input(key="form.train.teacher_batch_size").set_value(64).run()
    at.text_input(key="form.teacher.kernel_sizes").set_value("2, 3").run()
    at.number_input(key="form.data.train_limit").set_value(300).run()
    at.button(key="launch").click().run()
    assert not at.exception, f"launch raised: {at.exception}"
    config = store.list_runs()[0].run_config()
    assert (config.teacher.family, config.teacher.kernel_sizes, config.data.teacher_maxlen) == ("conv", (2, 3), 400), \
        f"the conv teacher is queued as shown: {config.teacher}, {config.data}"
    assert (config.train.teacher_batch_size, config.train.teacher_optimizer) == (64, "adam"), f"{config.train}"


@pytest.mark.parametrize(("key", "value", "named"), [
    ("form.distill.alpha", 1.3, "Alpha"),
    ("form.student.lstm_units", 0, "Student · LSTM units"),
    ("form.distill.temperature", 0.0, "Temperature"),
    ("form.data.val_fraction", 0.6, "Validation fraction"),
    ("form.distill.augment_mask", 0.6, "Augment · mask chance"),
])
def test_new_run__invalid_value_names_the_field_and_queues_nothing(kd_home: Path, store: RunStore, key: str,
                                                                   value: float, named: str) -> None:
    at = open_page()
    at.number_input(key=key).set_value(value).run()
    at.button(key="launch").click().run()
    assert not at.exception, f"invalid input must not raise: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert named in errors and key.removeprefix("form.") in errors, f"message should name {named}: {errors!r}"
    assert "Nothing was queued" in errors, "the launch refusal should be explicit"
    assert store.list_runs() == [], "nothing may be queued from an invalid form"


def test_new_run__own_view_with_augmentation_is_refused_with_the_fix(kd_home: Path, store: RunStore) -> None:
    # given the n-gram recipe (augmented transfer set), then the teacher's own view chosen by hand
    at = open_page()
    at.selectbox(key="form.teacher.family").set_value("ngram").run()
    at.radio(key="form.distill.teacher_view").set_value("own").run()
    at.button(key="launch").click().run()
    # then the message names the field in the form's words and says how to keep the own view
    errors = " ".join(e.value for e in at.error)
    assert "**Teacher's targets from** (`distill.teacher_view`)" in errors, errors
    assert "set both augmentation chances to 0" in errors
    assert store.list_runs() == []


def test_new_run__launch_queues_the_run_and_opens_its_live_page(kd_home: Path, store: RunStore) -> None:
    at = open_page()
    at.text_input(key="form.name").set_value("tiny from the form")
    at.selectbox(key="preset.teacher").set_value("tiny")
    at.selectbox(key="preset.student").set_value("tiny")
    at.number_input(key="form.distill.alpha").set_value(0.5)
    at.radio(key="form.distill.teacher_view").set_value("student")
    at.number_input(key="form.data.train_limit").set_value(300).run()
    at.button(key="launch").click().run()
    assert not at.exception, f"launch raised: {at.exception}"
    runs = store.list_runs()
    assert len(runs) == 1 and runs[0].status == "queued", f"one queued run expected, got {runs}"
    config = runs[0].run_config()
    assert (config.name, config.distill.alpha, config.data.train_limit, config.teacher.lstm_units) == \
        ("tiny from the form", 0.5, 300, 4), f"the form's values should be queued: {config}"
    assert config.distill.teacher_view == "student", "the teacher's view for its targets is queued"
    assert at.query_params.get("run") == runs[0].id, f"should switch to the live page of the run: {at.query_params}"
    assert at.selectbox(key="live.run").value == runs[0].id, "the live page shows the new run"


def test_new_run__teacher_reuse_starts_at_train_a_new_one(kd_home: Path, store: RunStore,
                                                          fixture_runs: dict[str, str]) -> None:
    at = open_page()
    box = at.selectbox(key="form.teacher_from")
    assert box.index == 0 and box.options[0] == "No: train a new teacher", \
        f"the choice is shown, not Streamlit's empty placeholder: index {box.index}, options {box.options}"
    at.button(key="launch").click().run()
    queued = [r for r in store.list_runs(["queued"]) if r.id != fixture_runs["queued"]]
    assert queued and queued[0].config["teacher_from"] is None, "a new teacher is queued as no teacher_from"


def test_new_run__reusing_a_teacher_copies_its_sizes(kd_home: Path, store: RunStore,
                                                     fixture_runs: dict[str, str]) -> None:
    at = open_page()
    at.selectbox(key="form.teacher_from").set_value(fixture_runs["succeeded"]).run()
    assert at.number_input(key="form.teacher.embedding_dim").value == 8, "sizes of the reused teacher (tiny)"
    assert at.number_input(key="form.data.vocab_size").value == 500, "vocabulary of the reused teacher"
    at.button(key="launch").click().run()
    queued = [r for r in store.list_runs(["queued"]) if r.id != fixture_runs["queued"]]
    assert queued and queued[0].config["teacher_from"] == fixture_runs["succeeded"], "teacher_from is queued"


# -- live -----------------------------------------------------------------------------------


def test_live__running_run_shows_progress_and_both_charts(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["running"]})
    assert not at.exception, f"page raised: {at.exception}"
    shown = texts(at)
    assert "Distilled student" in shown and "running" in shown, f"status and current arm: {shown}"
    assert len(at.get("progress")) >= 3, "a progress bar per arm (teacher, student, scratch)"
    assert len(at.get("plotly_chart")) == 2, "accuracy and loss charts side by side"
    assert at.button(key="live.cancel"), "a running run can be cancelled"
    assert "CPU" in shown, "the device is shown"


def test_live__cancel_sets_the_flag(kd_home: Path, store: RunStore, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["running"]})
    at.button(key="live.cancel").click().run()
    assert not at.exception, f"cancel raised: {at.exception}"
    assert store.get_run(fixture_runs["running"]).cancel_requested, "cancel should set the run's flag"


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "x" * 80])
def test_live__invalid_run_id_in_the_url_is_an_error_not_a_traceback(kd_home: Path, fixture_runs: dict[str, str],
                                                                     bad: str) -> None:
    at = open_page("pages/live.py", {"run": bad})
    assert not at.exception, f"a bad id must not raise: {at.exception}"
    assert any("valid run" in e.value for e in at.error), f"an error should say the id is invalid: {at.error}"


def test_live__unknown_run_id_says_so(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/live.py", {"run": "20990101-000000-abcdef"})
    assert not at.exception
    assert any("no run" in e.value.lower() for e in at.error), f"unknown id should be explained: {at.error}"


def test_live__finished_run_shows_the_summary_seeds_verdict_and_log(kd_home: Path,
                                                                    fixture_runs: dict[str, str]) -> None:
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


def test_live__failed_run_shows_its_error_and_folds_the_traceback(kd_home: Path,
                                                                  fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/live.py", {"run": fixture_runs["failed"]})
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error), f"the error in words: {at.error}"
    folded = [x for x in at.expander if x.label == "Traceback"]
    assert folded and "Traceback (most recent call last)" in folded[0].code[0].value, "traceback in an expander"


def test_live__without_runs_says_what_to_do(kd_home: Path) -> None:
    at = open_page("pages/live.py")
    assert not at.exception
    assert "No runs yet" in at.info[0].value, "empty state points to New run"


# -- runs -----------------------------------------------------------------------------------


def test_runs__lists_every_run_and_filters(kd_home: Path, fixture_runs: dict[str, str]) -> None:
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


def test_runs__overlays_the_curves_of_chosen_runs(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.compare").set_value([fixture_runs["succeeded"], fixture_runs["running"]]).run()
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in figure["data"]]
    assert len(names) == 4, f"3 arms of the finished run + the running run's teacher (its only finished epochs): {names}"


def test_runs__delete_needs_a_second_confirmation(kd_home: Path, store: RunStore,
                                                  fixture_runs: dict[str, str]) -> None:
    run_id = fixture_runs["succeeded"]
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(run_id).run()
    assert at.button(key="runs.delete").disabled, "delete is disabled until confirmed"
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete").click().run()
    assert not at.exception, f"delete raised: {at.exception}"
    assert store.get_run(run_id) is None, "the run is gone from the store"
    assert not paths.run_dir(run_id, kd_home).exists(), "and its artifacts from disk"


def test_runs__cancel_a_queued_run(kd_home: Path, store: RunStore, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["queued"]).run()
    at.button(key="runs.cancel").click().run()
    assert not at.exception
    assert store.get_run(fixture_runs["queued"]).status == "cancelled", "a queued run is cancelled at once"


def test_runs__new_run_from_this_one_prefills_the_form(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.pick").set_value(fixture_runs["running"]).run()
    at.button(key="runs.clone").click().run()
    assert not at.exception, f"clone raised: {at.exception}"
    assert at.number_input(key="form.distill.alpha").value == 0.5, "the form holds the run's alpha"
    assert at.text_input(key="form.name").value == "alpha 0.5 in progress", "and its name"
    assert at.selectbox(key="preset.student").value == "tiny", "the preset follows the sizes"
    assert any(fixture_runs["running"] in i.value for i in at.info), "the page says where the values came from"


def test_runs__without_runs_says_what_to_do(kd_home: Path) -> None:
    at = open_page("pages/runs.py")
    assert not at.exception
    assert at.info[0].value.startswith("No runs yet: start one on New run"), "empty state"


# -- download -------------------------------------------------------------------------------


@pytest.fixture
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """file name -> the callable a download button would run when clicked."""
    captured: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def record(self: MediaFileManager, data_callable: Any, mimetype: Any, coordinates: str,
               file_name: str | None = None, **kw: Any) -> str:
        captured[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return captured


def test_download__buttons_offer_the_right_bytes(kd_home: Path, fixture_runs: dict[str, str],
                                                 deferred_downloads: dict[str, Any]) -> None:
    run_id = fixture_runs["succeeded"]
    at = open_page("pages/download.py", {"run": run_id})
    assert not at.exception, f"page raised: {at.exception}"
    assert not at.get("download_button")[0].proto.disabled, "the student model is offered"
    assert deferred_downloads[f"{run_id}-student.keras"]() == ARTIFACT_BYTES["student.keras"]
    assert deferred_downloads[f"{run_id}-student.weights.h5"]() == ARTIFACT_BYTES["student.weights.h5"]
    archive = zipfile.ZipFile(BytesIO(deferred_downloads[f"kdstudio-{run_id}.zip"]()))
    names = set(archive.namelist())
    expected = {f"{run_id}/{n}" for n in ("config.json", "metrics.csv", "student.keras", "teacher.keras",
                                          "scratch.keras", "student.weights.h5")}
    assert expected <= names, f"zip should hold config, metrics and the three models: {names}"
    assert archive.read(f"{run_id}/teacher.keras") == ARTIFACT_BYTES["teacher.keras"], "models byte for byte"


def test_download__files_are_read_only_on_click(kd_home: Path, fixture_runs: dict[str, str],
                                                deferred_downloads: dict[str, Any]) -> None:
    run_id = fixture_runs["succeeded"]
    open_page("pages/download.py", {"run": run_id})
    (paths.run_dir(run_id, kd_home) / "student.keras").write_bytes(b"newer")
    assert deferred_downloads[f"{run_id}-student.keras"]() == b"newer", "bytes come from disk at click time"


def test_download__a_run_without_models_disables_their_buttons(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/download.py", {"run": fixture_runs["failed"]})
    assert not at.exception
    disabled = {b.label: b.proto.disabled for b in at.get("download_button")}
    assert disabled["Download student.keras"] and disabled["Download student.weights.h5"], f"{disabled}"
    assert not disabled["Download run.zip"], "the config and metrics are still offered"


def test_download__invalid_run_id_is_an_error(kd_home: Path, fixture_runs: dict[str, str]) -> None:
    at = open_page("pages/download.py", {"run": "../../secrets"})
    assert not at.exception
    assert any("valid run" in e.value for e in at.error), "a bad id is refused before any file is touched"


def test_download__without_finished_runs_says_what_to_do(kd_home: Path) -> None:
    at = open_page("pages/download.py")
    assert not at.exception
    assert "No finished runs yet" in at.info[0].value
