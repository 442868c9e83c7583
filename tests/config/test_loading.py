"""Configs from files and dicts: YAML, JSON, presets by name, a saved config, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kdcore.config import (
    NOTEBOOK_STUDENT,
    TINY,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
    load_config,
)

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


# ----------------------------------------------------------------------------- refusals


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
