"""Which rows train, validate and test: a split column, separate files, or a seeded stratified split.

Rule for the random split (documented for users): each class gives ``round(n * fraction)`` of
its rows, but at least :data:`MIN_PER_SPLIT` (1), to validation (when ``val_fraction`` > 0) and
to test, and keeps at least 1 for training; a class too small for that is refused by name.
When the file gives only some parts (a test file, a split column with train and test), the
missing parts are carved from the training rows the same way, with the fractions applied to
the training rows. The same rows, options and seed always give the same split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kdcore.datasets.errors import DatasetError

SPLITS = ("train", "val", "test")
SPLIT_VALUES = {"train": "train", "val": "val", "validation": "val", "test": "test"}
MIN_PER_SPLIT = 1


def normalise_split_values(values: pd.Series, column: str, source: str) -> np.ndarray:
    """The split column as train/val/test (case-insensitive, 'validation' = 'val'); others refused by name."""
    cleaned = values.astype(str).str.strip().str.lower()
    missing = values.isna().to_numpy()
    if missing.any():
        raise DatasetError(f"{source}: split column {column!r} is empty in {int(missing.sum()):,} rows (first: row "
                           f"{int(np.flatnonzero(missing)[0]) + 1}); allowed values: train, val (or validation), test")
    bad = sorted(set(cleaned.unique().tolist()) - set(SPLIT_VALUES))
    if bad:
        raise DatasetError(f"{source}: split column {column!r} holds {', '.join(map(repr, bad[:5]))}; allowed "
                           "values: train, val (or validation), test (any case)")
    return cleaned.replace({"validation": "val"}).to_numpy(dtype=object)


def _carve(labels: np.ndarray, rows: np.ndarray, fractions: dict[str, float], rng: np.random.Generator,
           classes: tuple[str, ...], where: str) -> dict[str, np.ndarray]:
    """Stratified: each class's rows, shuffled, give each part of ``fractions`` its share; the rest train."""
    parts = [p for p, f in fractions.items() if f > 0]
    out: dict[str, list[np.ndarray]] = {part: [] for part in parts}
    needed = 1 + MIN_PER_SPLIT * len(parts)
    for name in classes:
        members = rows[labels[rows] == name]
        n = len(members)
        if n < needed:
            raise DatasetError(f"class {name!r} has {n} {where}row(s); splitting it into train, {' and '.join(parts)} "
                               f"needs at least {needed} ({MIN_PER_SPLIT} each): add rows, merge the class, or give "
                               "the split (a split column, or validation/test files)")
        takes = {p: max(MIN_PER_SPLIT, int(round(n * fractions[p]))) for p in parts}
        while sum(takes.values()) > n - 1:  # always keep a training row
            biggest = max(takes, key=lambda p: takes[p])
            takes[biggest] -= 1
        members = members[rng.permutation(n)]
        start = 0
        for part in parts:
            out[part].append(members[start:start + takes[part]])
            start += takes[part]
    return {part: np.concatenate(chunks) if chunks else np.array([], dtype=int) for part, chunks in out.items()}


def assign_splits(labels: np.ndarray, given: np.ndarray | None, classes: tuple[str, ...], val_fraction: float,
                  test_fraction: float, seed: int) -> np.ndarray:
    """Each row's split: ``given`` (train/val/test, or None per row = not given) completed from training rows."""
    split = np.full(len(labels), "train", dtype=object) if given is None else given.astype(object).copy()
    rng = np.random.default_rng(seed)
    present = set(split[split != None])  # noqa: E711 (element-wise)
    wanted = {p: f for p, f in (("val", val_fraction), ("test", test_fraction)) if p not in present}
    train_rows = np.flatnonzero(split == "train")
    if len(train_rows) == 0:
        raise DatasetError("no training rows: the split column or files give only "
                           f"{', '.join(sorted(present))}; training needs rows too")
    if wanted:
        where = "training " if given is not None else ""
        carved = _carve(labels, train_rows, wanted, rng, _present(labels, train_rows, classes), where)
        for part, rows in carved.items():
            split[rows] = part
    missing_train = [c for c in classes if not np.any((labels == c) & (split == "train"))]
    if missing_train:
        raise DatasetError(f"class {missing_train[0]!r} has no training rows (it occurs only in "
                           f"{', '.join(sorted(set(split[labels == missing_train[0]])))}); a model cannot learn it")
    return split.astype(str)


def _present(labels: np.ndarray, rows: np.ndarray, classes: tuple[str, ...]) -> tuple[str, ...]:
    seen = set(labels[rows])
    return tuple(c for c in classes if c in seen)


def split_sizes(split: np.ndarray) -> dict[str, int]:
    return {part: int(np.sum(split == part)) for part in SPLITS}
