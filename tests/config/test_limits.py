"""Input limits at the config boundary (issue 17, items 12, 14 and 15): a config file's size and
encoding, strict numbers (no true/false for a number, no nan/inf), and the memory warning."""

from __future__ import annotations

import math
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from kdcore.config import (
    FAMILIES,
    ConfigError,
    NgramSize,
    RunConfig,
    apply_overrides,
    config_from_dict,
    load_config,
)
from kdcore.config.loading import MAX_CONFIG_BYTES

# ----------------------------------------------------------------------------- the file itself


def test_load_config__file_over_the_cap_is_refused_naming_file_and_cap(tmp_path: Path):
    # given a config file one byte over the cap (a valid YAML comment, so only the size is wrong)
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))

    # when / then it is refused with the file and the cap named
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text and "1 MB" in text, f"the message names the file and the cap: {text}"


def test_load_config__endless_file_reads_at_most_cap_plus_one_bytes():
    # given /dev/zero, a file without end (submit --config /dev/zero grew to 23 GB)
    # when / then it is refused after reading at most the cap, quickly and without a memory spike
    with pytest.raises(ConfigError) as info:
        load_config("/dev/zero")
    assert "/dev/zero" in str(info.value) and "1 MB" in str(info.value), str(info.value)


def test_load_config__file_at_the_cap_is_read(tmp_path: Path):
    # given a config exactly at the cap: a real field, then padding comments
    body = b"train:\n  epochs: 2\n"
    path = tmp_path / "big.yaml"
    path.write_bytes(body + b"#" * (MAX_CONFIG_BYTES - len(body)))

    # when / then it loads
    assert load_config(path).train.epochs == 2, "a file at the cap is not refused"


@pytest.mark.parametrize("content", [b"\x00\xff\xfe\x01binary", b"train:\n  epochs: 2\x00\n", b"\x89PNG\r\n\x1a\n"])
def test_load_config__binary_file_is_refused_as_not_text(content: bytes, tmp_path: Path):
    # given a binary file given as a config (a model, an image, a zip)
    path = tmp_path / "model.keras"
    path.write_bytes(content)

    # when / then a ConfigError (not UnicodeDecodeError) names the file and says it is not text
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text and "not a text file" in text, f"a clear message for a binary file: {text}"


def test_load_config__deeply_nested_yaml_is_a_config_error(tmp_path: Path):
    # given a small file nested far deeper than any config (a recursion bomb)
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 20000 + "]" * 20000)

    # when / then a ConfigError, not a RecursionError
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value), str(info.value)


# ----------------------------------------------------------------------------- strict numbers


def _fields_of(model: type[BaseModel], prefix: str, kinds: tuple[type, ...]) -> list[str]:
    """Dotted paths of the fields of ``model`` whose annotation is one of ``kinds`` (or it, or None)."""
    found = []
    for name, info in model.model_fields.items():
        options = typing.get_args(info.annotation) or (info.annotation,)
        if any(option in kinds for option in options):
            found.append(f"{prefix}{name}")
    return found


def _section_fields(kinds: tuple[type, ...]) -> list[str]:
    """Every field of the given kinds in the run's sections and in the student's sizes."""
    paths: list[str] = []
    for section in ("data", "distill", "train", "student"):
        paths += _fields_of(type(getattr(RunConfig(), section)), f"{section}.", kinds)
    return paths


INT_FIELDS = _section_fields((int,))
FLOAT_FIELDS = _section_fields((float,))
BOOL_FIELDS = _section_fields((bool,))


def test_strict_numbers__the_field_lists_are_not_empty():
    assert "train.epochs" in INT_FIELDS and "distill.temperature" in FLOAT_FIELDS, (INT_FIELDS, FLOAT_FIELDS)
    assert "distill.scale_t2" in BOOL_FIELDS, BOOL_FIELDS


@pytest.mark.parametrize("path", INT_FIELDS + FLOAT_FIELDS)
@pytest.mark.parametrize("flag", ["true", "false"])
def test_apply_overrides__true_or_false_for_a_number_is_refused(path: str, flag: str):
    # given --set train.epochs=true (accepted as 1 before)
    # when / then refused, naming the field and saying a number is wanted
    with pytest.raises(ConfigError) as info:
        apply_overrides(RunConfig(), [f"{path}={flag}"])
    text = str(info.value)
    assert path in text and "true/false" in text, f"{path}={flag}: {text}"


@pytest.mark.parametrize("path", BOOL_FIELDS)
def test_apply_overrides__a_number_for_a_yes_no_field_is_refused(path: str):
    # given --set distill.scale_t2=1 (a number where true/false is meant)
    with pytest.raises(ConfigError) as info:
        apply_overrides(RunConfig(), [f"{path}=1"])
    assert path in str(info.value) and "true or false" in str(info.value), str(info.value)


def test_config_from_dict__bool_for_a_teacher_size_is_refused():
    # given a teacher size of true (the family size models are checked as well)
    with pytest.raises(ConfigError) as info:
        config_from_dict({"teacher": {"family": "ngram", "embedding_dim": True}})
    assert "teacher.embedding_dim" in str(info.value), str(info.value)


@pytest.mark.parametrize(("override", "path", "expected"), [
    ('train.epochs="3"', "train.epochs", 3),  # a form's or --set's text
    ("train.epochs=3", "train.epochs", 3),
    ("train.epochs=3.0", "train.epochs", 3),
    ('distill.temperature="4.5"', "distill.temperature", 4.5),
    ("distill.alpha=1", "distill.alpha", 1.0),
    ("distill.scale_t2=false", "distill.scale_t2", False),
    ('distill.scale_t2="false"', "distill.scale_t2", False),
    ("train.jit_compile=off", "train.jit_compile", "off"),  # YAML's bare off stays the word
])
def test_apply_overrides__text_and_numbers_keep_their_meaning(override: str, path: str, expected):
    # given values that meant what they say before
    config = apply_overrides(RunConfig(), [override])
    section, field = path.split(".")
    value = getattr(getattr(config, section), field)
    assert value == expected and type(value) is type(expected), f"{override} gives {value!r}"


@pytest.mark.parametrize("path", FLOAT_FIELDS + ["teacher.dropout"])
@pytest.mark.parametrize("value", ["nan", ".nan", "inf", "-.inf", "'Infinity'"])
def test_apply_overrides__nan_or_inf_is_not_a_finite_number(path: str, value: str):
    # given distill.temperature=nan (said "less than or equal to 1000" before)
    overrides = ["teacher=ngram", f"{path}={value}"] if path.startswith("teacher.") else [f"{path}={value}"]
    with pytest.raises(ConfigError) as info:
        apply_overrides(RunConfig(), overrides)
    text = str(info.value)
    assert f"{path}: must be a finite number" in text, f"{path}={value}: {text}"


def test_config_from_dict__nan_from_a_stored_json_is_refused():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"train": {"learning_rate": math.nan}})
    assert "train.learning_rate: must be a finite number" in str(info.value), str(info.value)


# ----------------------------------------------------------------------------- the memory warning


def test_warnings__a_teacher_of_billions_of_parameters_is_warned_about_not_refused():
    # given a 4.7-billion-parameter n-gram teacher (accepted without a word before)
    config = config_from_dict({"data": {"vocab_size": 1_000_000},
                               "teacher": {"family": "ngram", "embedding_dim": 1024, "bigram_buckets": 2**22}})
    assert config.teacher_params() > 4e9, config.teacher_params()

    # when
    warnings = config.warnings()

    # then one warning names the teacher, its size and the estimate
    assert len(warnings) == 1, warnings
    assert "teacher" in warnings[0] and "GB" in warnings[0] and "Adam" in warnings[0], warnings


def test_warnings__default_and_tiny_configs_have_none():
    assert RunConfig().warnings() == [], "the notebook's models fit"
    assert apply_overrides(RunConfig(), ["teacher=tiny", "student=tiny"]).warnings() == []


def test_warnings__every_family_default_fits():
    for name, family in FAMILIES.items():
        config = config_from_dict({"teacher": family.default_size.model_dump()})
        assert config.warnings() == [], f"{name}'s default teacher"


def test_warnings__ngram_size_just_under_the_limit_is_quiet():
    # 8 GB of float32 weights + 2 Adam moments = 12 bytes a parameter: about 667 million parameters
    small = config_from_dict({"teacher": NgramSize(embedding_dim=512, bigram_buckets=2**20).model_dump()})
    assert small.teacher_params() * 12 < 8e9 and small.warnings() == [], small.teacher_params()
