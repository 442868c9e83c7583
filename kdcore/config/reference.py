"""Every field's meaning, read from the schema itself: the reference table and one field's description.

Why from the schema: the README/docs table, ``kdcore schema`` and the New-run form's help
then cannot disagree with what validation accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kdcore.config.families import DEFAULT_FAMILY, FAMILIES
from kdcore.config.schema import RunConfig

_BOUND_SYMBOLS = {"Ge": ">=", "Gt": ">", "Le": "<=", "Lt": "<"}


def _type_name(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
    return text.replace(" | None", " or empty").replace("Literal[", "one of [")


def _row(name: str, field: Any, default: Any) -> dict[str, Any]:
    limits = [f"{_BOUND_SYMBOLS[type(m).__name__]} {getattr(m, type(m).__name__.lower())}"
              for m in field.metadata if type(m).__name__ in _BOUND_SYMBOLS]
    return {"field": name, "default": default, "allowed": ", ".join(limits) if limits else _type_name(field.annotation),
            "description": field.description or ""}


def field_reference() -> list[dict[str, Any]]:
    """Every field with its default and constraints, for the README and ``kdcore schema``.

    The teacher's and the student's fields are listed per family, ``teacher.filters (conv)``, with that
    family's defaults for the role.
    """
    rows: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], prefix: str, defaults_here: dict[str, Any], family: str = "") -> None:
        for name, field in model.model_fields.items():
            if model is RunConfig and name in ("teacher", "student"):
                for entry in FAMILIES.values():
                    size = entry.default_size if name == "teacher" else entry.student_size
                    walk(entry.size, f"{name}.", size.model_dump(), entry.name)
                continue
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.", defaults_here.get(name, {}))
                continue
            if name == "family" and family:
                if family == DEFAULT_FAMILY:  # one row for the choice itself
                    rows.append({"field": f"{prefix}family", "default": DEFAULT_FAMILY,
                                 "allowed": f"one of {list(FAMILIES)}", "description": field.description})
                continue
            rows.append(_row(prefix + name + (f" ({family})" if family else ""), field, defaults_here.get(name)))

    walk(RunConfig, "", RunConfig().model_dump())
    return rows


def field_description(path: str, family: str = DEFAULT_FAMILY) -> str:
    """The description of the field at a dotted path (``distill.alpha``); empty for a path that is no field.

    Teacher and student fields are described as the given ``family`` defines them, else as the first family that
    has them.
    """
    parts = path.split(".")
    if parts[0] in ("teacher", "student") and len(parts) == 2:  # a union: the shown family, else any that has it
        shown = FAMILIES.get(family, FAMILIES[DEFAULT_FAMILY]).size
        owners = [cls for cls in (shown, *(entry.size for entry in FAMILIES.values())) if parts[1] in cls.model_fields]
        return (owners[0].model_fields[parts[1]].description or "") if owners else ""
    model: type[BaseModel] = RunConfig
    for part in parts[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    field = model.model_fields.get(parts[-1])
    return (field.description or "") if field else ""
