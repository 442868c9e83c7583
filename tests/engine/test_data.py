"""IMDB loading: equal to Keras' own load_data + pad_sequences, splits, file lookup and every error."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from kdcore.config import DataConfig
from kdcore.engine.data import (
    IMDB_ENV,
    DataError,
    keras_cache_path,
    keras_layout,
    load_splits,
    pad,
    read_raw,
    repad,
    resolve_path,
    stratified_split,
)


def keras_reference(path: Path, num_words: int, maxlen: int, monkeypatch: pytest.MonkeyPatch):
    """Keras' own loader on ``path``: its download step is patched to hand back the file as is."""
    import keras
    import keras.src.datasets.imdb as keras_imdb

    monkeypatch.setattr(keras_imdb, "get_file", lambda *args, **kwargs: str(path))
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(path=str(path), num_words=num_words)
    return (x_train, y_train, x_test, y_test,
            keras.utils.pad_sequences(x_train, maxlen=maxlen), keras.utils.pad_sequences(x_test, maxlen=maxlen))


def assert_same_as_keras(path: Path, num_words: int, maxlen: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compare kdcore's read_raw + keras_layout + pad with Keras' load_data + pad_sequences."""
    kx_train, ky_train, kx_test, ky_test, kpad_train, kpad_test = keras_reference(path, num_words, maxlen,
                                                                                   monkeypatch)
    x_train, y_train, x_test, y_test = keras_layout(*read_raw(path), num_words=num_words)

    assert [list(s) for s in x_train] == [list(s) for s in kx_train], "train sequences equal Keras' (order, ids)"
    assert [list(s) for s in x_test] == [list(s) for s in kx_test], "test sequences equal Keras' (order, ids)"
    np.testing.assert_array_equal(y_train, ky_train, err_msg="train labels equal Keras'")
    np.testing.assert_array_equal(y_test, ky_test, err_msg="test labels equal Keras'")
    np.testing.assert_array_equal(pad(x_train, maxlen), kpad_train, err_msg="padded train equals pad_sequences")
    np.testing.assert_array_equal(pad(x_test, maxlen), kpad_test, err_msg="padded test equals pad_sequences")


def write_npz(path: Path, x_train, y_train, x_test, y_test) -> Path:
    def ragged(rows):
        out = np.empty(len(rows), dtype=object)
        out[:] = [list(r) for r in rows]
        return out

    np.savez(path, x_train=ragged(x_train), y_train=np.asarray(y_train, dtype=np.int64),
             x_test=ragged(x_test), y_test=np.asarray(y_test, dtype=np.int64))
    return path


@pytest.fixture(scope="session")
def unique_imdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every review unique: review i of train is [i+10, 5] and of test [i+10, 6] (read-only)."""
    rng = np.random.default_rng(7)
    n_train, n_test = 300, 120
    x_train = [[i + 10, 5] for i in range(n_train)]
    x_test = [[i + 10, 6] for i in range(n_test)]
    y_train = rng.integers(0, 2, size=n_train)
    y_test = rng.integers(0, 2, size=n_test)
    return write_npz(tmp_path_factory.mktemp("unique") / "unique.npz", x_train, y_train, x_test, y_test)


@pytest.fixture
def no_data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $KDCORE_IMDB_PATH and an empty Keras home; returns that Keras home."""
    keras_home = tmp_path / "keras-home"
    keras_home.mkdir()
    monkeypatch.delenv(IMDB_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


# ----------------------------------------------------------------------------- equal to Keras


@pytest.mark.parametrize("num_words, maxlen", [(100, 30), (20000, 200), (40, 5)])
def test_keras_layout(synthetic_imdb: Path, monkeypatch: pytest.MonkeyPatch, num_words: int, maxlen: int):
    # given / when / then: the synthetic file through both loaders
    assert_same_as_keras(synthetic_imdb, num_words, maxlen, monkeypatch)


@pytest.fixture(scope="session")
def shared_imdb_slice(shared_imdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2,000 train and 1,000 test reviews of the real file, copied (read-only)."""
    with np.load(shared_imdb, allow_pickle=True) as f:
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    path = tmp_path_factory.mktemp("shared-slice") / "imdb_slice.npz"
    np.savez(path, x_train=arrays["x_train"][:2000], y_train=arrays["y_train"][:2000],
             x_test=arrays["x_test"][:1000], y_test=arrays["y_test"][:1000])
    return path


def test_keras_layout__real_imdb_slice(shared_imdb_slice: Path, monkeypatch: pytest.MonkeyPatch):
    # given / when / then: real reviews, the notebook's vocabulary and length
    assert_same_as_keras(shared_imdb_slice, num_words=20000, maxlen=200, monkeypatch=monkeypatch)


def test_keras_layout__offsets_and_cut():
    # given: one review with word ranks around the num_words cut
    x = np.empty(1, dtype=object)
    x[:] = [[1, 2, 6, 7, 100]]
    y = np.array([1])

    # when
    x_train, _, _, _ = keras_layout(x, y, x.copy(), y.copy(), num_words=10)

    # then: start 1, ranks + 3, ranks >= num_words - 3 become oov 2
    assert list(x_train[0]) == [1, 4, 5, 9, 2, 2], f"Keras' offsets and cut, got {list(x_train[0])}"
    assert x_train[0].dtype == np.int32, "sequences are int32"


PAD_CASES = [
    pytest.param([[1, 2, 3]], 5, id="shorter"),
    pytest.param([[1, 2, 3, 4, 5, 6, 7]], 5, id="longer"),
    pytest.param([[1, 2, 3, 4, 5]], 5, id="exact"),
    pytest.param([[]], 4, id="empty"),
    pytest.param([[], [9], [1, 2, 3, 4, 5, 6], [7, 8]], 3, id="mixed"),
    pytest.param([[5]], 1, id="maxlen-1"),
    pytest.param([[3, 4, 5, 6]], 1, id="maxlen-1-longer"),
]


@pytest.mark.parametrize("sequences, maxlen", PAD_CASES)
@pytest.mark.parametrize("as_arrays", [False, True], ids=["lists", "arrays"])
def test_pad(sequences: list[list[int]], maxlen: int, as_arrays: bool):
    import keras

    # given
    given = [np.asarray(s, dtype=np.int32) for s in sequences] if as_arrays else sequences

    # when
    result = pad(given, maxlen)

    # then
    expected = keras.utils.pad_sequences(sequences, maxlen=maxlen)
    np.testing.assert_array_equal(result, expected, err_msg="pad equals keras.utils.pad_sequences")
    assert result.dtype == np.int32 and result.shape == (len(sequences), maxlen), "int32 (n, maxlen) matrix"


@pytest.mark.parametrize("sequences, maxlen", PAD_CASES)
@pytest.mark.parametrize("other", [1, 3, 8])
def test_repad__is_pad_of_the_words_the_view_shows(sequences: list[list[int]], maxlen: int, other: int):
    # given a view padded to maxlen: the words it shows are each review's last maxlen tokens
    view = pad(sequences, maxlen)
    shown = [s[-maxlen:] if s else [] for s in sequences]

    # when it is repadded to another width, then it is what pad makes of those words at that width
    np.testing.assert_array_equal(repad(view, other), pad(shown, other))


def test_pad__no_sequences():
    # given / when
    result = pad([], 7)

    # then
    assert result.shape == (0, 7), f"an empty batch is a (0, maxlen) matrix, got {result.shape}"


# ----------------------------------------------------------------------------- stratified split


@pytest.fixture(scope="session")
def labels() -> np.ndarray:
    """1,000 imbalanced labels (30% positive)."""
    return (np.random.default_rng(3).random(1000) < 0.3).astype(np.int32)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.49, 0.013])
def test_stratified_split(labels: np.ndarray, fraction: float):
    # given / when
    train, val = stratified_split(labels, fraction, seed=0)

    # then
    assert len(np.intersect1d(train, val)) == 0, "train and validation are disjoint"
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(labels))), "together they cover all"
    assert len(np.unique(train)) == len(train) and len(np.unique(val)) == len(val), "no index twice"
    for cls in (0, 1):
        n_class = int((labels == cls).sum())
        n_val = int((labels[val] == cls).sum())
        assert abs(n_val - fraction * n_class) <= 1, f"class {cls}: {n_val} held out of {n_class} at {fraction}"


def test_stratified_split__deterministic_per_seed(labels: np.ndarray):
    # given / when
    first = stratified_split(labels, 0.2, seed=5)
    again = stratified_split(labels, 0.2, seed=5)
    other = stratified_split(labels, 0.2, seed=6)

    # then
    assert all(np.array_equal(a, b) for a, b in zip(first, again)), "the same seed gives the same split"
    assert not np.array_equal(first[1], other[1]), "another seed gives another validation set"


def test_stratified_split__zero_fraction(labels: np.ndarray):
    # given / when
    train, val = stratified_split(labels, 0.0, seed=0)

    # then
    assert len(val) == 0 and len(train) == len(labels), "nothing held out at fraction 0"


# ----------------------------------------------------------------------------- load_splits


def shuffled_markers(n: int, *, skip: int = 0) -> list[int]:
    """Keras' seed-113 order as review markers (first token + 3 offset), continuing one RandomState."""
    rng = np.random.RandomState(113)
    orders = []
    for size in ((skip, n) if skip else (n,)):
        order = np.arange(size)
        rng.shuffle(order)
        orders.append(order)
    return [int(i) + 10 + 3 for i in orders[-1]]


def markers(matrix: np.ndarray) -> list[int]:
    """The unique marker of each padded row of ``unique_imdb`` (the second-to-last token)."""
    return [int(v) for v in matrix[:, -2]]


def test_load_splits(synthetic_imdb: Path):
    # given
    config = DataConfig(path=str(synthetic_imdb), vocab_size=200, maxlen=40, val_fraction=0.25)

    # when
    splits = load_splits(config, seed=0)

    # then
    assert splits.x_train.shape == (300, 40) and splits.x_val.shape == (100, 40), "400 training rows, 25% held out"
    assert splits.x_test.shape == (200, 40), "every test row kept"
    assert len(splits.y_train) == 300 and len(splits.y_val) == 100 and len(splits.y_test) == 200, "labels match"
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert getattr(splits, name).dtype == np.int32, f"{name} is int32"
    assert splits.source == str(synthetic_imdb), "the source names the file read"
    assert splits.validation[0] is splits.x_val and splits.validation[1] is splits.y_val, "validation pair"
    assert int(splits.x_train.max()) < 200, "ids below vocab_size"


def test_load_splits__limits_and_row_identity(unique_imdb: Path):
    # given: unique reviews, limits on both sets
    config = DataConfig(path=str(unique_imdb), vocab_size=1000, maxlen=4, train_limit=100, test_limit=30,
                        val_fraction=0.2)
    train_pool = set(shuffled_markers(300)[:100])
    test_kept = shuffled_markers(120, skip=300)[:30]
    with np.load(unique_imdb, allow_pickle=True) as f:
        labels = {i + 10 + 3: int(y) for i, y in enumerate(f["y_train"])}

    # when
    splits = load_splits(config, seed=0)

    # then
    train, val, test = markers(splits.x_train), markers(splits.x_val), markers(splits.x_test)
    assert len(train) + len(val) == 100, f"train_limit=100 rows in train + val, got {len(train)} + {len(val)}"
    assert len(val) == 20, f"20% of the kept rows held out, got {len(val)}"
    assert not set(train) & set(val), "validation rows never appear in training"
    assert set(train) | set(val) == train_pool, "train + val are exactly the first 100 shuffled training reviews"
    assert (splits.x_val[:, -1] == 5 + 3).all(), "validation rows come from the training set, not the test set"
    assert test == test_kept, "test_limit keeps the first 30 shuffled test reviews, in order"
    assert (splits.x_test[:, -1] == 6 + 3).all(), "test rows are test reviews"
    assert [labels[m] for m in train] == list(splits.y_train), "each training row keeps its own label"
    assert [labels[m] for m in val] == list(splits.y_val), "each validation row keeps its own label"


def test_load_splits__split_depends_on_seed(unique_imdb: Path):
    # given
    config = DataConfig(path=str(unique_imdb), vocab_size=1000, maxlen=4)

    # when
    first, again, other = (load_splits(config, seed=s) for s in (1, 1, 2))

    # then
    assert markers(first.x_val) == markers(again.x_val), "same seed, same validation rows"
    assert markers(first.x_val) != markers(other.x_val), "another seed, other validation rows"
    assert markers(first.x_test) == markers(other.x_test), "the test set does not depend on the seed"


def test_load_splits__validate_on_test(unique_imdb: Path):
    # given
    config = DataConfig(path=str(unique_imdb), vocab_size=1000, maxlen=4, validate_on="test", val_fraction=0.0,
                        train_limit=50, test_limit=20)

    # when
    splits = load_splits(config, seed=0)

    # then
    np.testing.assert_array_equal(splits.x_val, splits.x_test, err_msg="validation is the test set")
    np.testing.assert_array_equal(splits.y_val, splits.y_test, err_msg="validation labels are the test labels")
    assert len(splits.x_train) == 50, "no training row is held out"
    assert len(splits.x_test) == 20, "test_limit respected"


def test_load_splits__empty_validation_split(unique_imdb: Path):
    # given: too few rows for the fraction to hold any out
    config = DataConfig(path=str(unique_imdb), vocab_size=1000, maxlen=4, train_limit=10, val_fraction=0.01)

    # when / then
    with pytest.raises(DataError) as error:
        load_splits(config, seed=0)
    assert "data.val_fraction" in str(error.value), f"the message names the field: {error.value}"


# ----------------------------------------------------------------------------- finding the file


def test_resolve_path__config_path_first(synthetic_imdb: Path, unique_imdb: Path, monkeypatch: pytest.MonkeyPatch):
    # given: both data.path and the environment variable
    monkeypatch.setenv(IMDB_ENV, str(unique_imdb))

    # when / then
    assert resolve_path(str(synthetic_imdb)) == synthetic_imdb, "data.path wins over $KDCORE_IMDB_PATH"


@pytest.mark.parametrize("configured", [None, ""])
def test_resolve_path__environment(synthetic_imdb: Path, no_data_env: Path, monkeypatch: pytest.MonkeyPatch,
                                   configured: str | None):
    # given: data.path empty, the environment variable set
    monkeypatch.setenv(IMDB_ENV, str(synthetic_imdb))

    # when
    splits = load_splits(DataConfig(path=configured, vocab_size=200, maxlen=40), seed=0)

    # then
    assert splits.source == str(synthetic_imdb), "$KDCORE_IMDB_PATH is read when data.path is empty"


def test_resolve_path__keras_cache(synthetic_imdb: Path, no_data_env: Path):
    # given: neither data.path nor the variable, but a file in $KERAS_HOME/datasets
    cached = no_data_env / "datasets" / "imdb.npz"
    cached.parent.mkdir()
    shutil.copyfile(synthetic_imdb, cached)

    # when
    splits = load_splits(DataConfig(vocab_size=200, maxlen=40), seed=0)

    # then
    assert keras_cache_path() == cached, "the Keras cache is $KERAS_HOME/datasets/imdb.npz"
    assert splits.source == str(cached), "the Keras cache is read when nothing else is set"
    assert len(splits.x_train) + len(splits.x_val) == 400, "all the cached file's training rows"


def test_keras_cache_path__default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    # when / then
    assert keras_cache_path() == tmp_path / ".keras" / "datasets" / "imdb.npz", "Keras' default cache"


# ----------------------------------------------------------------------------- errors


@pytest.mark.timeout(30)
def test_load_splits__missing_file(tmp_path: Path):
    # given
    missing = tmp_path / "nowhere" / "imdb.npz"

    # when
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(path=str(missing)), seed=0)

    # then
    assert "data.path" in str(error.value), f"the message names the setting: {error.value}"
    assert str(missing) in str(error.value), f"the message names the path: {error.value}"


@pytest.mark.timeout(30)
def test_load_splits__environment_points_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given
    missing = tmp_path / "imdb.npz"
    monkeypatch.setenv(IMDB_ENV, str(missing))

    # when
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(), seed=0)

    # then
    assert IMDB_ENV in str(error.value), f"the message names the variable: {error.value}"
    assert str(missing) in str(error.value), f"the message names the path: {error.value}"


@pytest.mark.timeout(30)
def test_load_splits__directory_as_path(tmp_path: Path):
    # given / when / then
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(path=str(tmp_path)), seed=0)
    assert str(tmp_path) in str(error.value), f"the message names the path: {error.value}"


@pytest.mark.timeout(30)
def test_read_raw__truncated_npz(synthetic_imdb: Path, tmp_path: Path):
    # given: the first half of a valid file
    data = synthetic_imdb.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])

    # when
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(path=str(truncated)), seed=0)

    # then
    assert str(truncated) in str(error.value), f"the message names the file: {error.value}"


NOT_AN_NPZ = [
    pytest.param(b"x_train,y_train\n1,0\n", id="text"),
    pytest.param(b"", id="empty"),
    pytest.param(b"PK\x03\x04 not really a zip", id="zip-magic-only"),
    pytest.param(b"\x93NUMPY garbage", id="npy-magic-only"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("content", NOT_AN_NPZ)
def test_read_raw__not_an_npz(tmp_path: Path, content: bytes):
    # given
    path = tmp_path / "imdb.npz"
    path.write_bytes(content)

    # when
    with pytest.raises(DataError) as error:
        read_raw(path)

    # then
    assert str(path) in str(error.value), f"the message names the file: {error.value}"


@pytest.mark.timeout(30)
def test_read_raw__npy_file(tmp_path: Path):
    # given: a plain .npy array under an .npz name
    path = tmp_path / "imdb.npz"
    with path.open("wb") as f:
        np.save(f, np.arange(5))

    # when / then
    with pytest.raises(DataError) as error:
        read_raw(path)
    assert str(path) in str(error.value), f"the message names the file: {error.value}"


@pytest.mark.timeout(30)
def test_read_raw__missing_keys(tmp_path: Path):
    # given: an npz with only training data
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=np.zeros(3), y_train=np.zeros(3))

    # when
    with pytest.raises(DataError) as error:
        read_raw(path)

    # then
    message = str(error.value)
    assert str(path) in message, f"the message names the file: {message}"
    assert "x_test" in message and "y_test" in message, f"the message names the missing keys: {message}"


@pytest.mark.timeout(30)
def test_read_raw__labels_length_mismatch(tmp_path: Path):
    # given
    path = write_npz(tmp_path / "mismatch.npz", [[1, 2]] * 3, [0, 1], [[1]], [0])

    # when / then
    with pytest.raises(DataError) as error:
        read_raw(path)
    assert "differ in length" in str(error.value), f"the message says what is wrong: {error.value}"


@pytest.mark.timeout(30)
def test_load_splits__offline_without_a_file(no_data_env: Path, monkeypatch: pytest.MonkeyPatch):
    # given: no data.path, no variable, an empty Keras cache and no network
    import keras.utils

    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs)
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    timeout_before = socket.getdefaulttimeout()

    # when
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(), seed=0)

    # then
    message = str(error.value)
    assert calls, "the download was tried"
    assert "data.path" in message, f"the message names data.path: {message}"
    assert IMDB_ENV in message, f"the message names ${IMDB_ENV}: {message}"
    assert str(no_data_env / "datasets" / "imdb.npz") in message, f"the message names the Keras cache: {message}"
    assert isinstance(error.value.__cause__, OSError), "the original error is chained"
    assert socket.getdefaulttimeout() == timeout_before, "the socket timeout is restored"
    assert not (no_data_env / "datasets" / "imdb.npz").exists(), "nothing is left in the Keras cache"
    assert not os.listdir(no_data_env), "the Keras home stays empty"
