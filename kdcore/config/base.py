"""What every config model shares: the error a bad config raises, and the strict base model."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class ConfigError(ValueError):
    """A config that cannot run; ``str()`` lists every bad field and what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


def _kinds(annotation: Any) -> frozenset[type]:
    """The plain types a field's annotation admits: ``int | None`` -> {int, NoneType}; a Literal gives none."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    return frozenset(kind for kind in (options or (annotation,)) if isinstance(kind, type))


class StrictModel(BaseModel):
    """Frozen, no unknown keys, finite floats.

    Lax on text on purpose: ``"3"`` from a form or ``--set`` means 3. Strict between numbers and
    yes/no: pydantic would take ``epochs: true`` as 1 and ``scale_t2: 1`` as true, which is a slip
    of the user's (or of YAML's), never what was meant.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_yes_no(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kinds = _kinds(field.annotation)
        if isinstance(value, bool) and bool not in kinds and kinds & {int, float}:
            noun = "a whole number" if int in kinds else "a number"
            raise ValueError(f"must be {noun}, not true/false")
        if isinstance(value, int | float) and not isinstance(value, bool) and kinds == {bool}:
            raise ValueError("must be true or false, not a number")
        return value
