"""The New-run form's two models, teacher and student: each one's family, preset box and size fields.

Why a module of its own: both roles pick a family and a preset the same way, and what the form
knows of a family (label, caption, size fields, presets, default sizes per role) comes from the
registry, ``kdcore.config.FAMILIES``; only the teacher's family brings a recipe along. Widget keys
are the config fields' dotted paths (``form.student.filters``). No Streamlit, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdcore.config import DEFAULT_FAMILY, FAMILIES, PRESETS, SIZE_PRESETS, presets_for, switched_recipe

#: Prefix of every New-run widget key; the rest of the key is the config field's dotted path,
#: so a validation problem (``student.lstm_units: ...``) maps straight back to its widget.
FORM_PREFIX = "form."


def form_key(path: str) -> str:
    """The widget key of a config field: ``form.distill.alpha``."""
    return FORM_PREFIX + path


#: The two models the form sizes, each with a family picker of its own.
ROLES = ("teacher", "student")
#: Size fields of each family, in the order the form shows them (the family itself excluded).
FAMILY_FIELDS: dict[str, tuple[str, ...]] = {name: tuple(entry.form_fields) for name, entry in FAMILIES.items()}
SIZE_FIELDS = FAMILY_FIELDS[DEFAULT_FAMILY]
FAMILY_LABELS = {name: entry.label for name, entry in FAMILIES.items()}
FAMILY_CAPTIONS = {name: entry.caption for name, entry in FAMILIES.items()}
CUSTOM_PRESET = "custom"
PRESET_LABELS = {CUSTOM_PRESET: "Custom", **{name: f"{preset.label} (for tests)" if preset.for_tests else preset.label
                                            for name, preset in PRESETS.items()}}


def role_presets(role: str) -> list[str]:
    """Presets offered for a role (as the config accepts them), after the form's own ``custom``."""
    return [CUSTOM_PRESET, *presets_for(role)]


def role_fields(role: str, family: str | None) -> tuple[str, ...]:
    """The size fields the form shows (and submits) for a role (teacher or student) as its family stands."""
    return FAMILY_FIELDS.get(family or DEFAULT_FAMILY, SIZE_FIELDS)


def role_family(values: Mapping[str, Any], role: str) -> str:
    """The family the form shows for a role (teacher or student)."""
    return values.get(form_key(f"{role}.family")) or DEFAULT_FAMILY


def is_list_field(family: str | None, name: str) -> bool:
    """Whether a size field holds a list (a conv teacher's kernel widths): the form shows it as text, ``3, 4, 5``."""
    field = FAMILIES[family or DEFAULT_FAMILY].size.model_fields.get(name)
    return field is not None and getattr(field.annotation, "__origin__", None) in (tuple, list)


def family_values(family: str, current: Mapping[str, Any] | None = None, previous: str | None = None,
                  role: str = "teacher") -> dict[str, Any]:
    """Widget values that switch a model to a family: its default sizes for the role, and for the teacher its recipe.

    A recipe field the user changed (it no longer holds the ``previous`` family's recipe
    value) keeps its value, as ``apply_overrides`` does on the command line. A student's
    family brings its sizes only: the recipe was measured for teachers of the family.
    """
    entry = FAMILIES[family]
    size = (entry.student_size if role == "student" else entry.default_size).model_dump()
    values = {form_key(f"{role}.{name}"): widget_value(size[name]) for name in size}
    if role == "student":
        return values
    shown = {path: current[form_key(path)] for path in entry.recipe if form_key(path) in (current or {})}
    maxlen = (current or {}).get(form_key("data.maxlen"))
    changes = switched_recipe(previous or "", family, shown, maxlen, maxlen)
    values.update({form_key(path): value for path, value in changes.items()})
    return values


def widget_value(value: Any) -> Any:
    """A list of sizes (a conv teacher's kernel widths) shows as editable text, ``3, 4, 5``; its size model reads it."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def preset_values(role: str, preset: str, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Widget values that put one model on a preset (role: teacher or student).

    A preset of another family than the form's ``current`` one switches the role's family; a
    teacher's brings that family's recipe too. One of the same family changes the sizes only.
    """
    size = SIZE_PRESETS[preset]
    values: dict[str, Any] = {}
    shown = role_family(current or {}, role)
    if size.family != shown:
        values.update(family_values(size.family, current, shown, role))
        values[form_key(f"{role}.family")] = size.family
    dumped = size.model_dump()
    values.update({form_key(f"{role}.{name}"): widget_value(dumped[name]) for name in role_fields(role, size.family)})
    return values


def matching_preset(values: Mapping[str, Any], role: str) -> str:
    """The preset whose family and sizes the form shows for this role, else ``custom``."""
    family = role_family(values, role)
    for name in role_presets(role)[1:]:
        size = SIZE_PRESETS[name]
        if size.family != family:
            continue
        dumped = size.model_dump()
        if all(values.get(form_key(f"{role}.{f}")) == widget_value(dumped[f]) for f in role_fields(role, family)):
            return name
    return CUSTOM_PRESET
