"""--set overrides: presets, nested fields, YAML scalars and their quirks, and every refusal."""

from __future__ import annotations

import pytest
import yaml

from kdcore.config import (
    NOTEBOOK_TEACHER,
    SIZE_PRESETS,
    TINY,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
)

# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize("preset", sorted(SIZE_PRESETS))
def test_apply_overrides__size_presets(preset: str):
    # given / when: a preset named for the teacher, and for the student where it is recurrent
    recurrent = SIZE_PRESETS[preset].family == "recurrent"
    config = apply_overrides(RunConfig(), [f"teacher={preset}"] + ([f"student={preset}"] if recurrent else []))

    # then
    assert config.teacher == SIZE_PRESETS[preset], f"teacher={preset} expands to the preset's sizes"
    if recurrent:
        assert config.student == SIZE_PRESETS[preset], f"student={preset} expands to the preset's sizes"


def test_config_from_dict__preset_name_in_a_mapping():
    # given / when
    config = config_from_dict({"teacher": "tiny", "student": "notebook-teacher"})

    # then
    assert config.teacher == TINY, "'teacher: tiny' stands for the tiny sizes"
    assert config.student == NOTEBOOK_TEACHER, "any preset may be used for either role"


def test_apply_overrides__preset_then_nested_field():
    # given / when: a preset, then one of its sizes changed
    config = apply_overrides(RunConfig(), ["teacher=tiny", "teacher.lstm_units=6"])

    # then: the preset with that one field replaced
    assert config.teacher == TINY.model_copy(update={"lstm_units": 6}), "later --set refines the preset"


# ----------------------------------------------------------------------------- overrides


def test_apply_overrides__nested_fields_and_yaml_scalars():
    # given / when
    config = apply_overrides(RunConfig(), [
        "distill.alpha=0.25", "distill.temperature=3", "distill.scale_t2=false", "train.epochs=7",
        "data.train_limit=50", "data.path=", "name=hello world", "train.teacher_epochs=",
    ])

    # then
    assert config.distill.alpha == 0.25, "a float"
    assert config.distill.temperature == 3.0, "an int where a float is expected"
    assert config.distill.scale_t2 is False, "a YAML boolean"
    assert config.train.epochs == 7, "an int"
    assert config.data.train_limit == 50, "an optional int"
    assert config.data.path is None, "an empty value means 'not set'"
    assert config.train.teacher_epochs is None, "an empty value clears an optional field"
    assert config.name == "hello world", "a plain string with a space"


def test_apply_overrides__leaves_the_base_config_unchanged():
    # given
    base = RunConfig()

    # when
    changed = apply_overrides(base, ["distill.alpha=0.9"])

    # then
    assert base.distill.alpha == 0.1, "the base config is not modified"
    assert changed.distill.alpha == 0.9, "the new config carries the override"


def test_apply_overrides__from_a_dict():
    # given / when
    config = apply_overrides({"teacher": "tiny"}, ["train.epochs=1"])

    # then
    assert config.teacher == TINY, "the dict's preset is expanded"
    assert config.train.epochs == 1, "the override applies to the dict"


@pytest.mark.parametrize("field", ["jit_compile", "mixed_precision"])
@pytest.mark.parametrize("given, expected", [("off", "off"), ("Off", "off"), ("'off'", "off")])
def test_apply_overrides__yaml_bool_quirk(field: str, given: str, expected: str):
    # given: `off` which YAML 1.1 reads as the boolean false
    assert yaml.safe_load(given) in (False, "off"), "precondition: YAML reads this as false or 'off'"

    # when
    config = apply_overrides(RunConfig(), [f"train.{field}={given}"])

    # then
    assert getattr(config.train, field) == expected, f"train.{field}={given} means the word 'off'"


def test_apply_overrides__jit_compile_on():
    # given / when: `on`, which YAML reads as true
    config = apply_overrides(RunConfig(), ["train.jit_compile=on"])

    # then
    assert config.train.jit_compile == "on", "bare `on` means the word 'on'"


def test_apply_overrides__mixed_precision_on_is_refused():
    # given / when / then: `on` is not one of mixed_precision's choices
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), ["train.mixed_precision=on"])
    assert "train.mixed_precision" in str(error.value), "the message names the field"


@pytest.mark.parametrize("item", ["distill.alpha", "=0.5", " =1"])
def test_apply_overrides__malformed_set(item: str):
    # given / when / then
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), [item])
    assert "section.field=value" in str(error.value), "the message shows the expected form"
    assert repr(item) in str(error.value), "the message quotes the bad item"


def test_apply_overrides__text_with_colon_stays_text():
    # given a run name that YAML would read as a mapping
    config = apply_overrides(RunConfig(), ["name=demo: alpha 0.5, T 2"])
    # then it is kept as written
    assert config.name == "demo: alpha 0.5, T 2", config.name


# ----------------------------------------------------------------------------- refusals


SIZE_CASES = [
    pytest.param([f"{role}.{name}={value}"], f"{role}.{name}", id=f"{role}.{name}={value}")
    for role in ("teacher", "student")
    for name in ("embedding_dim", "lstm_units", "gru_units")
    for value in (0, -3)
]


BAD_OVERRIDES = [
    pytest.param(["distill.alpha=-0.1"], "distill.alpha", id="alpha=-0.1"),
    pytest.param(["distill.alpha=1.3"], "distill.alpha", id="alpha=1.3"),
    pytest.param(["distill.temperature=0"], "distill.temperature", id="temperature=0"),
    pytest.param(["distill.temperature=-1"], "distill.temperature", id="temperature=-1"),
    *SIZE_CASES,
    pytest.param(["train.epochs=0"], "train.epochs", id="epochs=0"),
    pytest.param(["train.batch_size=0"], "train.batch_size", id="batch_size=0"),
    pytest.param(["train.learning_rate=0"], "train.learning_rate", id="learning_rate=0"),
    pytest.param(["colour=red"], "colour", id="unknown-top-level-key"),
    pytest.param(["distill.beta=0.5"], "distill.beta", id="unknown-nested-key"),
    pytest.param(["train.epochs=abc"], "train.epochs", id="epochs=abc"),
    pytest.param(["train.epochs=2.5"], "train.epochs", id="epochs=2.5"),
    pytest.param(["distill.alpha=abc"], "distill.alpha", id="alpha=abc"),
    pytest.param(["distill.scale_t2=maybe"], "distill.scale_t2", id="scale_t2=maybe"),
    pytest.param(["data.val_fraction=0.6"], "data.val_fraction", id="val_fraction=0.6"),
    pytest.param(["data.validate_on=x"], "data.validate_on", id="validate_on=x"),
    pytest.param(
        ["data.val_fraction=0", "data.validate_on=val"], "data.val_fraction", id="val_fraction=0-with-val",
    ),
    pytest.param(["teacher=huge"], "teacher", id="unknown-teacher-preset"),
    pytest.param(["student=notebook"], "student", id="unknown-student-preset"),
    pytest.param(["train.jit_compile=maybe"], "train.jit_compile", id="jit_compile=maybe"),
    pytest.param(["train.monitor=loss"], "train.monitor", id="monitor=loss"),
]


@pytest.mark.parametrize("overrides, field", BAD_OVERRIDES)
def test_apply_overrides__invalid_value(overrides: list[str], field: str):
    # given: the default config and one bad override
    # when
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), overrides)

    # then: the message names the field path
    message = str(error.value)
    assert field in message, f"the message names {field!r}: {message}"
    assert error.value.problems, "the problems are also available as a list"


def test_apply_overrides__val_fraction_zero_with_validate_on_val():
    # given / when: no held-out split, yet validation on it
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), ["data.val_fraction=0"])

    # then: the message names the field and the way out
    message = str(error.value)
    assert "val_fraction" in message, f"the message names val_fraction: {message}"
    assert "validate_on" in message, f"the message points at validate_on: {message}"


def test_apply_overrides__val_fraction_zero_with_validate_on_test():
    # given / when: the notebook's protocol needs no held-out split
    config = apply_overrides(RunConfig(), ["data.val_fraction=0", "data.validate_on=test"])

    # then
    assert config.data.val_fraction == 0.0, "val_fraction 0 is allowed when validating on test"


def test_apply_overrides__every_problem_listed():
    # given / when: two bad fields at once
    with pytest.raises(ConfigError) as error:
        apply_overrides(RunConfig(), ["distill.alpha=2", "train.epochs=0"])

    # then
    assert len(error.value.problems) == 2, f"both problems reported: {error.value.problems}"
    assert "distill.alpha" in str(error.value) and "train.epochs" in str(error.value), "both fields named"


def test_apply_overrides__a_dataset_id_of_digits_stays_text():
    # given a registered dataset's id that YAML would read as a number (octal, even)
    dataset_id = "0123456789012345"
    # when it is set from the command line, beside a run named by digits
    config = apply_overrides(RunConfig(), [f"data.dataset={dataset_id}", "name=2024"])
    # then both stay as typed
    assert config.data.dataset == dataset_id, f"the id kept its digits: {config.data.dataset!r}"
    assert config.name == "2024", f"the name stays text: {config.name!r}"


def test_apply_overrides__null_still_unsets_a_text_field():
    # given a config with a data file, as a form or an earlier --set gave it
    config = apply_overrides(RunConfig(), ["data.path=/somewhere/imdb.npz"])
    # when it is unset the YAML way, and the run is named "null" on purpose
    config = apply_overrides(config, ["data.path=null", "name=null"])
    # then the path is unset and the name is the word
    assert config.data.path is None, f"null unsets data.path: {config.data.path!r}"
    assert config.name == "null", f"a name is text: {config.name!r}"
