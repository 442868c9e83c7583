"""Which column is the text and which the label, what the label column holds, and which rows lack either.

Guesses, each overridable: the text is the string column with the longest mean length; the
label is a column with 2 to 1,000 distinct values, a conventional name (label, class,
sentiment, ...) first, then the fewest distinct values. Labels are strings or integers,
never both: classes are sorted by value (integers numerically) and stored as strings.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from kdcore.datasets.errors import DatasetError

MAX_CLASSES = 1000
LABEL_NAMES = ("label", "labels", "class", "category", "sentiment", "target", "y", "tag", "intent", "emotion",
               "topic", "polarity", "classe", "categorie")
SPLIT_NAMES = ("split",)
SPLIT_VALUES = ("train", "val", "validation", "test")
_INT = r"[+-]?\d+"
_FLOAT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: Integers beyond this are ids or hashes, not labels (and lose precision as floats).
MAX_LABEL_INT = 2**53


def column_kind(series: pd.Series) -> str:
    """'str', 'int', 'float', 'bool', 'mixed' or 'empty': what a column's present values are."""
    values = series.dropna()
    if values.empty:
        return "empty"
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "string":  # the head first: a text column fails at once, without a regex over every text
        head = values.head(100)
        if head.str.fullmatch(_INT).all() and values.str.fullmatch(_INT).all():
            return "int"
        if head.str.fullmatch(_FLOAT).all() and values.str.fullmatch(_FLOAT).all():  # CSV cells are strings
            return "int" if np.all(np.mod(values.astype(float), 1) == 0) else "float"
        return "str"
    if inferred == "boolean":
        return "bool"
    if inferred == "integer":
        return "int"
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "int" if np.all(np.mod(values.astype(float), 1) == 0) else "float"
    return "mixed"


def _check_exists(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    if column not in frame.columns:
        raise DatasetError(f"{source} has no column {column!r} ({role}); its columns: "
                           f"{', '.join(map(repr, frame.columns))}")


def split_column_of(frame: pd.DataFrame, given: str | None, source: str) -> str | None:
    """The given split column (checked), else a column named ``split`` (any case) that holds only
    train/val/validation/test in every row, else None: a ``split`` column meaning something else is
    left alone rather than refusing the file."""
    if given is not None:
        _check_exists(frame, given, "split column", source)
        return given
    for column in frame.columns:
        if column.lower() in SPLIT_NAMES and frame[column].notna().all():
            values = set(frame[column].astype(str).str.strip().str.lower().unique().tolist())
            if values <= set(SPLIT_VALUES):
                return column
    return None


def choose_columns(frame: pd.DataFrame, text: str | None, label: str | None, split: str | None,
                   source: str) -> tuple[str, str]:
    """(text column, label column): the given ones checked, the others guessed; DatasetError if none fits."""
    for column, role in ((text, "text column"), (label, "label column")):
        if column is not None:
            _check_exists(frame, column, role, source)
    if text is not None and label is not None and text == label:
        raise DatasetError(f"{source}: the text and the label column are both {text!r}; choose two columns")
    kinds = {c: column_kind(frame[c]) for c in frame.columns}
    if text is None:
        text = _guess_text(frame, kinds, {label, split}, source)
    elif kinds[text] not in ("str", "empty"):
        raise DatasetError(f"{source}: column {text!r} holds {kinds[text]} values, not text; choose the column "
                           "with the texts")
    if label is None:
        label = _guess_label(frame, kinds, {text, split}, source)
    return text, label


def _guess_text(frame: pd.DataFrame, kinds: dict[str, str], taken: set, source: str) -> str:
    candidates = [c for c in frame.columns if kinds[c] == "str" and c not in taken]
    if not candidates:
        raise DatasetError(f"{source} has no text-like column (a column of strings); its columns: "
                           + ", ".join(f"{c!r} ({kinds[c]})" for c in frame.columns))
    sample = frame.sample(n=min(len(frame), 5000), random_state=0)
    return max(candidates, key=lambda c: sample[c].dropna().str.len().mean())


def _guess_label(frame: pd.DataFrame, kinds: dict[str, str], taken: set, source: str) -> str:
    fits = []
    for c in frame.columns:
        if c in taken or kinds[c] in ("float", "empty"):
            continue
        distinct = frame[c].nunique(dropna=True)
        if 2 <= distinct <= MAX_CLASSES:
            fits.append((c.lower() not in LABEL_NAMES, distinct, c))
    if not fits:
        raise DatasetError(f"{source}: no column looks like a label (2 to {MAX_CLASSES:,} distinct values) besides "
                           f"the text; its columns: {', '.join(map(repr, frame.columns))}; choose the label column")
    return min(fits)[2]


def missing_masks(texts: pd.Series, labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(rows without a text, rows without a label): null, or for a label a blank string."""
    no_text = texts.isna().to_numpy()
    if pd.api.types.is_string_dtype(labels.dtype) and labels.dtype != object:
        blank = labels.str.strip().eq("").fillna(False)
    elif labels.dtype == object:
        blank = labels.map(lambda v: isinstance(v, str) and not v.strip(), na_action="ignore").fillna(False)
    else:
        blank = False
    no_label = (labels.isna() | blank).to_numpy()
    return no_text, no_label


def _example(values: pd.Series, mask: pd.Series) -> str:
    row = int(np.flatnonzero(mask.to_numpy())[0])
    return f"row {row + 1}: {values.iloc[row]!r}"


def class_labels(labels: pd.Series, column: str, source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(each row's class name, the classes in their fixed order) for a label column without gaps."""
    kind = column_kind(labels)
    where = f"{source}: label column {column!r}"
    if kind == "float":
        frac = labels.astype(float) % 1 != 0
        raise DatasetError(f"{where} holds decimal numbers ({_example(labels, frac)}); a label is a string or an "
                           "integer: is it the right column?")
    as_text = labels.astype(str).str.strip() if kind in ("str", "bool", "mixed") else None
    if kind == "mixed" or (kind == "str" and as_text.str.fullmatch(_INT).any()):
        is_number = labels.map(lambda v: not isinstance(v, str) or re.fullmatch(_INT, v.strip()) is not None)
        raise DatasetError(f"{where} mixes numbers and text ({_example(labels, is_number)}, "
                           f"{_example(labels, ~is_number)}); labels must be all strings or all integers")
    if kind == "int":
        as_number = labels if pd.api.types.is_numeric_dtype(labels) else \
            pd.to_numeric(labels.astype(str).str.strip(), errors="coerce")
        if not np.all(np.abs(as_number.astype(float)) <= MAX_LABEL_INT):
            raise DatasetError(f"{where} holds integers too large for a label; is it an id column?")
        numbers = as_number.astype("int64")
        order = np.unique(numbers.to_numpy())
        classes, names = tuple(str(v) for v in order), numbers.astype(str).to_numpy()
    else:
        names = as_text.to_numpy()
        classes = tuple(sorted(set(names)))
    if len(classes) < 2:
        raise DatasetError(f"{where} has one class only ({classes[0]!r}); a classifier needs at least 2")
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"{where} has {len(classes):,} distinct values, over {MAX_CLASSES:,} classes: "
                           "is it the right column?")
    return names.astype(str), classes
