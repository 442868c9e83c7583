"""The New-run form's teacher source: trained here, an uploaded .keras, soft labels, an ensemble.

The .keras check runs in a subprocess (``python -m kdcore teacher check``); most tests patch that
boundary (``run_teacher_check``) with a canned report; one slow test runs the real command on a
tiny model saved here, in a fresh interpreter that must end without TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.datasets import Manifest, register_frame
from kdcore.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
FAMILY = "conv"  # not the default family
GOOD = {"ok": True, "problems": [], "input": "tokens", "input_length": 200, "outputs": 2, "probabilities": False,
        "params": 12_345, "name": "teacher"}


class Checks(list):
    """The checks asked for, (file, config) each; ``canned`` is the report every check returns."""

    canned: dict[str, dict[str, Any]]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Checks:
    """Patch the subprocess check with a canned report (GOOD unless a test sets ``checks.canned``); records calls."""
    calls = Checks()
    calls.canned = {"report": GOOD}

    def fake(file: Path, config: Any, home: Path, **_: Any) -> dict[str, Any]:
        calls.append((Path(file), config))
        return dict(calls.canned["report"])

    monkeypatch.setattr("kdcore.worker.teacher_check_process.run_teacher_check", fake)
    return calls


def model_file(kd_home: Path, name: str = "mine.keras") -> Path:
    folder = kd_home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"PK-not-really-a-model")
    return path


def choose(at: AppTest, kind: str) -> AppTest:
    at.selectbox(key="form.teacher_source.kind").set_value(kind).run()
    assert not at.exception, f"page raised with source {kind}: {at.exception}"
    return at


def keys(at: AppTest) -> set[str]:
    found = set()
    for kind in ("text_input", "selectbox", "multiselect", "button", "number_input"):
        found |= {w.key for w in getattr(at, kind) if w.key}
    return found


def test_new_run_teacher_source__each_source_shows_its_fields(kd_home: Path, open_page: Callable[..., AppTest],
                                                              checks: Checks) -> None:
    # given the form, trained here by default, with the reuse box
    at = open_page()
    assert at.selectbox(key="form.teacher_source.kind").value == "trained", "trained here is the default"
    assert "form.teacher_from" in keys(at), "trained here offers reusing an earlier teacher"
    # when each other source is chosen, then its own fields show and the reuse box does not
    wanted = {"keras": {"form.teacher_source.file", "form.teacher_source.input", "form.teacher_source.output"},
              "soft_labels": {"form.teacher_source.file", "form.teacher_source.test_file",
                              "form.teacher_source.id_column", "form.teacher_source.output"},
              "ensemble": {"form.teacher_source.members", "form.teacher_source.combine"}}
    for kind, fields in wanted.items():
        shown = keys(choose(at, kind))
        assert fields <= shown, f"{kind} shows {fields - shown} too"
        assert "form.teacher_from" not in shown, f"{kind}: no teacher is reused"
    # and back on trained here, the teacher family chosen before is still there
    choose(at, "trained").selectbox(key="form.teacher.family").set_value(FAMILY).run()
    choose(choose(at, "ensemble"), "trained")
    assert at.selectbox(key="form.teacher.family").value == FAMILY, "the family survives a look at another source"
    # and soft labels switch augmentation off with the reason
    choose(at, "soft_labels")
    assert at.number_input(key="form.distill.augment_window").disabled, "augmentation is off for soft labels"
    assert any("Augmentation needs the teacher" in c.value for c in at.caption), "and the form says why"
    assert not checks, "choosing a source checks nothing yet"


def test_new_run_teacher_source__a_bad_keras_refuses_launch_with_the_message(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], checks: Checks) -> None:
    # given an uploaded .keras whose check finds a Lambda layer
    checks.canned["report"] = {"ok": False, "problems": ["mine.keras needs unsafe deserialization (a Lambda layer)"]}
    path = model_file(kd_home)
    at = choose(open_page(), "keras")
    at.text_input(key="form.teacher_source.file").set_value(str(path)).run()
    # when launched
    at.button(key="launch").click().run()
    # then the check ran once, its reason is under the field, and nothing is queued
    assert not at.exception, f"launch raised: {at.exception}"
    assert len(checks) == 1 and checks[0][0] == path, f"the file was checked once: {checks}"
    errors = [e.value for e in at.error]
    assert any("Lambda layer" in e for e in errors), f"the reason is shown: {errors}"
    assert any("Nothing was queued" in e for e in errors), f"launch refused: {errors}"
    assert store.list_runs() == [], "nothing queued"


def test_new_run_teacher_source__a_good_keras_is_checked_and_queued(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], checks: Checks) -> None:
    # given an uploaded .keras, checked with the button
    path = model_file(kd_home)
    at = choose(open_page(), "keras")
    at.text_input(key="form.teacher_source.file").set_value(str(path)).run()
    at.selectbox(key="form.teacher_source.output").set_value("logits").run()
    at.button(key="teacher_source.check").click().run()
    # then its report is shown
    assert any("reads token ids of length 200" in s.value for s in at.success), "the report is shown"
    # when launched
    at.button(key="launch").click().run()
    # then the run is queued with the source, without a second check
    assert not at.exception, f"launch raised: {at.exception}"
    assert len(checks) == 1, f"the cached report is reused: {len(checks)} checks"
    runs = store.list_runs()
    assert len(runs) == 1, f"one run queued: {[e.value for e in at.error]}"
    source = runs[0].run_config().teacher_source
    assert (source.kind, source.file, source.output) == ("keras", str(path), "logits"), f"{source}"


def test_new_run_teacher_source__offers_the_teacher_length_the_check_found(
        kd_home: Path, open_page: Callable[..., AppTest], checks: Checks) -> None:
    # given a token-id teacher built for 300 tokens while the form says 200
    checks.canned["report"] = {**GOOD, "input_length": 300}
    at = choose(open_page(), "keras")
    at.text_input(key="form.teacher_source.file").set_value(str(model_file(kd_home))).run()
    at.button(key="teacher_source.check").click().run()
    # when the offer is taken
    at.button(key="teacher_source.set_length").click().run()
    # then the teacher length is set to it
    assert not at.exception, f"page raised: {at.exception}"
    assert at.number_input(key="form.data.teacher_maxlen").value == 300, "data.teacher_maxlen follows the model"


@pytest.fixture
def three_classes(kd_home: Path) -> Manifest:
    rows = [(f"a {c} text number {i} with words", c) for c in ("neg", "neu", "pos") for i in range(20)]
    return register_frame(kd_home, pd.DataFrame(rows, columns=["text", "label"]), name="tweets")


def test_new_run_teacher_source__soft_labels_of_the_wrong_count_are_refused_under_the_field(
        kd_home: Path, three_classes: Manifest, store: RunStore, open_page: Callable[..., AppTest]) -> None:
    # given soft labels with one row too few for the registered dataset's training split
    rows = three_classes.split_sizes["train"]
    short = kd_home / "uploads" / "short.npy"
    short.parent.mkdir(parents=True, exist_ok=True)
    np.save(short, np.random.default_rng(0).normal(size=(rows - 1, 3)))
    at = open_page()
    at.selectbox(key="form.data.dataset").set_value(three_classes.id).run()
    choose(at, "soft_labels")
    at.text_input(key="form.teacher_source.file").set_value(str(short)).run()
    # then the count is named under the field, and Launch queues nothing
    errors = [e.value for e in at.error]
    assert any(f"{rows - 1:,} rows" in e and f"{rows:,}" in e for e in errors), f"the counts are named: {errors}"
    at.button(key="launch").click().run()
    assert store.list_runs() == [], "nothing queued"
    # when the right count is given, then it queues with kind soft_labels
    good = kd_home / "uploads" / "good.npy"
    np.save(good, np.random.default_rng(0).normal(size=(rows, 3)))  # logits
    at.text_input(key="form.teacher_source.file").set_value(str(good)).run()
    at.button(key="launch").click().run()
    runs = store.list_runs()
    assert len(runs) == 1, f"queued: {[e.value for e in at.error]}"
    assert runs[0].run_config().teacher_source.kind == "soft_labels", "the source is kept"


def test_new_run_teacher_source__an_ensemble_of_two_runs_queues_both_members(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], checks: Checks,
        add_finished_run: Callable[[str, dict], str]) -> None:
    # given two finished runs that kept their teacher.keras
    summary = {"arms": {"teacher": {"test_accuracy": 0.86}}}
    members = [add_finished_run(run_id, summary) for run_id in ("run-a", "run-b")]
    for run_id in members:
        folder = paths.run_dir(run_id, kd_home)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "teacher.keras").write_bytes(b"PK-fake")
    at = choose(open_page(), "ensemble")
    box = at.multiselect(key="form.teacher_source.members")
    assert sorted(box.options) == ["run-a · recurrent · 86.0%", "run-b · recurrent · 86.0%"], (
        f"both runs are offered as name · family · accuracy: {box.options}")
    # when both are picked and the run launched
    box.set_value(members).run()
    at.button(key="launch").click().run()
    # then each member was checked, and the run queued as an ensemble of both
    assert not at.exception, f"launch raised: {at.exception}"
    assert sorted(p.parent.name for p, _ in checks) == members, f"each member checked: {checks}"
    runs = [r for r in store.list_runs() if r.status == "queued"]
    assert len(runs) == 1, f"one run queued: {[e.value for e in at.error]}"
    source = runs[0].run_config().teacher_source
    assert (source.kind, source.members) == ("ensemble", members), f"{source}"


def test_live__says_where_the_teacher_came_from_and_a_dash_without_test_outputs(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given a finished run distilled from soft labels without test outputs
    labels = kd_home / "uploads" / "train.npy"
    labels.parent.mkdir(parents=True, exist_ok=True)
    np.save(labels, np.zeros((4, 2)))
    config = apply_overrides(RunConfig(name="from soft labels"), ["teacher_source.kind=soft_labels",
                                                                  f"teacher_source.file={labels}"])
    run_id = store.create_run(config, run_id="run-soft")
    assert store.claim_next("w-test") is not None, "fixture: the run is claimed"
    summary = {"teacher_source": "soft labels from train.npy (logits; no test outputs given: no test accuracy)",
               "arms": {"teacher": {"test_accuracy": None, "params": None},
                        "student": {"test_accuracy": 0.81, "params": 1000},
                        "scratch": {"test_accuracy": 0.79, "params": 1000}}}
    assert store.finish(run_id, "succeeded", summary=summary, worker_id="w-test"), "fixture: the run finishes"
    # when its Live page opens
    at = open_page("pages/live.py", {"run": run_id})
    # then it names the source, and the teacher's accuracy is a dash
    assert not at.exception, f"page raised: {at.exception}"
    assert "Teacher: soft labels from train.npy" in texts(at), "the source is named"
    frame = next(d.value for d in at.dataframe if "Test accuracy" in d.value.columns)
    assert frame.iloc[0]["Test accuracy"] == "–", f"no test accuracy: {frame.iloc[0].to_dict()}"


@pytest.mark.slow
def test_new_run_teacher_source__real_check_of_a_lambda_model_refuses_launch_without_tensorflow_here(
        kd_home: Path) -> None:
    # given a tiny real .keras with a Lambda layer (saved here, in the test's process)
    import keras

    inputs = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(50, 4)(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    bad = kd_home / "uploads" / "lambda.keras"
    bad.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(bad)
    soft = kd_home / "uploads" / "soft.npy"
    np.save(soft, np.random.default_rng(0).normal(size=(25_000, 2)))
    # when a fresh app process launches a run on it (the real subprocess check), then draws the other sources
    script = textwrap.dedent(f"""
        import sys
        from unittest import mock
        from streamlit.testing.v1 import AppTest
        from kdcore.store import RunStore
        with mock.patch("kdcore.worker.processes.ensure_local_worker", return_value=False):
            at = AppTest.from_file({APP!r}, default_timeout=150).run()
            at.selectbox(key="form.teacher_source.kind").set_value("keras").run()
            at.text_input(key="form.teacher_source.file").set_value({str(bad)!r}).run()
            at.button(key="launch").click().run()
            assert not at.exception, at.exception
            print("ERRORS", [e.value for e in at.error])
            print("QUEUED", len(RunStore().list_runs()))
            for kind in ("soft_labels", "ensemble", "trained"):  # the other sources, drawn and checked here
                at.selectbox(key="form.teacher_source.kind").set_value(kind).run()
                if kind == "soft_labels":
                    at.text_input(key="form.teacher_source.file").set_value({str(soft)!r}).run()
                assert not at.exception, (kind, at.exception)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print("HEAVY", heavy)
        sys.exit(1 if heavy else 0)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDCORE_HOME": str(kd_home)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    # then the app stayed free of TensorFlow, refused the launch, and said why
    assert done.returncode == 0, f"the app imported TensorFlow or failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert "QUEUED 0" in done.stdout, f"nothing queued:\n{done.stdout}"
    assert "Lambda" in done.stdout and "Nothing was queued" in done.stdout, f"the reason is shown:\n{done.stdout}"
