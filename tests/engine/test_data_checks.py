"""IMDB files that are hostile or malformed: a zip bomb, a forged header, empty or text arrays, labels not 0/1.

Each is refused with a DataError that names the file and what is wrong, before Keras sees it.
"""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kdcore.config import DataConfig
from kdcore.engine.data import DataError, load_splits, member_limit, read_raw

BOMB_MIB = 300


def ragged(rows: list) -> np.ndarray:
    out = np.empty(len(rows), dtype=object)
    out[:] = rows
    return out


def npz(path: Path, **arrays: np.ndarray) -> Path:
    """A four-array IMDB-layout file: small valid arrays unless given."""
    defaults = {"x_train": ragged([[1, 2, 3], [4, 5]]), "y_train": np.array([0, 1]),
                "x_test": ragged([[6, 7], [8]]), "y_test": np.array([1, 0])}
    np.savez(path, **{**defaults, **arrays})
    return path


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An npz whose x_train.npy is a valid header and 300 MiB of zeros, deflated to about 1 MiB."""
    path = tmp_path_factory.mktemp("bomb") / "imdb.npz"
    npz(path)
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + (
        f"{{'descr': '|i1', 'fortran_order': False, 'shape': ({BOMB_MIB * 2**20},), }}".ljust(117).encode() + b"\n")
    with zipfile.ZipFile(path) as zf:
        kept = {n: zf.read(n) for n in zf.namelist() if n != "x_train.npy"}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in kept.items():
            zf.writestr(name, data)
        with zf.open("x_train.npy", "w", force_zip64=True) as member:
            member.write(header)
            chunk = bytes(2**20)
            for _ in range(BOMB_MIB):
                member.write(chunk)
    return path


@pytest.mark.timeout(60)
def test_read_raw__zip_bomb_is_refused_before_reading(zip_bomb: Path):
    # given: a 1 MiB archive whose x_train member declares 300 MiB
    assert zip_bomb.stat().st_size < 8 * 2**20, "fixture: the bomb is small on disk"

    # when
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as error:
            read_raw(zip_bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then: refused by name, without inflating the member
    message = str(error.value)
    assert str(zip_bomb) in message and "x_train.npy" in message, f"names the file and member: {message}"
    assert "declares" in message, f"says the declared size is the problem: {message}"
    assert peak < 32 * 2**20, f"the member was not inflated (peak {peak / 2**20:.0f} MiB)"


def test_member_limit__fits_keras_imdb_and_refuses_a_bomb():
    # given: Keras' imdb.npz is 17 MB with a 14 MB largest member; a bomb declares 1 GB in 1 MB
    # when / then
    assert member_limit(17_284_580) >= 14_296_613, "the real file's members are read"
    assert member_limit(2**20) < 2**30, "a gigabyte declared in a megabyte is refused"
    assert member_limit(10**12) <= 8 * 2**30, "there is a ceiling whatever the archive's size"


@pytest.mark.timeout(30)
def test_read_raw__forged_array_header(tmp_path: Path):
    # given: y_test.npy's header claims 10^12 int64 labels in a few bytes (numpy would allocate 8 TB first)
    path = npz(tmp_path / "forged.npz")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    body = members["y_test.npy"]
    header_end = body.index(b"\n") + 1
    header = body[10:header_end].decode().replace("'shape': (2,)", "'shape': (1000000000000,)")
    members["y_test.npy"] = body[:8] + struct.pack("<H", len(header)) + header.encode() + body[header_end:]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    # when / then
    with pytest.raises(DataError) as error:
        read_raw(path)
    assert "y_test.npy" in str(error.value) and "header" in str(error.value), f"names member: {error.value}"


BAD_ARRAYS = [
    pytest.param({"x_train": ragged([]), "y_train": np.array([], dtype=np.int64)}, "x_train", "empty",
                 id="empty-train"),
    pytest.param({"x_test": np.zeros((0, 5), dtype=np.int32), "y_test": np.array([], dtype=np.int64)}, "x_test",
                 "empty", id="empty-test"),
    pytest.param({"x_train": np.array(["a great film", "dull"])}, "x_train", "text", id="text-reviews"),
    pytest.param({"x_train": ragged(["a great film", "dull"])}, "x_train[0]", "text", id="text-in-object-array"),
    pytest.param({"y_train": np.array(["pos", "neg"])}, "y_train", "text", id="text-labels"),
    pytest.param({"y_train": np.array([0, 2])}, "y_train", "0 and 1", id="label-2"),
    pytest.param({"y_test": np.array([0.0, 0.5])}, "y_test", "0 and 1", id="label-half"),
    pytest.param({"y_test": np.array([[0], [1]])}, "y_test", "1-D", id="labels-2d"),
    pytest.param({"x_test": ragged([[6, -7], [8]])}, "x_test[0]", "negative", id="negative-id"),
    pytest.param({"x_test": ragged([[6, 7.5], [8]])}, "x_test[0]", "floats", id="float-ids"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("arrays, names, says", BAD_ARRAYS)
def test_load_splits__malformed_arrays(tmp_path: Path, arrays: dict, names: str, says: str):
    # given: an npz in Keras' layout with one malformed array
    path = npz(tmp_path / "imdb.npz", **arrays)

    # when
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(path=str(path), vocab_size=100, maxlen=5, validate_on="test"), seed=0)

    # then
    message = str(error.value)
    assert str(path) in message, f"the message names the file: {message}"
    assert names in message, f"the message names the array ({names}): {message}"
    assert says in message, f"the message says what is wrong ({says}): {message}"


def test_load_splits__float_labels_of_zero_and_one_are_fine(tmp_path: Path):
    # given: labels stored as floats 0.0 and 1.0 (as some exports do)
    path = npz(tmp_path / "imdb.npz", y_train=np.array([0.0, 1.0]), y_test=np.array([1.0, 0.0]))

    # when
    splits = load_splits(DataConfig(path=str(path), vocab_size=100, maxlen=5, validate_on="test"), seed=0)

    # then
    assert splits.y_train.dtype == np.int32 and set(splits.y_train) == {0, 1}, f"labels kept: {splits.y_train}"
