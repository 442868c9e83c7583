"""A run's settings as rows a person can read, and several runs' settings side by side.

Why a module of its own: the Live page's config panel and the Runs page's compare table must
agree on what a field is called (its dotted path, ``train.epochs``), how its value is written
and what "changed" means, and the overlay's metric list must only offer what the chosen runs
recorded. Pure functions of stored configs and curves: no Streamlit, no TensorFlow.

"Changed" is measured against a new run's defaults *for the run's teacher family*: choosing the
n-gram teacher brings its recipe along (``train.teacher_optimizer``, ``data.teacher_maxlen``,
...), and those fields are the family's defaults, not the user's edits; the family itself
counts as changed when it is not the default family. A student of another family is measured
against that family's default student sizes (its family, again, counts as changed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from kdcore.config import (
    FAMILIES,
    ConfigError,
    RunConfig,
    config_from_dict,
    field_description,
    stored_config,
)

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

#: Sections in the order a reader looks for them; "" holds the top-level fields (name, teacher_from).
SECTIONS: dict[str, str] = {"": "Run", "data": "Data", "teacher": "Teacher", "student": "Student",
                            "teacher_source": "Teacher source", "distill": "Distillation", "train": "Training",
                            "report": "Compression report"}
#: The epoch metrics the overlay offers first, in this order; any other recorded one follows, by name.
METRIC_ORDER = ("val_accuracy", "val_loss", "accuracy", "loss", "hard_loss", "distill_loss")
#: Fields that label a run rather than set it up: never "changed from the default" (there is none).
LABEL_FIELDS = frozenset({"name"})
#: A field one run has and another lacks (a damaged row, a field added later).
ABSENT = "–"
#: The column of the compare frame that says whether the runs differ on a field.
DIFFERS = "Differs"
#: How a changed or differing row is shaded (a pale amber that reads in light and dark themes).
HIGHLIGHT = "background-color: rgba(255, 193, 7, 0.25)"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections as ``{"train.epochs": 3, ...}``; lists and other leaves stay values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def validated(raw: Mapping[str, Any] | None, damage: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """A stored config as the run ran it (JSON-ready, every field filled), or None and why it cannot be read.

    ``damage`` is the store's word that the row could not be read: its empty config would
    otherwise validate as the defaults and pass for settings the run never had.
    """
    if damage is not None:
        return None, damage
    try:
        return stored_config(dict(raw or {})).model_dump(mode="json"), None
    except (ConfigError, ValueError) as e:  # an old or hand-edited row: say so, keep the page up
        return None, str(e)


def defaults_for(config: Mapping[str, Any]) -> dict[str, Any]:
    """A new run's defaults, flattened, for the teacher family ``config`` uses (the family's recipe included)."""
    entry = FAMILIES.get(role_family(config, "teacher"))
    base = RunConfig()
    defaults = flatten(base.model_dump(mode="json"))
    if entry is not None:
        with_family = config_from_dict({"teacher": entry.default_size.model_dump(mode="json")})
        defaults = flatten(with_family.model_dump(mode="json"))
        defaults["teacher.family"] = base.teacher.family  # choosing another family is a change
    student = FAMILIES.get(role_family(config, "student"))
    if student is not None and student.name != base.student.family:  # its sizes against its family's student
        defaults = {k: v for k, v in defaults.items() if not k.startswith("student.")}
        defaults.update(flatten({"student": student.student_size.model_dump(mode="json")}))
        defaults["student.family"] = base.student.family
    return defaults


def role_family(config: Mapping[str, Any], role: str) -> str:
    """The family of a stored config's teacher or student ("" when it names none we could read)."""
    size = config.get(role)
    return str((size.get("family") if isinstance(size, Mapping) else None) or "")


def _meaning(path: str, config: Mapping[str, Any]) -> str:
    """A field's description; a teacher's or student's size field as its family defines it."""
    role = section_of(path)
    family = role_family(config, role) if role in ("teacher", "student") else ""
    return field_description(path, family) if family in FAMILIES else field_description(path)


def cell_text(value: Any) -> str:
    """One value as a table cell: JSON's words for yes/no and empty, numbers without float noise."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def section_of(path: str) -> str:
    """The section a dotted path belongs to ("" for top-level fields)."""
    head, dot, _ = path.partition(".")
    return head if dot else ""


def changed_fields(config: Mapping[str, Any]) -> list[str]:
    """The dotted paths whose value differs from :func:`defaults_for` the config, in the config's order."""
    defaults = defaults_for(config)
    return [path for path, value in flatten(config).items()
            if path not in LABEL_FIELDS and defaults.get(path, object()) != value]


def config_sections(config: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Section title -> frame of Field, Value, Default, Changed (bool) and Meaning, for the config panel."""
    defaults = defaults_for(config)
    rows: dict[str, list[dict[str, Any]]] = {}
    for path, value in flatten(config).items():
        known = path in defaults and path not in LABEL_FIELDS
        rows.setdefault(section_of(path), []).append({
            "Field": path, "Value": cell_text(value), "Default": cell_text(defaults[path]) if known else ABSENT,
            "Changed": path not in LABEL_FIELDS and (not known or defaults[path] != value),
            "Meaning": _meaning(path, config),
        })
    ordered = [s for s in SECTIONS if s in rows] + [s for s in rows if s not in SECTIONS]
    return {SECTIONS.get(s, s): pd.DataFrame(rows[s]) for s in ordered}


def unique_labels(names: Mapping[str, str]) -> dict[str, str]:
    """Run id -> a label no other chosen run has: its name, with the id added where names repeat or are empty."""
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {run_id: name if name and counts[name] == 1 else (f"{name} ({run_id})" if name else run_id)
            for run_id, name in names.items()}


def compare_frame(configs: Mapping[str, Mapping[str, Any] | None], *, only_differing: bool = False) -> pd.DataFrame:
    """Runs side by side: a row per field (index: dotted path), a column per run, and :data:`DIFFERS`.

    ``configs`` maps a run's label to its validated config, or None for one that cannot be read
    (its cells read :data:`ABSENT`). A field differs when the readable runs do not all hold the
    same value, or some run lacks it.
    """
    flat = {label: flatten(config) if config else {} for label, config in configs.items()}
    paths: list[str] = []
    for values in flat.values():
        paths += [p for p in values if p not in paths]
    order = {s: i for i, s in enumerate(SECTIONS)}
    paths.sort(key=lambda p: order.get(section_of(p), len(order)))  # stable: fields keep their schema order
    rows = []
    for path in paths:
        cells = [values.get(path, ABSENT) for values in flat.values()]
        texts = [ABSENT if cell is ABSENT else cell_text(cell) for cell in cells]
        rows.append([*texts, len(set(texts)) > 1])
    frame = pd.DataFrame(rows, columns=[*flat, DIFFERS], index=pd.Index(paths, name="Field"))
    return frame[frame[DIFFERS]] if only_differing else frame


def highlighted(frame: pd.DataFrame, flag: str) -> Styler:
    """``frame`` with the rows whose ``flag`` column is true shaded, so the eye finds them in a long table."""
    def shade(row: pd.Series) -> list[str]:
        return [HIGHLIGHT if row[flag] else "" for _ in row]

    return frame.style.apply(shade, axis=1)


def recorded_metrics(curves: Iterable[pd.DataFrame | None]) -> list[str]:
    """Every epoch metric the given runs recorded, the usual ones first (:data:`METRIC_ORDER`), then by name."""
    names: set[str] = set()
    for frame in curves:
        if frame is not None and not frame.empty:
            names.update(frame.loc[frame["kind"] == "epoch", "name"].astype(str))
    return [m for m in METRIC_ORDER if m in names] + sorted(names.difference(METRIC_ORDER))


def metric_label(metric: str) -> str:
    """``val_loss`` -> ``Validation loss``: how a metric is named in the select box and the chart."""
    return metric.replace("val_", "validation ").replace("_", " ").capitalize()
