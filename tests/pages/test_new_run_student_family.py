"""The New run page: a student of any family (issue 20), chosen by its family box or a preset, and launched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kdcore.config import FAMILIES, SIZE_PRESETS, param_count
from kdcore.store import RunStore
from kdcore.ui.format import fmt_params


def test_new_run__conv_student_shows_its_fields_and_launches(kd_home: Path, store: RunStore,
                                                             open_page: Callable[..., AppTest]) -> None:
    # given the form on the n-gram teacher's recipe (the page's first setup)
    at = open_page()
    recipe = {key: at.number_input(key=key).value for key in ("form.data.teacher_maxlen", "form.train.epochs")}
    view = at.radio(key="form.distill.teacher_view").value
    # when the student's family is switched to conv
    at.selectbox(key="form.student.family").set_value("conv").run()
    # then the conv student's fields show with its default student sizes, and the teacher's recipe stays as it was
    assert not at.exception, f"page raised: {at.exception}"
    shown = {w.key for w in at.number_input} | {w.key for w in at.text_input}
    assert {"form.student.filters", "form.student.kernel_sizes"} <= shown, f"conv student fields shown: {shown}"
    assert "form.student.lstm_units" not in shown, "the recurrent student's fields are hidden"
    assert at.number_input(key="form.student.filters").value == FAMILIES["conv"].student_size.filters, \
        "the conv family's default student sizes"
    assert {key: at.number_input(key=key).value for key in recipe} == recipe, "a student's family brings no recipe"
    assert at.radio(key="form.distill.teacher_view").value == view, "nor the teacher's view"
    metrics = {m.label: m.value for m in at.metric}
    expected = fmt_params(param_count(FAMILIES["conv"].student_size, at.number_input(key="form.data.vocab_size").value))
    assert metrics["Student parameters"] == expected, f"the conv student's count: {metrics}"
    # when its widths are edited and the run launched
    at.text_input(key="form.student.kernel_sizes").set_value("2, 4").run()
    assert at.selectbox(key="preset.student").value == "custom", "edited sizes are no longer a preset"
    at.number_input(key="form.data.train_limit").set_value(300).run()
    at.button(key="launch").click().run()
    # then the stored config has the conv student as shown
    assert not at.exception, f"launch raised: {at.exception}"
    config = store.list_runs()[0].run_config()
    assert (config.student.family, config.student.kernel_sizes) == ("conv", (2, 4)), f"queued: {config.student}"
    assert config.teacher.family == "ngram", "the teacher kept its family"


def test_new_run__student_preset_of_another_family_switches_it(kd_home: Path, store: RunStore,
                                                               open_page: Callable[..., AppTest]) -> None:
    # given the form
    at = open_page()
    # when the student takes the micro n-gram preset
    at.selectbox(key="preset.student").set_value("micro-ngram").run()
    # then its family and sizes follow, and the launched run stores them
    assert not at.exception, f"page raised: {at.exception}"
    assert at.selectbox(key="form.student.family").value == "ngram", "the preset's family"
    assert at.number_input(key="form.student.embedding_dim").value == 1, "the preset's sizes"
    assert at.selectbox(key="preset.student").value == "micro-ngram", "the box still names the preset"
    at.number_input(key="form.data.train_limit").set_value(300).run()
    at.button(key="launch").click().run()
    assert not at.exception, f"launch raised: {at.exception}"
    config = store.list_runs()[0].run_config()
    assert config.student == SIZE_PRESETS["micro-ngram"], f"the micro n-gram student is queued: {config.student}"


def test_new_run__bad_conv_student_width_is_named_and_queues_nothing(kd_home: Path, store: RunStore,
                                                                     open_page: Callable[..., AppTest]) -> None:
    # given a conv student
    at = open_page()
    at.selectbox(key="form.student.family").set_value("conv").run()
    # when a kernel width is out of range and Launch is pressed
    at.text_input(key="form.student.kernel_sizes").set_value("3, 99").run()
    at.button(key="launch").click().run()
    # then the field is named in the person's words, under the field and in the summary, and nothing is queued
    assert not at.exception, f"page raised: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert "Student · kernel widths" in errors and "between 1 and 64" in errors, f"named with the limit: {errors}"
    assert store.list_runs() == [], "nothing queued"
