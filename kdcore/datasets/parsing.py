"""From files (or a DataFrame) and options to the rows a dataset stores: text, label code, split.

One path for the preview and for registering: :func:`parse_source` reads the main file and any
validation/test files, picks the columns, checks labels and gaps, and splits. ``lenient``
(the preview) records what registering would refuse, a gap or a class too small to split, as a
problem and carries on, so the user sees the counts before choosing; everything else (no such
column, mixed labels, an unreadable file) is refused at once in both modes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kdcore.datasets.columns import choose_columns, class_labels, missing_masks, split_column_of
from kdcore.datasets.errors import DatasetError
from kdcore.datasets.options import ReadOptions
from kdcore.datasets.reading import Table, read_table
from kdcore.datasets.splits import assign_splits, normalise_split_values

HEAD_ROWS = 10


@dataclass
class Parsed:
    """The dataset's rows (``text`` str, ``label`` int32 index into ``classes``, ``split`` str) and their story."""

    rows: pd.DataFrame
    classes: tuple[str, ...]
    head: pd.DataFrame
    columns: list[str]
    text_column: str
    label_column: str
    split_origin: str
    encoding: str
    source_name: str
    source_sha256: str
    missing: dict[str, int]
    problems: list[str] = field(default_factory=list)


@dataclass
class _Part:
    name: str
    texts: pd.Series
    labels: pd.Series
    split: np.ndarray | None


def parse_source(source: Path, options: ReadOptions, *, validation: Path | None = None, test: Path | None = None,
                 lenient: bool = False) -> Parsed:
    """Read and check ``source`` (and the given validation/test files); DatasetError names what is wrong."""
    main = read_table(Path(source), options.encoding)
    extra = [(part, read_table(Path(path), options.encoding)) for part, path in (("val", validation), ("test", test))
             if path is not None]
    return assemble(main, extra, options, lenient)


def parse_frame(frame: pd.DataFrame, options: ReadOptions, source_name: str, lenient: bool = False) -> Parsed:
    """The same from a DataFrame (columns text, label[, split] unless the options name others)."""
    if len(frame) == 0:
        raise DatasetError(f"{source_name} has no rows")
    copy = frame.reset_index(drop=True).copy()
    copy.columns = [str(c) for c in copy.columns]
    digest = hashlib.sha256(pd.util.hash_pandas_object(copy.astype(str), index=False).to_numpy().tobytes())
    return assemble(Table(copy, source_name, "n/a (DataFrame)", digest.hexdigest()), [], options, lenient)


def assemble(main: Table, extra: list[tuple[str, Table]], options: ReadOptions, lenient: bool) -> Parsed:
    """One dataset from the main table and the ``("val"|"test", table)`` files: columns, gaps, labels, split."""
    frame = main.frame
    if extra and options.split_column is not None:
        raise DatasetError(f"{main.name}: give either a split column or separate validation/test files, not both")
    split_col = main.split_column or (None if extra else split_column_of(frame, options.split_column, main.name))
    text_col, label_col = choose_columns(frame, options.text_column, options.label_column, split_col, main.name)
    given = normalise_split_values(frame[split_col], split_col, main.name) if split_col else None
    parts = [_Part(main.name, frame[text_col], frame[label_col],
                   given if given is not None else (np.full(len(frame), "train", dtype=object) if extra else None))]
    for part, table in extra:
        for column, role in ((text_col, "text column"), (label_col, "label column")):
            if column not in table.frame.columns:
                raise DatasetError(f"{table.name} has no column {column!r} (the {role} of {main.name}); its columns: "
                                   f"{', '.join(map(repr, table.frame.columns))}")
        parts.append(_Part(table.name, table.frame[text_col], table.frame[label_col],
                           np.full(len(table.frame), part, dtype=object)))
    problems: list[str] = []
    parts, missing = _drop_gaps(parts, options.drop_missing, lenient, problems)
    labels = pd.concat([p.labels for p in parts], ignore_index=True)
    names, classes = class_labels(labels, label_col, main.name + (" and the other files" if extra else ""))
    texts = pd.concat([p.texts for p in parts], ignore_index=True).astype(str)
    given_all = None if parts[0].split is None else np.concatenate([p.split for p in parts])
    try:
        split = assign_splits(names, given_all, classes, options.val_fraction, options.test_fraction, options.seed)
    except DatasetError as e:
        if not lenient:
            raise DatasetError(f"{main.name}: {e}") from None
        problems.append(str(e))
        split = np.full(len(names), "train", dtype=object).astype(str)
    codes = pd.Categorical(names, categories=list(classes)).codes.astype(np.int32)
    rows = pd.DataFrame({"text": texts, "label": codes, "split": split})
    origin = _origin(split_col, extra, given_all, main.split_column is not None, options)
    return Parsed(rows=rows, classes=classes, head=frame.head(HEAD_ROWS), columns=list(frame.columns),
                  text_column=text_col, label_column=label_col, split_origin=origin, encoding=main.encoding,
                  source_name=main.name, source_sha256=main.sha256, missing=missing, problems=problems)


def _drop_gaps(parts: list[_Part], drop: bool, lenient: bool, problems: list[str]) -> tuple[list[_Part], dict]:
    """Parts without the rows that lack a text or a label; refused unless ``drop`` (recorded when ``lenient``)."""
    kept, counts = [], {"texts": 0, "labels": 0}
    for part in parts:
        no_text, no_label = missing_masks(part.texts, part.labels)
        counts["texts"] += int(no_text.sum())
        counts["labels"] += int(no_label.sum())
        gap = no_text | no_label
        if gap.any() and not drop:
            first = int(np.flatnonzero(gap)[0]) + 1
            message = (f"{part.name}: {int(gap.sum()):,} row(s) lack a text ({int(no_text.sum()):,}) or a label "
                       f"({int(no_label.sum()):,}), first at row {first}; set drop_missing (--drop-missing, or "
                       "\"drop rows with gaps\") to drop them")
            if not lenient:
                raise DatasetError(message)
            problems.append(message)
        keep = ~gap
        kept.append(_Part(part.name, part.texts[keep].reset_index(drop=True), part.labels[keep].reset_index(drop=True),
                          None if part.split is None else part.split[keep]))
    if sum(len(p.texts) for p in kept) == 0:
        raise DatasetError(f"{parts[0].name}: no row has both a text and a label")
    return kept, counts


def _origin(split_col: str | None, extra: list[tuple[str, Table]], given: np.ndarray | None, from_folders: bool,
            options: ReadOptions) -> str:
    random = f"stratified random, seed {options.seed}"
    if given is None:
        return random
    if extra:
        base = "files (" + ", ".join(f"{'validation' if p == 'val' else p}: {t.name}" for p, t in extra) + ")"
    elif from_folders:
        base = "folders (train/, val/, test/)"
    else:
        base = f"split column {split_col!r}"
    carved = [p for p in ("val", "test") if p not in set(given)]
    return base + (f"; {' and '.join(carved)} carved from train ({random})" if carved else "")
