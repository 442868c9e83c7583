"""A student of any family (issue 20): parsed like the teacher, chosen by presets, --set and YAML, keyed by family."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcore.config import (
    FAMILIES,
    SIZE_PRESETS,
    ConfigError,
    ConvSize,
    NgramSize,
    RunConfig,
    apply_overrides,
    config_from_dict,
    field_description,
    load_config,
    stored_config,
)


def test_run_config__a_student_of_each_family_from_a_dict():
    # given / when: a student given by its family's sizes, and an older stored one without a family
    conv = config_from_dict({"student": {"family": "conv", "filters": 8, "kernel_sizes": "2,3"}})
    old = stored_config({"student": {"embedding_dim": 8, "lstm_units": 4, "gru_units": 4}})
    # then each is its family's model, the old one still recurrent
    assert isinstance(conv.student, ConvSize) and conv.student.kernel_sizes == (2, 3), f"{conv.student}"
    assert old.student.family == "recurrent", "a student without a family is the default family's"


def test_apply_overrides__student_family_brings_its_student_sizes_in_any_order():
    # given the family and one size, in either order
    first = apply_overrides(RunConfig(), ["student.family=conv", "student.filters=16"])
    second = apply_overrides(RunConfig(), ["student.filters=16", "student.family=conv"])
    # then the family's default student sizes with the one size changed, whatever the order
    expected = FAMILIES["conv"].student_size.model_copy(update={"filters": 16})
    assert first.student == expected and second.student == expected, f"{first.student} / {second.student}"


def test_apply_overrides__a_student_preset_then_one_size():
    config = apply_overrides(RunConfig(), ["student.embedding_dim=2", "student=micro-ngram"])
    assert config.student == SIZE_PRESETS["micro-ngram"].model_copy(update={"embedding_dim": 2}), f"{config.student}"


def test_apply_overrides__two_student_families_are_refused_by_name():
    with pytest.raises(ConfigError) as caught:
        apply_overrides(RunConfig(), ["student=tiny", "student.family=ngram"])
    assert caught.value.problems == ["student: the overrides choose different families (ngram, recurrent); "
                                     "choose one"], f"{caught.value.problems}"


@pytest.mark.parametrize("student", [pytest.param(["student=tiny-ngram"], id="preset"),
                                     pytest.param(["student.family=conv"], id="family")])
def test_recipe__a_students_family_brings_no_recipe(student: list[str]):
    # given the notebook's settings and the n-gram teacher's recipe
    notebook, ngram_teacher = RunConfig(), apply_overrides(RunConfig(), ["teacher=ngram"])
    # when only the student's family changes, under either teacher
    under_notebook = apply_overrides(notebook, student)
    under_ngram = apply_overrides(ngram_teacher, student)
    # then every setting but the student's is the teacher's recipe, as before
    for before, after in ((notebook, under_notebook), (ngram_teacher, under_ngram)):
        assert after.model_dump(exclude={"student"}) == before.model_dump(exclude={"student"}), \
            f"{student}: the student's family changed more than the student"
    from_dict = config_from_dict({"student": {"family": "ngram"}})
    assert from_dict.model_dump(exclude={"student"}) == notebook.model_dump(exclude={"student"}), \
        "a config file's student family fills in no recipe"


def test_load_config__a_yaml_student_by_preset_or_family(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("student: small-conv\n")
    assert load_config(path).student == SIZE_PRESETS["small-conv"], "a preset of another family"
    path.write_text("student: {family: ngram, embedding_dim: 2}\n")
    assert load_config(path).student == NgramSize(embedding_dim=2), "a family's sizes (the rest: the size defaults)"


@pytest.mark.parametrize(("raw", "words"), [
    pytest.param({"student": {"family": "conv", "filters": 0}}, "student.filters: Input should be greater than",
                 id="no-filters"),
    pytest.param({"student": {"family": "ngram", "gru_units": 4}}, "student.gru_units: unknown field",
                 id="other-field"),
    pytest.param({"student": {"family": "rnn"}},
                 "student.family: unknown family 'rnn'; allowed: recurrent, ngram, conv", id="unknown-family"),
])
def test_config__bad_student_sizes_are_named_without_the_union_tag(raw, words):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw)
    assert any(p.startswith(words) for p in caught.value.problems), f"{words!r} not in {caught.value.problems}"


def test_scratch_key__a_conv_and_a_recurrent_student_of_the_same_shared_fields_differ():
    # given a recurrent and a conv student that agree on every field they share (embedding and dropouts)
    recurrent = RunConfig()
    shared = recurrent.student.model_dump(include={"embedding_dim", "embedding_dropout", "dropout"})
    conv = apply_overrides(recurrent, ["student.family=conv", *(f"student.{k}={v}" for k, v in shared.items())])
    # then their scratch students are different models, their teacher the same one
    assert conv.student.model_dump(include=set(shared)) == shared, "the shared fields agree"
    assert conv.scratch_key(0) != recurrent.scratch_key(0), "the family is part of the scratch key"
    assert conv.teacher_key() == recurrent.teacher_key(), "the student never enters the teacher's key"


def test_field_description__a_students_field_as_its_family_defines_it():
    assert field_description("student.dropout", "ngram").startswith("Dropout on the averaged embedding"), "n-gram's"
    assert field_description("student.filters", "conv") == "Filters per kernel width.", "conv's"
    assert field_description("student.lstm_units") == "Units per direction of the bidirectional LSTM.", "default"
