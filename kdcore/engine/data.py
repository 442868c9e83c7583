"""IMDB in Keras' layout, loaded exactly as ``keras.datasets.imdb.load_data`` would.

Why our own loader: machines without internet cannot let Keras download, and the shared
offline file is not byte-identical to Keras' (its sha256 check would fail and delete it).
So we read the npz by path and reproduce Keras' offsets, ``num_words`` cut and seed-113
shuffle ourselves; a test compares the result with Keras' own function. Nothing here
imports TensorFlow: Keras is only imported for a download.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import socket
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from kdcore.config import DataConfig

IMDB_ENV = "KDCORE_IMDB_PATH"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
KERAS_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
SHUFFLE_SEED = 113  # keras.datasets.imdb.load_data's default
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
DOWNLOAD_TIMEOUT_S = 30.0
REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
# A member's declared (uncompressed) size may reach the floor whatever the archive's size, or
# EXPANSION times the archive's size, never the ceiling: Keras' imdb.npz (17 MB) holds members
# of 14 MB, while a zip bomb declares a gigabyte in a megabyte, and reading it took 2.7 GB.
MEMBER_FLOOR_BYTES = 256 * 2**20
MEMBER_EXPANSION = 100
MEMBER_CEILING_BYTES = 8 * 2**30
LABELS = (0, 1)
#: Where a row's zeros go: in front of the tokens (IMDB, Keras' ``pad_sequences``) or after them (texts).
Padding = Literal["pre", "post"]


class DataError(RuntimeError):
    """The dataset cannot be found or read; the message says what to do."""


@dataclass(frozen=True)
class Splits:
    """Padded int32 token matrices and int32 labels (0 to ``num_classes - 1``), ready for ``fit``.

    IMDB's are pre-padded (Keras' ``pad_sequences``); a registered dataset's are post-padded
    (``TextVectorization``), and carry the vocabulary their ids index, for the raw-text model.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    num_classes: int = 2
    class_names: tuple[str, ...] = ("negative", "positive")
    padding: Padding = "pre"
    vocabulary: list[str] | None = field(default=None, repr=False, compare=False)
    #: Each training / test row's index in the data's source order (IMDB: ``load_data``'s x_train / x_test,
    #: before limits and the validation hold-out; a registered dataset: its ``split == "train"`` / ``"test"``
    #: rows in ``rows.parquet`` order): what maps a teacher's outputs given for the source rows to this run's.
    train_rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    test_rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: How many training / test rows the source has (what a file of soft labels must hold).
    source_counts: tuple[int, int] | None = field(default=None, compare=False)
    #: A registered dataset's raw texts of the training / test rows (a teacher that reads strings); None for IMDB.
    texts_train: list[str] | None = field(default=None, repr=False, compare=False)
    texts_test: list[str] | None = field(default=None, repr=False, compare=False)

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


def _read_member(fp: IO[bytes], size: int, label: str) -> np.ndarray:
    """One ``.npy`` member of ``size`` bytes; a plain array whose header claims more than the bytes hold is refused.

    numpy allocates the header's shape before it reads the data, so a forged shape of a
    few bytes would ask for terabytes; object arrays (ragged reviews) unpickle under restriction.
    """
    major, _ = np.lib.format.read_magic(fp)
    read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(fp)
    if dtype.hasobject:
        array = _ArrayOnlyUnpickler(fp).load()
    else:
        needed = math.prod(shape) * dtype.itemsize
        if needed > size - fp.tell():
            raise DataError(f"{label}: its header declares {shape} of {dtype} ({_mib(needed)}), more than "
                            f"its {_mib(size)} hold; the file is damaged")
        fp.seek(0)
        array = np.lib.format.read_array(fp, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise DataError(f"{label}: holds a {type(array).__name__}, not an array")
    return array


def member_limit(archive_bytes: int) -> int:
    """The largest declared size of one npz member that is read, for an archive of ``archive_bytes``."""
    return min(MEMBER_CEILING_BYTES, max(MEMBER_FLOOR_BYTES, MEMBER_EXPANSION * archive_bytes))


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _read_members(path: Path, archive: zipfile.ZipFile, names: dict[str, str]) -> list[np.ndarray]:
    """The four arrays, each member's declared size checked against :func:`member_limit` before it is read.

    ``ZipExtFile`` stops at the declared size (and then checks the CRC), so a header that
    lies small cannot make a read grow past it either.
    """
    archive_bytes = path.stat().st_size
    limit = member_limit(archive_bytes)
    arrays = []
    for key in REQUIRED_KEYS:
        info = archive.getinfo(names[key])
        if info.file_size > limit:
            raise DataError(f"{path}: member {info.filename} declares {_mib(info.file_size)} uncompressed, over the "
                            f"{_mib(limit)} allowed for a {_mib(archive_bytes)} archive; the file is damaged or "
                            "a zip bomb, and was not read")
        with archive.open(info) as member:
            data = member.read()
        arrays.append(_read_member(io.BytesIO(data), len(data), f"{path}: member {info.filename}"))
    return arrays


def _describe(array: np.ndarray) -> str:
    kinds = {"U": "text", "S": "bytes", "O": "Python objects", "f": "floats", "b": "booleans", "c": "complex numbers"}
    return f"{kinds.get(array.dtype.kind, str(array.dtype))} (dtype {array.dtype}, shape {array.shape})"


def check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Refuse arrays Keras would choke on deep inside ``fit``: empty splits, text, labels other than 0/1."""
    for key in REQUIRED_KEYS:
        if arrays[key].ndim > 0 and len(arrays[key]) == 0:
            raise DataError(f"{path}: {key} is empty; the file needs at least one training and one test review")
    for key in ("x_train", "x_test"):
        x = arrays[key]
        if x.ndim == 0 or x.dtype.kind not in "iuO":
            raise DataError(f"{path}: {key} holds {_describe(x)}; expected one list of integer token ids "
                            "per review (Keras' imdb.npz layout)")
    for key in ("y_train", "y_test"):
        y = arrays[key]
        if y.ndim != 1 or y.dtype.kind not in "iufb":
            raise DataError(f"{path}: {key} holds {_describe(y)}; expected a 1-D array of labels 0 and 1")
        wrong = np.setdiff1d(np.unique(y), LABELS)
        if wrong.size:
            shown = ", ".join(f"{v:g}" for v in wrong[:5]) + (", ..." if wrong.size > 5 else "")
            raise DataError(f"{path}: {key} holds labels other than 0 and 1 (found {shown}); "
                            "KD Studio trains binary sentiment classifiers, so every label must be 0 or 1")


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
            arrays = _read_members(path, archive, names)
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, pickle.UnpicklingError) as e:
        raise DataError(f"{path}: cannot be read as an npz file (truncated or wrong format: {e})") from e
    check_arrays(path, dict(zip(REQUIRED_KEYS, arrays)))
    x_train, y_train, x_test, y_test = arrays
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DataError(f"{path}: reviews and labels differ in length "
                        f"(train {len(x_train)} vs {len(y_train)}, test {len(x_test)} vs {len(y_test)})")
    return x_train, y_train, x_test, y_test


def keras_layout(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 num_words: int) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], np.ndarray]:
    """Apply Keras' seed-113 shuffle, start/oov/index_from offsets and ``num_words`` cut."""
    rng = np.random.RandomState(SHUFFLE_SEED)
    train_order = np.arange(len(x_train))
    rng.shuffle(train_order)
    test_order = np.arange(len(x_test))
    rng.shuffle(test_order)

    def encode(reviews: np.ndarray, order: np.ndarray, name: str) -> list[np.ndarray]:
        out = []
        for row in order:  # in shuffled order; an error names the row as the file has it
            ids = _token_ids(reviews[row], name, int(row)) + INDEX_FROM
            ids = np.where(ids < num_words, ids, OOV_CHAR)
            out.append(np.concatenate(([START_CHAR], ids)).astype(np.int32))
        return out

    return (encode(x_train, train_order, "x_train"), np.asarray(y_train[train_order]),
            encode(x_test, test_order, "x_test"), np.asarray(y_test[test_order]))


def _token_ids(review: Any, name: str, row: int) -> np.ndarray:
    """One review as int64 ids; anything but a flat list of non-negative integers is a DataError naming the row."""
    try:
        ids = np.asarray(review)
    except (TypeError, ValueError) as e:  # e.g. a ragged list of lists
        raise DataError(f"{name}[{row}] is not a list of token ids ({e})") from e
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise DataError(f"{name}[{row}] holds {_describe(ids)}, not a list of integer token ids")
    if ids.size and ids.min() < 0:
        raise DataError(f"{name}[{row}] holds a negative token id ({ids.min()}); ids start at 0")
    return ids.astype(np.int64)


def pad(sequences: list[np.ndarray], maxlen: int) -> np.ndarray:
    """``keras.utils.pad_sequences(seqs, maxlen)``: pre-padding with 0, pre-truncation."""
    out = np.zeros((len(sequences), maxlen), dtype=np.int32)
    for i, seq in enumerate(sequences):
        tail = seq[-maxlen:]
        if len(tail):
            out[i, maxlen - len(tail):] = tail
    return out


def repad(x: np.ndarray, maxlen: int, padding: Padding = "pre") -> np.ndarray:
    """A padded matrix at another width, as the padding of its rows would have made it from the same tokens.

    Pre-padded rows (``pad``): a narrower width keeps the last columns and a wider one adds
    zeros in front. Post-padded rows (a registered dataset's ``TextVectorization``): a narrower
    width keeps the first columns and a wider one appends zeros. Either way a teacher reading
    ``maxlen`` tokens sees exactly the words of a student's shorter view.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f"padding must be 'pre' or 'post', got {padding!r}")
    width = x.shape[1]
    if padding == "post":
        return x[:, :maxlen] if maxlen <= width else np.pad(x, ((0, 0), (0, maxlen - width)))
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


def load_splits(config: DataConfig, seed: int, home: Path | None = None) -> Splits:
    """Train / validation / test matrices for one run, as the config describes, padded to ``maxlen``."""
    return load_split_views(config, seed, [config.maxlen], home)[config.maxlen]


def load_split_views(config: DataConfig, seed: int, maxlens: Iterable[int],
                     home: Path | None = None) -> dict[int, Splits]:
    """The same rows and split padded to each length: a teacher may read more of a review than its student.

    The file is read once, and the validation split depends on the labels and the seed only,
    so row ``i`` of every view is the same review. A registered dataset (``data.dataset``, read
    from ``home``) has its splits stored and its texts vectorised by :mod:`kdcore.engine.text`,
    imported only then: IMDB's path needs no TensorFlow.
    """
    if config.registered:
        from kdcore.engine.text import registered_views

        return registered_views(config, list(maxlens), home)
    path = resolve_path(config.path)
    raw = read_raw(path)
    try:
        x_train, y_train, x_test, y_test = keras_layout(*raw, num_words=config.vocab_size)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    counts = (len(x_train), len(x_test))
    train_rows, test_rows = np.arange(counts[0]), np.arange(counts[1])
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
        train_rows = train_rows[: config.train_limit]
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
        test_rows = test_rows[: config.test_limit]
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
            views[maxlen] = Splits(x_train_m, y_train, x_test_m, y_test, x_test_m, y_test, source=str(path),
                                   train_rows=train_rows, test_rows=test_rows, source_counts=counts)
        else:
            views[maxlen] = Splits(x_train_m[keep], y_train[keep], x_train_m[held], y_train[held], x_test_m, y_test,
                                   source=str(path), train_rows=train_rows[keep], test_rows=test_rows,
                                   source_counts=counts)
    return views
