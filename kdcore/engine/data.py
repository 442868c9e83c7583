"""IMDB in Keras' layout, loaded exactly as ``keras.datasets.imdb.load_data`` would.

Why our own loader: machines without internet cannot let Keras download, and the shared
offline file is not byte-identical to Keras' (its sha256 check would fail and delete it).
So we read the npz by path and reproduce Keras' offsets, ``num_words`` cut and seed-113
shuffle ourselves; a test compares the result with Keras' own function. Nothing here
imports TensorFlow: Keras is only imported for a download.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from kdcore.config import DataConfig

IMDB_ENV = "KDCORE_IMDB_PATH"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
KERAS_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
SHUFFLE_SEED = 113  # keras.datasets.imdb.load_data's default
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
DOWNLOAD_TIMEOUT_S = 30.0
REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(RuntimeError):
    """The dataset cannot be found or read; the message says what to do."""


@dataclass(frozen=True)
class Splits:
    """Padded int32 token matrices and int32 labels, ready for ``fit``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_val, self.y_val


def keras_cache_path() -> Path:
    """Where ``keras.datasets.imdb.load_data`` keeps its download."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(keras_home) / "datasets" / "imdb.npz"


def resolve_path(configured: str | None) -> Path:
    """The file to read: the config's path, else ``$KDCORE_IMDB_PATH``, else Keras' cache, else download."""
    for label, value in (("data.path", configured), (f"${IMDB_ENV}", os.environ.get(IMDB_ENV))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise DataError(f"{label} points at {str(path)!r}, which is not a file. "
                                "Give the path of imdb.npz in Keras' layout (x_train, y_train, x_test, y_test).")
            return path
    cached = keras_cache_path()
    if cached.is_file():
        return cached
    return _download(cached)


def _download(target: Path) -> Path:
    """Keras' own download, bounded in time; offline, a message that says where to put the file."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        from keras.utils import get_file

        return Path(get_file(fname="imdb.npz", origin=KERAS_ORIGIN, file_hash=KERAS_SHA256))
    except Exception as e:  # noqa: BLE001 - any network or hash failure means the same to the user
        raise DataError(
            f"IMDB is not available offline and the download failed ({type(e).__name__}: {e}). "
            f"Put imdb.npz (Keras' layout) somewhere and set data.path, or ${IMDB_ENV}, to it; "
            f"or place Keras' own file at {target}."
        ) from e
    finally:
        socket.setdefaulttimeout(previous)


_ALLOWED_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """IMDB stores ragged reviews as object arrays (a pickle); allow numpy arrays, nothing else.

    ``np.load(allow_pickle=True)`` would run any code a tampered file carries; like Keras'
    own ``npz_utils``, only the three globals that rebuild an array are accepted.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the file is corrupt or not a dataset")


def _read_member(fp: IO[bytes]) -> np.ndarray:
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:  # an object array: skip the header, then unpickle under restriction
        fp.seek(0)
        major, _ = np.lib.format.read_magic(fp)
        if major == 1:
            np.lib.format.read_array_header_1_0(fp)
        else:
            np.lib.format.read_array_header_2_0(fp)
        return _ArrayOnlyUnpickler(fp).load()


def read_raw(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the four arrays, turning every way a file can be wrong into one clear DataError."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an npz file (expected Keras' imdb.npz with x_train, y_train, x_test, y_test)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.removesuffix(".npy"): n for n in archive.namelist()}
            missing = [k for k in REQUIRED_KEYS if k not in names]
            if missing:
                raise DataError(f"{path}: not an IMDB file in Keras' layout (missing {', '.join(missing)}; "
                                f"has {', '.join(sorted(names)) or 'nothing'})")
            arrays = []
            for key in REQUIRED_KEYS:
                with archive.open(names[key]) as member:
                    arrays.append(_read_member(io.BytesIO(member.read())))
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, pickle.UnpicklingError) as e:
        raise DataError(f"{path}: cannot be read as an npz file (truncated or wrong format: {e})") from e
    x_train, y_train, x_test, y_test = arrays
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DataError(f"{path}: reviews and labels differ in length "
                        f"(train {len(x_train)} vs {len(y_train)}, test {len(x_test)} vs {len(y_test)})")
    return x_train, y_train, x_test, y_test


def keras_layout(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 num_words: int) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], np.ndarray]:
    """Apply Keras' seed-113 shuffle, start/oov/index_from offsets and ``num_words`` cut."""
    rng = np.random.RandomState(SHUFFLE_SEED)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, y_train = x_train[order], y_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, y_test = x_test[order], y_test[order]

    def encode(reviews: np.ndarray) -> list[np.ndarray]:
        out = []
        for review in reviews:
            ids = np.asarray(review, dtype=np.int64) + INDEX_FROM
            ids = np.where(ids < num_words, ids, OOV_CHAR)
            out.append(np.concatenate(([START_CHAR], ids)).astype(np.int32))
        return out

    return encode(x_train), np.asarray(y_train), encode(x_test), np.asarray(y_test)


def pad(sequences: list[np.ndarray], maxlen: int) -> np.ndarray:
    """``keras.utils.pad_sequences(seqs, maxlen)``: pre-padding with 0, pre-truncation."""
    out = np.zeros((len(sequences), maxlen), dtype=np.int32)
    for i, seq in enumerate(sequences):
        tail = seq[-maxlen:]
        if len(tail):
            out[i, maxlen - len(tail):] = tail
    return out


def repad(x: np.ndarray, maxlen: int) -> np.ndarray:
    """A padded matrix at another width, as ``pad`` would have made it from the same (shown) tokens.

    Rows are pre-padded, so a narrower width keeps the last columns and a wider one adds
    zeros in front: a teacher reading ``maxlen`` tokens then sees exactly the words of a
    student's shorter view.
    """
    width = x.shape[1]
    if maxlen <= width:
        return x[:, width - maxlen:]
    return np.pad(x, ((0, 0), (maxlen - width, 0)))


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``fraction`` of each class held out, chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        n_val = int(round(len(members) * fraction))
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def load_splits(config: DataConfig, seed: int) -> Splits:
    """Train / validation / test matrices for one run, as the config describes, padded to ``maxlen``."""
    return load_split_views(config, seed, [config.maxlen])[config.maxlen]


def load_split_views(config: DataConfig, seed: int, maxlens: Iterable[int]) -> dict[int, Splits]:
    """The same rows and split padded to each length: a teacher may read more of a review than its student.

    The file is read once, and the validation split depends on the labels and the seed only,
    so row ``i`` of every view is the same review.
    """
    path = resolve_path(config.path)
    x_train, y_train, x_test, y_test = keras_layout(*read_raw(path), num_words=config.vocab_size)
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    y_train = y_train.astype(np.int32)
    y_test = y_test.astype(np.int32)
    if config.validate_on == "val":
        keep, held = stratified_split(y_train, config.val_fraction, seed)
        if len(held) == 0 or len(keep) == 0:
            raise DataError(f"data.val_fraction={config.val_fraction} leaves an empty split of "
                            f"{len(y_train)} training reviews; use more data or another fraction")
    views: dict[int, Splits] = {}
    for maxlen in maxlens:
        x_train_m, x_test_m = pad(x_train, maxlen), pad(x_test, maxlen)
        if config.validate_on == "test":
            views[maxlen] = Splits(x_train_m, y_train, x_test_m, y_test, x_test_m, y_test, source=str(path))
        else:
            views[maxlen] = Splits(x_train_m[keep], y_train[keep], x_train_m[held], y_train[held], x_test_m, y_test,
                                   source=str(path))
    return views
