"""``--set section.field=value`` overrides on top of a config, including a switch of the teacher's family.

Values are YAML scalars (``0.5``, ``true``, ``null``). An override that picks the teacher's
family brings that family's default sizes and its recipe, by the same rule as the New-run
form (:func:`kdcore.config.recipes.switched_recipe`).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from pydantic import BaseModel

from kdcore.config.base import ConfigError
from kdcore.config.families import FAMILY_RECIPES, default_size, family_of
from kdcore.config.loading import config_from_dict, preset_size
from kdcore.config.recipes import switched_recipe
from kdcore.config.schema import RunConfig
from kdcore.config.tree import UNSET, get_path, set_path

#: Override paths that choose a model's family: ``teacher=ngram`` (a preset) or ``teacher.family=conv``, the same
#: for the student (whose family brings its sizes only: the recipe is the teacher's).
_FAMILY_CHOICES = (["teacher"], ["teacher", "family"], ["student"], ["student", "family"])
#: Fields whose value is text whatever it looks like: YAML would read the dataset id ``0123456789012345``
#: as a number (an octal one, even) and a run named ``2024`` as an int.
TEXT_FIELDS = frozenset({"name", "data.dataset", "data.path", "teacher_from"})


def apply_overrides(config: RunConfig | dict[str, Any], overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` strings (values parsed as YAML scalars) and revalidate.

    Overrides that pick the teacher (``teacher=ngram``, ``teacher.family=conv``) go first, so
    order does not matter (two that disagree are refused). A new family starts from its default
    sizes and brings its recipe (:data:`FAMILY_RECIPES`) for every recipe field that neither an
    override nor the config set: a field still at the previous family's recipe value follows
    the new family, one the user changed stays.
    """
    raw = config.model_dump() if isinstance(config, RunConfig) else dict(config)
    parsed = _family_first(_parse(overrides))
    family_before = family_of(raw.get("teacher") or {})
    before = copy.deepcopy(raw)  # what the previous family's recipe gave, before data.maxlen changes
    for parts, value in parsed:
        _assign(raw, parts, value)
    family_after = family_of(raw.get("teacher") or {})
    if family_after != family_before:
        current = {path: get_path(raw, path, UNSET) for path in FAMILY_RECIPES.get(family_after, {})}
        changes = switched_recipe(family_before, family_after, {k: v for k, v in current.items() if v is not UNSET},
                                  get_path(before, "data.maxlen"), get_path(raw, "data.maxlen"),
                                  given={".".join(parts) for parts, _ in parsed})
        for path, value in changes.items():
            set_path(raw, path, value)
    return config_from_dict(raw)


def _parse(overrides: list[str]) -> list[tuple[list[str], Any]]:
    """(path parts, value) of each override, or a ConfigError naming every malformed one."""
    problems: list[str] = []
    parsed: list[tuple[list[str], Any]] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r}: expected section.field=value, e.g. distill.alpha=0.5")
            continue
        path = key.strip()
        parsed.append((path.split("."), _text_value(path, value) if path in TEXT_FIELDS else parse_value(value)))
    if problems:
        raise ConfigError(problems)
    return parsed


def _family_first(parsed: list[tuple[list[str], Any]]) -> list[tuple[list[str], Any]]:
    """The overrides with those that choose the family first; two that choose different families are refused."""
    ordered = sorted(parsed, key=lambda kv: kv[0] not in _FAMILY_CHOICES)
    for role in ("teacher", "student"):
        chosen = {family_of(value) if len(parts) == 1 else value for parts, value in ordered
                  if parts in _FAMILY_CHOICES and parts[0] == role and isinstance(value, str)}
        if len(chosen) > 1:
            raise ConfigError([f"{role}: the overrides choose different families ({', '.join(sorted(chosen))}); "
                               "choose one"])
    return ordered


def _assign(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    """Write one override into the raw config; a new family first resets the model to its role's default sizes."""
    role = parts[0]
    if parts in (["teacher", "family"], ["student", "family"]) and value != family_of(raw.get(role) or {}):
        default = default_size(role, value) if isinstance(value, str) else None
        raw[role] = default.model_dump() if default is not None else {"family": value}
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if depth == 0 and part in ("teacher", "student") and isinstance(child, str):
            child = preset_size(part, child).model_dump()  # `teacher=tiny` then `teacher.gru_units=8`
            node[part] = child
        if isinstance(child, BaseModel):
            child = child.model_dump()
            node[part] = child
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _text_value(path: str, text: str) -> str | None:
    """A text field's value as typed; empty (or YAML's ``null``/``~``) means unset, but a run's name is never None."""
    value = text.strip()
    if path != "name" and value.lower() in ("", "null", "none", "~"):
        return None
    return value


def parse_value(text: str) -> Any:
    """A YAML scalar (``0.5``, ``true``, ``null``), or the text itself.

    Only text that starts like a YAML collection becomes one, so a run name such as
    ``alpha: 0.5 run`` stays a string instead of turning into a mapping.
    """
    if not text.strip():
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (dict, list)) and not text.lstrip().startswith(("{", "[")):
        return text
    return value
