"""Views of a run whose student is not recurrent (issue 20): the form, the Runs table, Compare and the time estimate."""

from __future__ import annotations

from types import SimpleNamespace

from kdcore.config import FAMILIES, RunConfig, apply_overrides, param_count
from kdcore.store import RunRecord
from kdcore.ui import compare
from kdcore.ui import form as ui_form
from kdcore.ui import tables as ui_tables
from kdcore.ui.estimate import ArmSpeed, arm_family, measured_speeds


def config_of(*overrides: str) -> dict:
    return apply_overrides(RunConfig(), list(overrides)).model_dump(mode="json")


def record(config: dict) -> RunRecord:
    return RunRecord(id="r1", name="", status="queued", config=config, created_at=100.0, started_at=None,
                     finished_at=None, worker_id=None, heartbeat_at=None, arm=None, epoch=None, step=None, steps=None,
                     epochs=None, samples_per_s=None, device=None, error=None, traceback=None, summary=None,
                     cancel_requested=False, attempts=0)


def test_form__a_student_family_brings_its_sizes_and_no_recipe() -> None:
    # given the form on the n-gram teacher's recipe
    values = ui_form.form_values(apply_overrides(RunConfig(), ["teacher=ngram"]))
    before = {k: v for k, v in values.items() if not k.startswith(ui_form.form_key("student."))}
    # when the student switches to conv
    values.update(ui_form.family_values("conv", values, "recurrent", role="student"))
    values[ui_form.form_key("student.family")] = "conv"
    # then only the student's fields changed, to the conv family's student sizes, and the config is a conv student's
    after = {k: v for k, v in values.items() if not k.startswith(ui_form.form_key("student."))}
    assert after == before, "a student's family changes no teacher or recipe field"
    config, problems = ui_form.validate_form(values)
    assert problems == [] and config is not None, f"the form is valid: {problems}"
    assert config.student == FAMILIES["conv"].student_size, f"the conv student's default sizes: {config.student}"
    assert config.teacher.family == "ngram" and config.train.teacher_optimizer == "lazy_adam", "teacher unchanged"
    estimate = ui_form.size_estimate(values)
    assert estimate.student_params == param_count(config.student, config.data.vocab_size), "its count, by family"


def test_form__student_values_round_trip_for_every_family() -> None:
    for name in ("small-conv", "micro-ngram", "small-student"):
        # given a config whose student is a preset of each family
        config = apply_overrides(RunConfig(), [f"student={name}"])
        # when it fills the form and the form is read back
        values = ui_form.form_values(config)
        rebuilt, problems = ui_form.validate_form(values)
        # then it is the same config, and the preset box names the preset
        assert problems == [] and rebuilt == config, f"{name}: the form rebuilds the config: {problems}"
        assert ui_form.matching_preset(values, "student") == name, f"{name}: the preset box follows the sizes"


def test_label_problem__a_conv_students_field_in_the_persons_words() -> None:
    values = {**ui_form.form_values(apply_overrides(RunConfig(), ["student=small-conv"])),
              ui_form.form_key("student.filters"): 0}
    check = ui_form.check_form(values)
    assert check.config is None and "student.filters" in check.by_field, f"under its field: {check.by_field}"
    assert any("Student · filters per width" in p for p in check.problems), f"named as the form does: {check.problems}"


def test_runs_frame__the_student_cell_names_its_family() -> None:
    frame = ui_tables.runs_frame([record(config_of("student=small-conv"))])
    assert frame.loc[0, "Student"] == "conv 8d, 16×[3,5]", f"the conv student's cell: {frame.loc[0, 'Student']}"
    ngram = ui_tables.runs_frame([record(config_of("student=micro-ngram"))])
    assert ngram.loc[0, "Student"].startswith("n-gram 1d"), f"the n-gram student's cell: {ngram.loc[0, 'Student']}"


def test_config_sections__a_conv_student_against_its_familys_defaults() -> None:
    # given a run whose student is the conv family's default student with one edit
    config = config_of("student.family=conv", "student.filters=16")
    # when its panel rows are made
    student = compare.config_sections(config)["Student"].set_index("Field")
    # then the family and the edit are changes, the family's own default sizes are not, and each field is explained
    assert student.loc["student.family", "Changed"] and student.loc["student.filters", "Changed"], f"{student}"
    assert not student.loc["student.kernel_sizes", "Changed"], "the conv student's default widths are no edit"
    assert student.loc["student.filters", "Meaning"] == "Filters per kernel width.", "described as conv defines it"
    assert compare.changed_fields(config) == ["student.family", "student.filters"], compare.changed_fields(config)


def test_compare_frame__runs_of_two_student_families_differ_on_the_family() -> None:
    frame = compare.compare_frame({"a": config_of(), "b": config_of("student=small-conv")})
    assert frame.loc["student.family", compare.DIFFERS], "the family row differs"
    assert list(frame.loc["student.family", ["a", "b"]]) == ["recurrent", "conv"], f"{frame.loc['student.family']}"


def test_estimate__a_students_arms_are_of_the_students_family() -> None:
    config = config_of("teacher=ngram", "student=small-conv")
    assert [arm_family(arm, config) for arm in ("teacher", "student", "scratch@1")] == ["ngram", "conv", "conv"]
    runs = [SimpleNamespace(config=config, summary={"arms": {"student": {"params": 161_122, "samples_per_s": 900.0}}})]
    assert measured_speeds(runs) == [ArmSpeed("conv", 161_122, 900.0)], "a conv student's speed counts for conv"
    assert arm_family("student", {}) == "recurrent", "an old config without a student: the default family"
