"""Files the engine writes so that a crash never leaves half of one: written aside, then renamed.

A killed worker resumes from what is on disk, and later runs reuse what earlier ones put
in the shared caches, so every checkpoint, cached target and cache entry must be either
the old file or the whole new one. ``os.replace`` is atomic within a folder; each
temporary name keeps the suffix its writer insists on (NumPy appends ``.npy``, Keras wants
``.weights.h5``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np


def _write_aside(path: Path, tmp: Path, write: Callable[[Path], object]) -> None:
    write(tmp)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    _write_aside(path, path.with_name(path.name + ".tmp"), lambda tmp: tmp.write_text(text))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    _write_aside(path, path.with_name(path.stem + ".tmp.npy"), lambda tmp: np.save(tmp, array))


def atomic_save_weights(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(path.name.replace(".weights.h5", ".tmp.weights.h5"))
    _write_aside(path, tmp, model.save_weights)


def deployable_copy(model: keras.Model) -> keras.Model:
    """An uncompiled copy with the same weights: what a user downloads, or a later run reuses, predicts with.

    Adam keeps two slots per weight, so a file saved with its state is about three times the
    model (and a "4x smaller" student only 1.3x on disk). Resume needs that state; it lives in
    the per-epoch checkpoints (:class:`kdcore.engine.training.ArmCheckpoint`), never in a download.
    """
    copy = keras.Model.from_config(model.get_config())  # not clone_model: it copies the compiled optimizer too
    copy.set_weights(model.get_weights())
    return copy


def save_deployable(model: keras.Model, path: Path, weights_path: Path | None = None) -> int:
    """Save ``model`` without optimizer state as ``path`` (a ``.keras``), and its weights alone as ``weights_path``.

    Each file is written aside and renamed, so a resumed run never trusts half a model.
    Returns the size in bytes of ``path``: the file a user gets, hence the size reported.
    """
    deployable = deployable_copy(model)
    _write_aside(path, path.with_name(path.name.removesuffix(".keras") + ".tmp.keras"), deployable.save)
    if weights_path is not None:
        atomic_save_weights(deployable, weights_path)
    return path.stat().st_size


def publish_folder(target: Path, fill: Callable[[Path], None]) -> None:
    """Make ``target`` appear whole, filled by ``fill(folder)``, unless it exists already.

    For the caches every run shares (teachers, scratch baselines): two runs may publish the
    same entry at once; the first rename wins and the other's copy is dropped.
    """
    if target.exists():
        return
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    fill(tmp)
    try:
        os.replace(tmp, target)
    except OSError:  # another run published the same entry first
        shutil.rmtree(tmp, ignore_errors=True)
