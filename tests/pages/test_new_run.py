"""The New run page: every setting, presets, families, validation, and the launch into the queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kdcore.store import RunStore


def test_new_run__shows_every_setting_and_live_parameter_counts(kd_home: Path,
                                                                open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.button(key="setup.notebook").click().run()  # issue 17 item 9: the form now starts on the n-gram recipe
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


def test_new_run__preset_fills_the_sizes(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.selectbox(key="preset.teacher").set_value("tiny").run()
    assert at.number_input(key="form.teacher.embedding_dim").value == 8, "tiny preset: embedding 8"
    assert at.number_input(key="form.teacher.lstm_units").value == 4, "tiny preset: 4 LSTM units"


def test_new_run__teacher_family_shows_its_fields_and_launches(kd_home: Path, store: RunStore,
                                                               open_page: Callable[..., AppTest]) -> None:
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
    assert metrics["Teacher parameters"] == "18.06 M", \
        f"18,057,346 parameters for the default n-gram teacher: {metrics}"

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
                                                                   value: float, named: str,
                                                                   open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.number_input(key=key).set_value(value).run()
    at.button(key="launch").click().run()
    assert not at.exception, f"invalid input must not raise: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert named in errors and key.removeprefix("form.") in errors, f"message should name {named}: {errors!r}"
    assert "Nothing was queued" in errors, "the launch refusal should be explicit"
    assert store.list_runs() == [], "nothing may be queued from an invalid form"


def test_new_run__own_view_with_augmentation_is_refused_with_the_fix(kd_home: Path, store: RunStore,
                                                                     open_page: Callable[..., AppTest]) -> None:
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


def test_new_run__launch_queues_the_run_and_opens_its_live_page(kd_home: Path, store: RunStore,
                                                                open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.button(key="setup.notebook").click().run()  # the recurrent family these sizes are of (item 9's new default)
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


def test_new_run__teacher_reuse_starts_at_train_a_new_one(kd_home: Path, store: RunStore, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    box = at.selectbox(key="form.teacher_from")
    assert box.index == 0 and box.options[0] == "No: train a new teacher", \
        f"the choice is shown, not Streamlit's empty placeholder: index {box.index}, options {box.options}"
    at.button(key="launch").click().run()
    queued = [r for r in store.list_runs(["queued"]) if r.id != fixture_runs["queued"]]
    assert queued and queued[0].config["teacher_from"] is None, "a new teacher is queued as no teacher_from"


def test_new_run__reusing_a_teacher_copies_its_sizes(kd_home: Path, store: RunStore, fixture_runs: dict[str, str],
                                                     open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.selectbox(key="form.teacher_from").set_value(fixture_runs["succeeded"]).run()
    assert at.number_input(key="form.teacher.embedding_dim").value == 8, "sizes of the reused teacher (tiny)"
    assert at.number_input(key="form.data.vocab_size").value == 500, "vocabulary of the reused teacher"
    at.button(key="launch").click().run()
    queued = [r for r in store.list_runs(["queued"]) if r.id != fixture_runs["queued"]]
    assert queued and queued[0].config["teacher_from"] == fixture_runs["succeeded"], "teacher_from is queued"
