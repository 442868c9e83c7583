"""Configs from what people and runs write: a YAML or JSON file, a plain dict, a run's stored config.

Each way in expands preset names (``teacher: tiny``) and turns pydantic's errors into one
:class:`ConfigError` that names every bad field by its dotted path and says what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kdcore.config.base import ConfigError
from kdcore.config.families import FAMILIES, SIZE_PRESETS, FamilySize, presets_for
from kdcore.config.schema import RunConfig
from kdcore.config.tree import is_set, set_path

#: Fields added after runs were stored, with the value that reproduces a run stored without them.
#: A stored config (the database, a run's config.json) was complete when written, so a field it
#: lacks means "before the field existed", not "unset, let the family's recipe fill it in".
LATER_FIELDS: dict[str, Any] = {"distill.teacher_view": "own", "train.teacher_optimizer": "adam",
                                "train.teacher_batch_size": None, "train.teacher_learning_rate": None,
                                "distill.augment_window": 0.0, "distill.augment_mask": 0.0}


def describe(error: dict[str, Any]) -> str:
    """One of pydantic's errors as a line a person can act on: ``teacher.embedding_dim: Input should be ...``."""
    parts = [str(p) for p in error["loc"]]
    if len(parts) > 1 and parts[0] in ("teacher", "student") and parts[1] in FAMILIES:
        del parts[1]  # pydantic's union tag: `teacher.ngram.embedding_dim` -> `teacher.embedding_dim`
    loc = ".".join(parts) or "config"
    msg = error["msg"]
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"{loc}.family: unknown family {error['ctx']['tag']!r}; allowed: {', '.join(FAMILIES)}"
    if kind == "finite_number":  # pydantic's "Input should be a finite number", in this module's wording
        msg = "must be a finite number"
    if kind == "extra_forbidden":
        return f"{loc}: unknown field (check the spelling; `python -m kdcore schema` lists every field)"
    given = error.get("input")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    shown = "" if isinstance(given, dict) or msg.endswith(f"got {given!r}") else f" (got {given!r})"
    return f"{loc}: {msg}{shown}"


def preset_size(role: str, name: str) -> FamilySize:
    """The sizes a preset name stands for in a role, or a ConfigError that lists the role's presets."""
    allowed = presets_for(role)
    if name not in allowed:
        raise ConfigError([f"{role}: unknown preset {name!r}; allowed: {', '.join(allowed)}"])
    return SIZE_PRESETS[name]


def _expand_presets(raw: dict[str, Any]) -> dict[str, Any]:
    """Let ``teacher: tiny`` stand for the preset's sizes."""
    out = dict(raw)
    for role in ("teacher", "student"):
        value = out.get(role)
        if isinstance(value, str):
            out[role] = preset_size(role, value).model_dump()
    return out


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    """Validate a plain dict (from YAML, JSON, a form) into a RunConfig or raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError([f"config: must be a mapping of fields, got {type(raw).__name__}"])
    raw = _expand_presets(raw)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError([describe(err) for err in e.errors()]) from e


def stored_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a config that a run stored, giving the fields it predates their old meaning.

    Without this, an n-gram run queued before ``train.teacher_optimizer`` existed would resume
    with the recipe's LazyAdam on top of its Adam-trained checkpoint, and publish that mixed
    teacher under the LazyAdam teacher's cache key.
    """
    if not isinstance(raw, dict):
        return config_from_dict(raw)
    out = dict(raw)  # set_path copies each section it writes into
    for path, value in LATER_FIELDS.items():
        if not is_set(out, path):
            set_path(out, path, value)
    return config_from_dict(out)


#: The most a config file may hold: a real one is a few hundred bytes; ``--config /dev/zero`` must not
#: fill the memory before it is refused.
MAX_CONFIG_BYTES = 1_000_000


def read_config_text(path: str | Path) -> str:
    """A config file's text, reading at most the cap and one byte; ConfigError if too big, unreadable or binary."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError([f"config file {str(p)!r}: cannot be read ({e.strerror})"]) from e
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"config file {str(p)!r}: larger than the {MAX_CONFIG_BYTES // 1_000_000} MB a config "
                           "may hold (a run config is a YAML or JSON file of a few hundred bytes)"])
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:  # a model, an image, a zip: YAML would fail on it with a worse message
        raise ConfigError([f"config file {str(p)!r}: not a text file (expected YAML or JSON in UTF-8)"])
    return text


def load_config(path: str | Path) -> RunConfig:
    """Read YAML or JSON (JSON is YAML) and validate it."""
    p = Path(path)
    text = read_config_text(p)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError([f"config file {str(p)!r}: not valid YAML/JSON ({e})"]) from e
    except RecursionError as e:  # `[[[[...` a few kilobytes long
        raise ConfigError([f"config file {str(p)!r}: nested too deeply to be a run config"]) from e
    return config_from_dict(raw)
