"""RunConfig: the notebook's defaults, frozen values, its errors, the field reference, import weight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kdcore.config import (
    FAMILY_DEFAULT_SIZES,
    NOTEBOOK_STUDENT,
    NOTEBOOK_TEACHER,
    STUDENT_DEFAULT_SIZES,
    ConfigError,
    RunConfig,
    field_reference,
)

ROOT = Path(__file__).resolve().parents[2]


def leaf_fields(model: BaseModel, prefix: str = "", suffix: str = "") -> set[str]:
    """Dotted names of every non-model field, walked from the model classes themselves.

    The teacher's and the student's fields are named per family (``teacher.filters (conv)``), with one
    ``teacher.family`` and one ``student.family``.
    """
    names: set[str] = set()
    for name in type(model).model_fields:
        value = getattr(model, name)
        if prefix == "" and name in ("teacher", "student"):
            for family, size in (FAMILY_DEFAULT_SIZES if name == "teacher" else STUDENT_DEFAULT_SIZES).items():
                fields = leaf_fields(size, f"{name}.", f" ({family})")
                names |= {n for n in fields if not n.startswith(f"{name}.family")}
            names.add(f"{name}.family")
        elif isinstance(value, BaseModel):
            names |= leaf_fields(value, f"{prefix}{name}.")
        else:
            names.add(prefix + name + suffix)
    return names


def default_of(name: str) -> Any:
    """RunConfig()'s value of a field_reference row, ``teacher.filters (conv)`` from that family's defaults.

    A student's row (``student.filters (conv)``) holds the family's default student sizes.
    """
    path, _, family = name.partition(" (")
    sizes = STUDENT_DEFAULT_SIZES if path.startswith("student.") else FAMILY_DEFAULT_SIZES
    value: Any = sizes[family.rstrip(")")] if family else RunConfig()
    parts = path.split(".")[1:] if family else path.split(".")
    for part in parts:
        value = getattr(value, part)
    return value


# ----------------------------------------------------------------------------- defaults


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


# ----------------------------------------------------------------------------- field reference


def test_field_reference():
    # given
    expected = leaf_fields(RunConfig())

    # when
    rows = field_reference()

    # then
    names = [row["field"] for row in rows]
    assert len(names) == len(set(names)), f"each field listed once: {names}"
    assert set(names) == expected, \
        f"every leaf field listed: missing {expected - set(names)}, extra {set(names) - expected}"
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
