"""Registered datasets under ``<home>/datasets/<id>/``: ``rows.parquet`` and ``manifest.json``.

Registering writes into a hidden temporary folder beside the final one and renames it into
place (``os.replace``), so a dataset folder is either complete or absent, whatever fails; a
dataset whose id exists already is not rewritten (its name is kept). Deleting renames the
folder away before removing it, for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from kdcore.config import DATASET_ID_PATTERN
from kdcore.datasets.errors import DatasetError
from kdcore.datasets.manifest import IMDB_BUILTIN, Manifest
from kdcore.datasets.options import DEFAULT_OPTIONS, ReadOptions
from kdcore.datasets.parsing import Parsed, parse_frame, parse_source
from kdcore.datasets.splits import split_sizes

ROWS_FILE, MANIFEST_FILE = "rows.parquet", "manifest.json"
MAX_NAME = 200
STALE_TEMP_S = 3600.0


def datasets_dir(home: Path) -> Path:
    return Path(home) / "datasets"


def content_id(parsed: Parsed) -> str:
    """16 hex digits of the sha256 of the classes, texts, labels and splits: the dataset's identity."""
    rows = parsed.rows
    digest = hashlib.sha256()
    digest.update(json.dumps(list(parsed.classes)).encode())
    digest.update(json.dumps(rows["text"].tolist(), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    digest.update(rows["label"].to_numpy().astype("<i4").tobytes())
    digest.update(json.dumps(rows["split"].tolist()).encode())
    return digest.hexdigest()[:16]


def register(home: Path, source: Path, options: ReadOptions = DEFAULT_OPTIONS, *, name: str | None = None,
             validation: Path | None = None, test: Path | None = None) -> Manifest:
    """Read, check, split and store ``source``; DatasetError (and nothing written) for bad input."""
    parsed = parse_source(Path(source), options, validation=validation, test=test)
    return store_parsed(home, parsed, name or Path(source).name.split(".")[0] or Path(source).name)


def register_frame(home: Path, frame: pd.DataFrame, *, name: str, source_name: str = "frame",
                   options: ReadOptions = DEFAULT_OPTIONS) -> Manifest:
    """The same from a DataFrame with columns text and label (and optionally split)."""
    if options.text_column is None and options.label_column is None and {"text", "label"} <= set(frame.columns):
        options = replace(options, text_column="text", label_column="label")
    return store_parsed(home, parse_frame(frame, options, source_name), name)


def _check_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise DatasetError(f"a dataset name must be 1 to {MAX_NAME} characters, got {name!r}")
    return cleaned


def store_parsed(home: Path, parsed: Parsed, name: str) -> Manifest:
    """Store rows already parsed (the shell command previews them first); an existing id is returned as it is."""
    name = _check_name(name)
    dataset_id = content_id(parsed)
    folder = datasets_dir(home) / dataset_id
    if (folder / MANIFEST_FILE).is_file():
        return get_manifest(home, dataset_id)
    manifest = Manifest(
        id=dataset_id, name=name, classes=parsed.classes, text_column=parsed.text_column,
        label_column=parsed.label_column, source_name=parsed.source_name, source_sha256=parsed.source_sha256,
        encoding=parsed.encoding, split_sizes=split_sizes(parsed.rows["split"].to_numpy()),
        split_origin=parsed.split_origin, rows=len(parsed.rows),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _remove_stale(datasets_dir(home))
    temp = datasets_dir(home) / f".tmp-{dataset_id}-{uuid.uuid4().hex[:8]}"
    try:
        temp.mkdir(parents=True)
        parsed.rows.to_parquet(temp / ROWS_FILE, index=False, engine="pyarrow")
        (temp / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2), encoding="utf-8")
        try:
            os.replace(temp, folder)
        except OSError:  # registered meanwhile by another process: the same content, keep that one
            if not (folder / MANIFEST_FILE).is_file():
                raise
            return get_manifest(home, dataset_id)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return manifest


def _remove_stale(folder: Path) -> None:
    """Temporary folders left by a process killed mid-write (hidden, never listed): removed once an hour old."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_TEMP_S
    for child in folder.iterdir():
        try:
            if child.name.startswith((".tmp-", ".deleting-")) and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:  # removed meanwhile by another process
            continue


def _folder(home: Path, dataset_id: str) -> Path:
    if not isinstance(dataset_id, str) or not re.fullmatch(DATASET_ID_PATTERN, dataset_id):
        raise DatasetError(f"{dataset_id!r} is not a dataset id (16 hex digits, as `kdcore dataset list` shows)")
    folder = datasets_dir(home) / dataset_id
    if not (folder / MANIFEST_FILE).is_file():
        raise DatasetError(f"no registered dataset {dataset_id} under {datasets_dir(home)}")
    return folder


def get_manifest(home: Path, dataset_id: str) -> Manifest:
    """The manifest of a registered dataset ('imdb': the built-in one); DatasetError if unknown."""
    if dataset_id == IMDB_BUILTIN.id:
        return IMDB_BUILTIN
    path = _folder(home, dataset_id) / MANIFEST_FILE
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path} is damaged ({e.msg}); delete the dataset and register it again") from None


def list_datasets(home: Path, builtin: bool = False) -> list[Manifest]:
    """Registered datasets, newest first (the built-in IMDB first when ``builtin``); damaged ones skipped."""
    found = []
    folder = datasets_dir(home)
    if folder.is_dir():
        for child in folder.iterdir():
            if re.fullmatch(DATASET_ID_PATTERN, child.name) and (child / MANIFEST_FILE).is_file():
                try:
                    found.append(get_manifest(home, child.name))
                except DatasetError:
                    continue
    found.sort(key=lambda m: (m.created, m.id), reverse=True)
    return ([IMDB_BUILTIN] if builtin else []) + found


def load_rows(home: Path, dataset_id: str) -> pd.DataFrame:
    """The stored rows: text (str), label (int32 index into the manifest's classes), split (train/val/test)."""
    if dataset_id == IMDB_BUILTIN.id:
        raise DatasetError("the built-in IMDB is read by the engine's Keras loader, not from the registry")
    return pd.read_parquet(_folder(home, dataset_id) / ROWS_FILE, engine="pyarrow")


def rename(home: Path, dataset_id: str, name: str) -> Manifest:
    """Give a dataset a new display name (its id, the content's hash, stays)."""
    if dataset_id == IMDB_BUILTIN.id:
        raise DatasetError("the built-in IMDB cannot be renamed")
    manifest = get_manifest(home, dataset_id)
    data = {**manifest.to_dict(), "name": _check_name(name)}
    path = _folder(home, dataset_id) / MANIFEST_FILE
    temp = path.with_name(f".{MANIFEST_FILE}.{uuid.uuid4().hex[:8]}")
    temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temp, path)
    return Manifest.from_dict(data)


def delete(home: Path, dataset_id: str, in_use: Collection[str] | Mapping[str, list[str]] = ()) -> None:
    """Remove a dataset; refused, naming them, while ``in_use`` (queued or running runs using it) is not empty.

    ``in_use`` is the ids of the runs using this dataset, or all of :meth:`RunStore.active_datasets`.
    """
    if dataset_id == IMDB_BUILTIN.id:
        raise DatasetError("the built-in IMDB cannot be deleted")
    folder = _folder(home, dataset_id)
    runs = sorted(in_use.get(dataset_id, []) if isinstance(in_use, Mapping) else in_use)
    if runs:
        raise DatasetError(f"dataset {dataset_id} is used by queued or running run(s) {', '.join(runs)}; cancel "
                           "them or wait for them to finish, then delete it")
    doomed = folder.with_name(f".deleting-{dataset_id}-{uuid.uuid4().hex[:8]}")
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
