"""RunConfig: the notebook's defaults, presets, files, --set overrides, every refusal, teacher_key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from kdcore.config import (
    FAMILY_DEFAULT_SIZES,
    NOTEBOOK_STUDENT,
    NOTEBOOK_TEACHER,
    SIZE_PRESETS,
    TINY,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
    field_reference,
    load_config,
)

ROOT = Path(__file__).resolve().parents[2]


def leaf_fields(model: BaseModel, prefix: str = "", suffix: str = "") -> set[str]:
    """Dotted names of every non-model field, walked from the model classes themselves.

    The teacher's fields are named per family (``teacher.filters (conv)``), with one ``teacher.family``.
    """
    names: set[str] = set()
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if prefix == "" and name == "teacher":
            for family, size in FAMILY_DEFAULT_SIZES.items():
                fields = leaf_fields(size, "teacher.", f" ({family})")
                names |= {n for n in fields if not n.startswith("teacher.family")}
            names.add("teacher.family")
        elif isinstance(value, BaseModel):
            names |= leaf_fields(value, f"{prefix}{name}.")
        else:
            names.add(prefix + name + suffix)
    return names


def default_of(name: str) -> Any:
    """RunConfig()'s value of a field_reference row, ``teacher.filters (conv)`` from that family's defaults."""
    path, _, family = name.partition(" (")
    value: Any = FAMILY_DEFAULT_SIZES[family.rstrip(")")] if family else RunConfig()
    parts = path.split(".")[1:] if family else path.split(".")
    for part in parts:
        value = getattr(value, part)
    return value


# ----------------------------------------------------------------------------- defaults and presets


def test_run_config__defaults_equal_the_notebook():
    # given / when: a config with nothing set
    config = RunConfig()

    # then: every value the notebook hard-codes
    assert config.data.vocab_size == 20000, "notebook keeps the 20,000 most frequent words"
    assert config.data.maxlen == 200, "notebook pads/truncates reviews to 200 tokens"
    assert config.distill.alpha == 0.1, "notebook weights the hard loss with alpha = 0.1"
    assert config.distill.temperature == 10.0, "notebook distills at T = 10"
    assert config.distill.scale_t2 is True, "the T^2 scaling (Hinton et al.) is on by default"
    assert config.train.epochs == 3, "notebook trains 3 epochs"
    assert config.train.batch_size == 32, "notebook's batch size is 32"
    assert config.train.learning_rate == 1e-3, "notebook uses Adam's default learning rate"
    assert config.train.teacher_rate == 3e-4, "except for the teacher: the recurrent recipe's, measured (issue #7)"
    assert config.teacher == NOTEBOOK_TEACHER, "default teacher is the notebook's teacher"
    assert config.student == NOTEBOOK_STUDENT, "default student is the notebook's student"
    assert (config.teacher.embedding_dim, config.teacher.lstm_units, config.teacher.gru_units) == (128, 64, 128), \
        "notebook teacher: Embedding 128, BiLSTM 64, BiGRU 128"
    assert (config.student.embedding_dim, config.student.lstm_units, config.student.gru_units) == (64, 32, 32), \
        "notebook student: Embedding 64, BiLSTM 32, BiGRU 32"


def test_run_config__params_and_compression_of_the_notebook_models():
    # given: the default (notebook) config
    config = RunConfig()

    # when
    teacher, student = config.teacher_params(), config.student_params()

    # then: the counts Keras prints for the notebook's models
    assert teacher == 2_857_474, f"notebook teacher has 2,857,474 parameters, got {teacher:,}"
    assert student == 1_323_778, f"notebook student has 1,323,778 parameters, got {student:,}"
    assert config.compression() == pytest.approx(2_857_474 / 1_323_778), "compression is teacher / student"


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


# ----------------------------------------------------------------------------- files


def test_load_config__yaml(tmp_path: Path):
    # given: a YAML file with a preset, nested fields and a bare `off`
    path = tmp_path / "run.yaml"
    path.write_text(
        "name: yaml run\n"
        "data:\n  vocab_size: 500\n  maxlen: 50\n"
        "teacher: tiny\n"
        "distill:\n  alpha: 0.3\n  temperature: 4\n"
        "train:\n  epochs: 2\n  jit_compile: off\n"
    )

    # when
    config = load_config(path)

    # then
    assert config.name == "yaml run", "top-level scalar read"
    assert (config.data.vocab_size, config.data.maxlen) == (500, 50), "nested data fields read"
    assert config.teacher == TINY, "preset expanded"
    assert config.student == NOTEBOOK_STUDENT, "unset fields keep their defaults"
    assert (config.distill.alpha, config.distill.temperature) == (0.3, 4.0), "distill fields read"
    assert config.train.epochs == 2, "train.epochs read"
    assert config.train.jit_compile == "off", "YAML's bare `off` (a boolean) means the word 'off'"


def test_load_config__json(tmp_path: Path):
    # given: a JSON file (JSON is YAML)
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"distill": {"alpha": 0.5, "scale_t2": False}, "student": "tiny"}))

    # when
    config = load_config(path)

    # then
    assert config.distill.alpha == 0.5, "alpha read from JSON"
    assert config.distill.scale_t2 is False, "JSON false read as a boolean"
    assert config.student == TINY, "preset expanded from JSON"


def test_load_config__empty_file_is_the_defaults(tmp_path: Path):
    # given
    path = tmp_path / "empty.yaml"
    path.write_text("")

    # when / then
    assert load_config(path) == RunConfig(), "an empty file means every default"


def test_run_config__save_load_round_trip(tmp_path: Path):
    # given: a config that differs from the defaults almost everywhere
    config = apply_overrides(RunConfig(), [
        "name=round trip", "data.path=/nowhere/imdb.npz", "data.vocab_size=777", "data.train_limit=100",
        "data.validate_on=test", "teacher=tiny", "student.embedding_dropout=0.25", "student.dropout=0.5",
        "distill.alpha=0.7", "distill.temperature=2.5", "distill.scale_t2=false", "train.teacher_epochs=4",
        "train.seed=9", "train.mixed_precision=bfloat16", "train.jit_compile=on", "train.patience=2",
        "teacher_from=20240101-000000-abcdef",
    ])
    path = tmp_path / "config.json"

    # when
    config.save(path)
    loaded = load_config(path)

    # then
    assert loaded == config, "what is saved is what is loaded"
    assert json.loads(path.read_text()) == config.model_dump(), "the file is the config's JSON dump"


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


@pytest.mark.parametrize("raw, field", [
    pytest.param({"colour": "red"}, "colour", id="unknown-top-level-key"),
    pytest.param({"train": {"epoch": 3}}, "train.epoch", id="unknown-nested-key"),
    pytest.param({"train": {"epochs": "abc"}}, "train.epochs", id="epochs=abc"),
    pytest.param({"distill": {"alpha": 1.3}}, "distill.alpha", id="alpha=1.3"),
    pytest.param({"teacher": {"embedding_dim": 8}}, "teacher.lstm_units", id="incomplete-size"),
    pytest.param({"teacher": "huge"}, "teacher", id="unknown-preset"),
    pytest.param({"data": "imdb.npz"}, "data", id="section-not-a-mapping"),
])
def test_config_from_dict__invalid(raw: dict[str, Any], field: str):
    # given / when
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw)

    # then
    assert f"{field}:" in str(error.value), f"the message names {field!r}: {error.value}"


@pytest.mark.parametrize("raw", [[1, 2], "distill.alpha=0.5", 3])
def test_config_from_dict__not_a_mapping(raw: Any):
    # given / when / then
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw)
    assert "mapping" in str(error.value), f"the message says a mapping is needed: {error.value}"


@pytest.mark.parametrize("make_path", [
    pytest.param(lambda tmp: tmp / "missing.yaml", id="missing-file"),
    pytest.param(lambda tmp: tmp, id="a-directory"),
])
def test_load_config__unreadable_file(tmp_path: Path, make_path):
    # given: a path that cannot be read as a file
    path = make_path(tmp_path)

    # when
    with pytest.raises(ConfigError) as error:
        load_config(path)

    # then
    assert str(path) in str(error.value), f"the message names the file: {error.value}"
    assert "cannot be read" in str(error.value), f"the message says what went wrong: {error.value}"


@pytest.mark.parametrize("text", ["distill: {alpha: 0.5\n", "a: b: c\n", "train:\n  epochs: 3\n epochs: 4\n"])
def test_load_config__invalid_yaml(tmp_path: Path, text: str):
    # given
    path = tmp_path / "bad.yaml"
    path.write_text(text)

    # when
    with pytest.raises(ConfigError) as error:
        load_config(path)

    # then
    assert str(path) in str(error.value), f"the message names the file: {error.value}"
    assert "not valid YAML" in str(error.value), f"the message says it is not YAML: {error.value}"


def test_load_config__invalid_value_in_file(tmp_path: Path):
    # given
    path = tmp_path / "bad.yaml"
    path.write_text("distill:\n  temperature: 0\n")

    # when / then
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "distill.temperature" in str(error.value), f"the message names the field: {error.value}"


def test_config_error__is_a_value_error():
    # given / when / then: callers that catch ValueError also catch ConfigError
    assert issubclass(ConfigError, ValueError), "ConfigError is a ValueError"


# ----------------------------------------------------------------------------- frozen


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda c: setattr(c.distill, "alpha", 0.5), id="nested-field"),
    pytest.param(lambda c: setattr(c, "name", "changed"), id="top-level-field"),
    pytest.param(lambda c: setattr(c, "train", c.train), id="section"),
])
def test_run_config__frozen(mutate):
    # given
    config = RunConfig()

    # when / then
    with pytest.raises(ValidationError):
        mutate(config)
    assert config == RunConfig(), "a refused mutation leaves the config as it was"


# ----------------------------------------------------------------------------- teacher_key


@pytest.fixture(scope="session")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stand-in data files of different sizes (teacher_key only reads their name and size)."""
    folder = tmp_path_factory.mktemp("keyfiles")
    small, large = folder / "small" / "imdb.npz", folder / "large" / "imdb.npz"
    small.parent.mkdir()
    large.parent.mkdir()
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * 20)
    return small, large


@pytest.mark.parametrize("overrides", [
    pytest.param(["distill.alpha=0.9"], id="alpha"),
    pytest.param(["distill.temperature=2"], id="temperature"),
    pytest.param(["distill.scale_t2=false"], id="scale_t2"),
    pytest.param(["distill.teacher_view=student"], id="teacher_view"),
    pytest.param(["student=tiny"], id="student"),
    pytest.param(["data.test_limit=100"], id="test_limit"),
    pytest.param(["train.epochs=5", "train.teacher_epochs=3"], id="student-epochs-only"),
    pytest.param(["train.train_scratch=false", "train.seeds=3"], id="scratch-and-seeds"),
    pytest.param(["name=another", "train.jit_compile=off", "train.eval_batch_size=64"], id="not-weights"),
    pytest.param(["train.teacher_batch_size=32", "train.teacher_learning_rate=0.0003"], id="teacher-as-before"),
    pytest.param(["train.learning_rate=0.01"], id="students-rate-when-the-teacher-has-its-own"),
    pytest.param(["train.teacher_optimizer=adam"], id="teacher-optimizer-adam"),
])
def test_teacher_key(overrides: list[str]):
    # given: the default config and one that differs only where the teacher is not affected
    base = RunConfig()
    other = apply_overrides(base, overrides)

    # when / then
    assert other.teacher_key() == base.teacher_key(), f"{overrides} does not change the trained teacher"


@pytest.mark.parametrize("overrides", [
    pytest.param(["teacher=tiny"], id="teacher-size"),
    pytest.param(["teacher.dropout=0.1"], id="teacher-dropout"),
    pytest.param(["train.seed=1"], id="seed"),
    pytest.param(["train.epochs=4"], id="epochs"),
    pytest.param(["train.teacher_epochs=4"], id="teacher_epochs"),
    pytest.param(["data.vocab_size=10000"], id="vocab"),
    pytest.param(["data.maxlen=100"], id="maxlen"),
    pytest.param(["data.train_limit=1000"], id="train_limit"),
    pytest.param(["data.val_fraction=0.2"], id="val_fraction"),
    pytest.param(["train.batch_size=64"], id="batch_size"),
    pytest.param(["train.teacher_batch_size=128"], id="teacher_batch_size"),
    pytest.param(["train.teacher_learning_rate=0.001"], id="teacher_learning_rate"),
    pytest.param(["train.teacher_learning_rate=null", "train.learning_rate=0.01"], id="rate-shared-with-students"),
    pytest.param(["train.teacher_optimizer=lazy_adam"], id="teacher_optimizer"),
    pytest.param(["data.validate_on=test"], id="validate_on"),
])
def test_teacher_key__differs(overrides: list[str]):
    # given
    base = RunConfig()
    other = apply_overrides(base, overrides)

    # when / then
    assert other.teacher_key() != base.teacher_key(), f"{overrides} trains a different teacher"


@pytest.mark.parametrize("overrides, same", [
    pytest.param(["distill.alpha=0.9", "distill.temperature=2", "distill.teacher_view=student"], True, id="distill"),
    pytest.param(["teacher=ngram", "train.teacher_epochs=5", "train.teacher_batch_size=128",
                  "train.teacher_learning_rate=0.0003", "train.teacher_optimizer=adam",
                  "distill.augment_window=0", "distill.augment_mask=0", "train.epochs=3"], True, id="teacher"),
    # the n-gram recipe augments the transfer set, and the scratch twin reads the same altered reviews
    # for as many epochs as the distilled student
    pytest.param(["teacher=ngram"], False, id="augmented"),
    pytest.param(["name=x", "train.seeds=5", "train.train_scratch=false"], True, id="not-this-seed"),
    pytest.param(["train.seed=1"], False, id="seed"),
    pytest.param(["train.epochs=4"], False, id="epochs"),
    pytest.param(["student.gru_units=8"], False, id="student-size"),
    pytest.param(["data.maxlen=100"], False, id="maxlen"),
    pytest.param(["train.monitor=val_accuracy"], False, id="monitor"),
])
def test_scratch_key__only_what_trains_the_scratch_student(overrides: list[str], same: bool):
    base = RunConfig()
    other = apply_overrides(base, overrides)
    assert (other.scratch_key(0) == base.scratch_key(0)) is same, f"{overrides}: same scratch student is {same}"
    assert base.scratch_key(1) != base.scratch_key(0), "each seed index is its own scratch student"


def test_teacher_key__data_file(data_files: tuple[Path, Path]):
    # given: the same config on two different files, and on none
    small, large = data_files
    on_small = apply_overrides(RunConfig(), [f"data.path={small}"])
    on_large = apply_overrides(RunConfig(), [f"data.path={large}"])

    # when / then
    assert on_small.teacher_key() != on_large.teacher_key(), "another data file trains another teacher"
    assert on_small.teacher_key() != RunConfig().teacher_key(), "a named file differs from the default source"
    assert on_small.teacher_key() == apply_overrides(RunConfig(), [f"data.path={small}"]).teacher_key(), \
        "the same file gives the same key"


def test_teacher_key__test_limit_matters_when_validating_on_test():
    # given: the notebook's protocol, where the test set picks the best epoch
    base = apply_overrides(RunConfig(), ["data.validate_on=test"])
    limited = apply_overrides(base, ["data.test_limit=100"])

    # when / then
    assert limited.teacher_key() != base.teacher_key(), "with validate_on=test the test rows affect the teacher"


def test_teacher_key__stable_format():
    # given / when
    key = RunConfig().teacher_key()

    # then
    assert len(key) == 16 and all(c in "0123456789abcdef" for c in key), f"16 hex digits, got {key!r}"
    assert key == RunConfig().teacher_key(), "the same config gives the same key"


# ----------------------------------------------------------------------------- field reference


def test_field_reference():
    # given
    expected = leaf_fields(RunConfig())

    # when
    rows = field_reference()

    # then
    names = [row["field"] for row in rows]
    assert len(names) == len(set(names)), f"each field listed once: {names}"
    assert set(names) == expected, f"every leaf field listed: missing {expected - set(names)}, extra {set(names) - expected}"
    assert {"data.vocab_size", "distill.alpha", "teacher.embedding_dim (recurrent)", "teacher.filters (conv)",
            "teacher.bigram_buckets (ngram)", "train.jit_compile"} <= set(names), \
        "nested fields use dotted names, the teacher's per family"
    for row in rows:
        assert set(row) == {"field", "default", "allowed", "description"}, f"row keys of {row['field']}"


def test_field_reference__defaults_and_limits():
    # given
    rows = {row["field"]: row for row in field_reference()}

    # when / then
    for name, row in rows.items():
        value = default_of(name)
        assert row["default"] == value, f"{name}: default {row['default']!r} equals RunConfig()'s {value!r}"
        assert row["description"], f"{name} has a description"
    assert rows["distill.alpha"]["allowed"] == ">= 0.0, <= 1.0", f"alpha limits: {rows['distill.alpha']['allowed']}"
    assert rows["distill.temperature"]["allowed"].startswith("> 0.0"), "temperature must be > 0"


# ----------------------------------------------------------------------------- import weight


def test_config__imports_no_tensorflow():
    # given: the modules the CLI and the dashboard import before any training
    code = ("import kdcore.config, kdcore.paths, kdcore.results.summary, kdcore.progress, sys; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))[:5]")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    # when
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)

    # then
    assert result.returncode == 0, f"importing config must not import TensorFlow or Keras:\n{result.stderr}"


def test_apply_overrides__text_with_colon_stays_text():
    # given a run name that YAML would read as a mapping
    config = apply_overrides(RunConfig(), ["name=demo: alpha 0.5, T 2"])
    # then it is kept as written
    assert config.name == "demo: alpha 0.5, T 2", config.name
