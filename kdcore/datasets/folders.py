"""A folder of ``.txt`` files, one sub-folder per class (Keras' ``text_dataset_from_directory`` layout).

Either ``<folder>/<class>/*.txt``, or one level more for given splits:
``<folder>/{train,val,test}/<class>/*.txt`` (the aclImdb layout), which becomes a ``split``
column. Files are counted against the size limit as they are read, and each is decoded on its
own (UTF-8, else a legacy encoding), since files gathered from many places differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from kdcore.datasets.errors import DatasetError
from kdcore.datasets.sources import decode

SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
LAYOUT = "one sub-folder of .txt files per class (optionally inside train/, val/ and test/ sub-folders)"


def _subfolders(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))


def read_folder(folder: Path, encoding: str | None, limit: int) -> tuple[pd.DataFrame, str, str, str | None]:
    """(frame with text, label[, split], encodings used, sha256 of names and contents, split column or None)."""
    classes = _subfolders(folder)
    if not classes:
        raise DatasetError(f"folder {folder.name} has no sub-folders; expected {LAYOUT}")
    by_split = all(d.name.lower() in SPLIT_FOLDERS for d in classes)
    parts = [(SPLIT_FOLDERS[d.name.lower()], c) for d in classes for c in _subfolders(d)] if by_split else \
        [(None, c) for c in classes]
    if not parts:
        raise DatasetError(f"folder {folder.name}: its split folders hold no class sub-folders; expected {LAYOUT}")
    digest, total, encodings = hashlib.sha256(), 0, set()
    texts, labels, splits = [], [], []
    for split, class_dir in parts:
        for file in sorted(class_dir.glob("*.txt")):
            data = file.read_bytes()
            total += len(data)
            if total > limit:
                raise DatasetError(f"folder {folder.name} holds more than {limit / 1024**2:,.0f} MB of text, "
                                   "over the size limit")
            relative = file.relative_to(folder).as_posix()
            digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
            text, used = decode(data, relative, encoding)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            encodings.add(used)
            texts.append(text)
            labels.append(class_dir.name)
            splits.append(split)
    if not texts:
        raise DatasetError(f"folder {folder.name} holds no .txt files; expected {LAYOUT}")
    frame = pd.DataFrame({"text": texts, "label": labels})
    if by_split:
        frame["split"] = splits
    return frame, ", ".join(sorted(encodings)), digest.hexdigest(), "split" if by_split else None
