"""The model families, one registry: a new family is one entry here plus one builder in ``kdcore.engine.families``.

Each entry (:class:`Family`) holds the family's size model, presets, recipe, parameter count,
labels for the New-run form and the dotted name of its engine builder. Everything else is read
from :data:`FAMILIES`: the config's teacher union, preset expansion, the form's fields and
labels, the runs table's size cell and the engine's ``build_classifier``. The tests
(tests/config/test_registry.py, tests/engine/test_families.py) check each entry against the
schema and the model its builder makes.
"""

from __future__ import annotations

from typing import Any

from kdcore.config.base import ConfigError
from kdcore.config.families.conv import CONV, ConvSize
from kdcore.config.families.family import FAMILY_HELP, Family, FamilySize, Preset
from kdcore.config.families.ngram import NGRAM, NgramSize
from kdcore.config.families.recurrent import NOTEBOOK_STUDENT, NOTEBOOK_TEACHER, RECURRENT, TINY, RecurrentSize

#: Every family, in the order the form and the messages list them.
FAMILIES: dict[str, Family] = {family.name: family for family in (RECURRENT, NGRAM, CONV)}

#: The family of a size without a ``family`` field (configs from before families existed) and of
#: every student (``RunConfig.student`` is a :class:`RecurrentSize`).
DEFAULT_FAMILY = RECURRENT.name

#: Any family's sizes; a name for type hints.
ModelSize = FamilySize

# Views of the registry under the names the code used before it existed.
TEACHER_FAMILIES: dict[str, type[FamilySize]] = {name: family.size for name, family in FAMILIES.items()}
FAMILY_DEFAULT_SIZES: dict[str, FamilySize] = {name: family.default_size for name, family in FAMILIES.items()}
FAMILY_RECIPES: dict[str, dict[str, Any]] = {name: dict(family.recipe) for name, family in FAMILIES.items()}

#: Every preset by name: the students' family first (its presets serve either role), then the
#: other families' full-size presets, then their small ones for tests.
PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in sorted((p for family in FAMILIES.values() for p in family.presets),
                         key=lambda p: (p.size.family != DEFAULT_FAMILY, p.for_tests))
}
SIZE_PRESETS: dict[str, FamilySize] = {name: preset.size for name, preset in PRESETS.items()}


def family_of(size: Any) -> str:
    """The family a size (a model, a dict or a preset name) describes; no family field means :data:`DEFAULT_FAMILY`."""
    if isinstance(size, str):
        preset = SIZE_PRESETS.get(size)
        return preset.family if preset is not None else size
    if isinstance(size, dict):
        return size.get("family") or DEFAULT_FAMILY
    return getattr(size, "family", DEFAULT_FAMILY)


def presets_for(role: str) -> list[str]:
    """Preset names a role may take: any family's for the teacher, the students' family's for the student."""
    return [name for name, size in SIZE_PRESETS.items() if role == "teacher" or size.family == DEFAULT_FAMILY]


def param_count(size: FamilySize, vocab_size: int, num_classes: int = 2) -> int:
    """Parameters of the classifier with ``num_classes`` logits, equal to Keras' count, without importing TensorFlow."""
    return FAMILIES[family_of(size)].param_count(size, vocab_size, num_classes)


def parse_size(role: str, raw: Any) -> FamilySize:
    """One model's sizes validated on their own (a teacher of any family, a student of the students' family).

    Raises a ValueError (:class:`ConfigError`, or pydantic's ``ValidationError``) for sizes that
    cannot be, so a caller can tell a model it can count from one it cannot.
    """
    name = family_of(raw) if role == "teacher" else DEFAULT_FAMILY
    if name not in FAMILIES:
        raise ConfigError([f"{role}.family: unknown family {name!r}; allowed: {', '.join(FAMILIES)}"])
    return FAMILIES[name].size.model_validate(raw)


__all__ = [
    "CONV", "DEFAULT_FAMILY", "FAMILIES", "FAMILY_DEFAULT_SIZES", "FAMILY_HELP", "FAMILY_RECIPES", "NGRAM",
    "NOTEBOOK_STUDENT", "NOTEBOOK_TEACHER", "PRESETS", "RECURRENT", "SIZE_PRESETS", "TEACHER_FAMILIES", "TINY",
    "ConvSize", "Family", "FamilySize", "ModelSize", "NgramSize", "Preset", "RecurrentSize", "family_of",
    "param_count", "parse_size", "presets_for",
]
