"""The model families, one registry: a new family is one entry here plus one builder in ``kdcore.engine.families``.

Each entry (:class:`Family`) holds the family's size model, presets, recipe, parameter count,
labels for the New-run form and the dotted name of its engine builder. Everything else is read
from :data:`FAMILIES`: the config's unions of sizes (teacher and student), preset expansion, the form's fields and
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

#: The family of a size without a ``family`` field (configs from before families existed), for the
#: teacher and the student alike; either may be of any family.
DEFAULT_FAMILY = RECURRENT.name

#: Any family's sizes; a name for type hints.
ModelSize = FamilySize

# Views of the registry under the names the code used before it existed.
TEACHER_FAMILIES: dict[str, type[FamilySize]] = {name: family.size for name, family in FAMILIES.items()}
FAMILY_DEFAULT_SIZES: dict[str, FamilySize] = {name: family.default_size for name, family in FAMILIES.items()}
#: A student's sizes when its family is chosen without sizes (``student.family=conv``).
STUDENT_DEFAULT_SIZES: dict[str, FamilySize] = {name: family.student_size for name, family in FAMILIES.items()}
FAMILY_RECIPES: dict[str, dict[str, Any]] = {name: dict(family.recipe) for name, family in FAMILIES.items()}

#: Every preset by name: the default family's first, then the other families' full-size presets,
#: then their small ones for tests. Every preset serves either role.
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
    """Preset names a role may take: every family's, for the teacher and the student alike.

    Why keep the role: messages list "the presets a student may take", and a role that one day
    narrows its choice changes here only.
    """
    return list(SIZE_PRESETS)


def default_size(role: str, family: str) -> FamilySize | None:
    """The sizes a role gets when its family is chosen without sizes (a student's are smaller); None if unknown."""
    return (STUDENT_DEFAULT_SIZES if role == "student" else FAMILY_DEFAULT_SIZES).get(family)


def param_count(size: FamilySize, vocab_size: int, num_classes: int = 2) -> int:
    """Parameters of the classifier with ``num_classes`` logits, equal to Keras' count, without importing TensorFlow."""
    return FAMILIES[family_of(size)].param_count(size, vocab_size, num_classes)


def parse_size(role: str, raw: Any) -> FamilySize:
    """One model's sizes validated on their own, by the family they name (either role takes any family).

    Raises a ValueError (:class:`ConfigError`, or pydantic's ``ValidationError``) for sizes that
    cannot be, so a caller can tell a model it can count from one it cannot.
    """
    name = family_of(raw)
    if name not in FAMILIES:
        raise ConfigError([f"{role}.family: unknown family {name!r}; allowed: {', '.join(FAMILIES)}"])
    return FAMILIES[name].size.model_validate(raw)


__all__ = [
    "CONV", "DEFAULT_FAMILY", "FAMILIES", "FAMILY_DEFAULT_SIZES", "FAMILY_HELP", "FAMILY_RECIPES", "NGRAM",
    "NOTEBOOK_STUDENT", "NOTEBOOK_TEACHER", "PRESETS", "RECURRENT", "SIZE_PRESETS", "STUDENT_DEFAULT_SIZES",
    "TEACHER_FAMILIES", "TINY", "ConvSize", "Family", "FamilySize", "ModelSize", "NgramSize", "Preset",
    "RecurrentSize", "default_size", "family_of", "param_count", "parse_size", "presets_for",
]
