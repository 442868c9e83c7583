"""Whole-run setups the New-run form offers in one click, and the words for what a recipe switch changed.

Why setups and not only size presets: what makes a run pay, or finish in minutes, is the
teacher's family together with its recipe and the data slice; a size preset alone (the old
"Tiny", the same size for both models) teaches nothing. The form starts on the best measured
recipe; the notebook's exact setup stays one click away. ``RunConfig()`` itself (the CLI's
and the Python API's default) is the notebook's setup and is not changed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kdcore.config import RunConfig, apply_overrides
from kdcore.ui.form import FIELD_LABELS, PRESET_KEY, form_key, form_values, matching_preset


@dataclass(frozen=True)
class Setup:
    """A named run setup: the overrides on ``RunConfig()`` it stands for, and what a user may expect of it."""

    name: str
    label: str
    help: str
    overrides: tuple[str, ...]


SETUPS: dict[str, Setup] = {setup.name: setup for setup in (
    Setup("best", "Best measured recipe",
          "The n-gram teacher with its measured recipe (docs/benchmarks.md): the setup where distillation paid "
          "most, about +1.2 points over the scratch student on all of IMDB; tens of minutes on 2 CPU cores.",
          ("teacher=ngram",)),
    Setup("quick", "Quick try: a few minutes, gain within noise",
          "The n-gram teacher, clearly bigger than the notebook student, on a slice: 4,000 training and 2,000 "
          "test reviews of 100 tokens, teacher rate 0.004 (the README's walk). Measured on 2 shared cores: 2-4 "
          "minutes, teacher 87.35%, distilled 83.35%, scratch 82.00%; over 3 seeds +1.12 points (95% interval "
          "±1.23): a gain on every seed, within noise.",
          ("teacher=ngram", "data.train_limit=4000", "data.test_limit=2000", "data.maxlen=100",
           "train.teacher_learning_rate=0.004")),
    Setup("notebook", "The notebook's setup",
          "The notebook's exact models and training: recurrent teacher and student, 2 epochs each. About half an "
          "hour on 2 CPU cores; its gain (+0.61 points) is within noise.",
          ()),
)}
#: The setup a new run starts from in the form.
DEFAULT_SETUP = "best"
#: Fields a setup leaves as the user had them: they say where and what, not how.
KEPT_FIELDS = ("name", "data.path", "teacher_from")


def setup_config(name: str) -> RunConfig:
    return apply_overrides(RunConfig(), list(SETUPS[name].overrides))


def setup_values(name: str, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Widget values (and both preset boxes) that put the form on a setup, keeping :data:`KEPT_FIELDS` as given."""
    values = form_values(setup_config(name))
    for path in KEPT_FIELDS:
        if current is not None and form_key(path) in current:
            values[form_key(path)] = current[form_key(path)]
    for role in ("teacher", "student"):
        values[PRESET_KEY + role] = matching_preset(values, role)
    return values


def changed_fields(before: Mapping[str, Any], values: Mapping[str, Any], skip_prefix: str = "") -> list[str]:
    """``Teacher optimizer: lazy_adam → adam`` for each form field ``values`` changes, in the form's words.

    ``skip_prefix`` leaves out fields the user asked to change (a new family's own sizes).
    """
    out = []
    for path, label in FIELD_LABELS.items():
        key = form_key(path)
        if key not in values or (skip_prefix and path.startswith(skip_prefix)):
            continue
        old, new = before.get(key), values[key]
        if old != new:
            out.append(f"{label}: {_shown(old)} → {_shown(new)}")
    return out


def _shown(value: Any) -> str:
    return "empty" if value is None or value == "" else str(value)
