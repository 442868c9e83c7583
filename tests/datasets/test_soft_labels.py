"""Soft labels from any framework (issue 19, source 3): CSV, Parquet and .npy read, checked, probabilities to logs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdcore.datasets import DatasetError, SoftLabels, read_soft_labels
from kdcore.datasets.soft_labels import MIN_PROBABILITY

ROWS, K = 6, 3


def _logits(rows: int = ROWS, k: int = K, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, size=(rows, k))


def _probabilities(rows: int = ROWS, k: int = K) -> np.ndarray:
    e = np.exp(_logits(rows, k))
    return e / e.sum(axis=1, keepdims=True)


def _csv(path: Path, values: np.ndarray, ids: list | None = None, header: bool = True) -> Path:
    frame = pd.DataFrame(values, columns=[f"c{j}" for j in range(values.shape[1])])
    if ids is not None:
        frame.insert(0, "row_id", ids)
    frame.to_csv(path, index=False, header=header)
    return path


def _refused(path: Path, *words: str, **kwargs) -> str:
    kwargs = {"rows": ROWS, "num_classes": K, **kwargs}
    with pytest.raises(DatasetError) as caught:
        read_soft_labels(path, **kwargs)
    message = str(caught.value)
    assert path.name in message, f"the message names the file: {message}"
    for word in words:
        assert word in message, f"{word!r} expected in: {message}"
    return message


def test_read_soft_labels__csv_logits_by_row_order_are_used_as_they_are(tmp_path: Path):
    # given a CSV of K logit columns, one row per training row
    values = _logits()
    path = _csv(tmp_path / "logits.csv", values)
    # when it is read
    soft = read_soft_labels(path, rows=ROWS, num_classes=K)
    # then the values are the file's, float64, detected as logits, with the file's identity
    assert isinstance(soft, SoftLabels), soft
    assert soft.kind == "logits", soft.kind
    assert soft.values.dtype == np.float64 and soft.values.shape == (ROWS, K), soft.values.shape
    np.testing.assert_allclose(soft.values, values, rtol=1e-12, err_msg="logits are used unchanged")
    assert len(soft.sha256) == 64 and soft.source == "logits.csv", (soft.sha256, soft.source)


def test_read_soft_labels__csv_without_header_reads_its_first_line_as_data(tmp_path: Path):
    # given numpy.savetxt-like output: no header line
    values = _logits()
    path = _csv(tmp_path / "logits.csv", values, header=False)
    # when it is read
    soft = read_soft_labels(path, rows=ROWS, num_classes=K)
    # then every row counts, the first one too
    np.testing.assert_allclose(soft.values, values, rtol=1e-12, err_msg="the first line is a row, not a header")


def test_read_soft_labels__id_column_reorders_rows_to_the_source_order(tmp_path: Path):
    # given rows in a shuffled order with their 0-based ids
    values = _logits()
    order = [3, 0, 5, 1, 4, 2]
    path = _csv(tmp_path / "shuffled.csv", values[order], ids=order)
    # when it is read by id
    soft = read_soft_labels(path, rows=ROWS, num_classes=K, id_column="row_id")
    # then row i is the one whose id is i
    np.testing.assert_allclose(soft.values, values, rtol=1e-12, err_msg="rows are placed by their id")


def test_read_soft_labels__probabilities_become_log_probabilities(tmp_path: Path):
    # given probabilities (rows summing to 1), one of them exactly 0
    values = _probabilities()
    values[0] = [1.0, 0.0, 0.0]
    path = _csv(tmp_path / "probs.csv", values)
    # when read with output auto
    soft = read_soft_labels(path, rows=ROWS, num_classes=K)
    # then they are detected and turned into logs of p clipped at 1e-12
    assert soft.kind == "probabilities", soft.kind
    expected = np.log(np.clip(values, MIN_PROBABILITY, None))
    np.testing.assert_allclose(soft.values, expected, rtol=1e-9, err_msg="log of the clipped probabilities")
    assert np.isfinite(soft.values).all(), "a zero probability is a finite (very negative) log"


def test_read_soft_labels__output_logits_keeps_values_that_look_like_probabilities(tmp_path: Path):
    # given values that happen to look like probabilities, said to be logits
    path = _csv(tmp_path / "probs.csv", _probabilities())
    # when read with output=logits
    soft = read_soft_labels(path, rows=ROWS, num_classes=K, output="logits")
    # then they stay as they are
    assert soft.kind == "logits", soft.kind
    np.testing.assert_allclose(soft.values, _probabilities(), rtol=1e-12, err_msg="logits unchanged")


def test_read_soft_labels__npy_and_parquet(tmp_path: Path):
    # given the same logits as .npy, Parquet (with an id column) and gzip-compressed .npy
    values = _logits()
    np.save(tmp_path / "logits.npy", values.astype(np.float32))
    with gzip.open(tmp_path / "logits.npy.gz", "wb") as f:
        np.save(f, values)
    frame = pd.DataFrame(values[::-1], columns=["a", "b", "c"])
    frame["id"] = np.arange(ROWS)[::-1]
    frame.to_parquet(tmp_path / "logits.parquet", index=False)
    # when each is read
    from_npy = read_soft_labels(tmp_path / "logits.npy", rows=ROWS, num_classes=K)
    from_gz = read_soft_labels(tmp_path / "logits.npy.gz", rows=ROWS, num_classes=K)
    from_parquet = read_soft_labels(tmp_path / "logits.parquet", rows=ROWS, num_classes=K, id_column="id")
    # then all give the same rows
    np.testing.assert_allclose(from_npy.values, values, rtol=1e-6, err_msg=".npy (float32) reads as float64")
    np.testing.assert_allclose(from_gz.values, values, rtol=1e-12, err_msg="a gzip-compressed .npy")
    np.testing.assert_allclose(from_parquet.values, values, rtol=1e-12, err_msg="Parquet matched by id")


def test_read_soft_labels__wrong_row_count_says_both_counts(tmp_path: Path):
    path = _csv(tmp_path / "short.csv", _logits(rows=ROWS - 1))
    _refused(path, "5 rows", "6", "id column")


def test_read_soft_labels__wrong_k_says_expected_and_found(tmp_path: Path):
    path = _csv(tmp_path / "wide.csv", _logits(k=4))
    _refused(path, "4 value column", "K=3")


def test_read_soft_labels__single_column_for_two_classes_is_refused(tmp_path: Path):
    path = _csv(tmp_path / "sigmoid.csv", np.random.default_rng(0).random((ROWS, 1)))
    _refused(path, "1 value column", "K=2", "single sigmoid", num_classes=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_read_soft_labels__non_finite_names_the_first_row(tmp_path: Path, bad: float):
    # given logits with a non-finite value in row 4, column 1
    values = _logits()
    values[4, 1] = bad
    np.save(tmp_path / "bad.npy", values)
    # then the .npy is refused naming row 4 and column 1
    _refused(tmp_path / "bad.npy", "row 4", "column 1", "finite")


def test_read_soft_labels__csv_nan_text_and_empty_cell_are_non_finite(tmp_path: Path):
    # given a CSV with an empty cell in its third data row (line 4)
    path = tmp_path / "gap.csv"
    path.write_text("a,b,c\n1,2,3\n1,2,3\n1,,3\n1,2,3\n1,2,3\n1,2,nan\n")
    # then the first bad row is named, with its line
    _refused(path, "row 2 (line 4)", "column 1", "finite")


def test_read_soft_labels__unnormalised_probabilities_are_refused(tmp_path: Path):
    # given values in [0, 1] whose row 2 sums to 0.9
    values = _probabilities()
    values[2] = [0.3, 0.3, 0.3]
    path = _csv(tmp_path / "probs.csv", values)
    # then both auto and an explicit output=probabilities refuse it, naming the row and its sum
    _refused(path, "row 2", "0.9", "not 1")
    _refused(path, "row 2", "0.9", "output=probabilities", output="probabilities")


def test_read_soft_labels__negative_probability_is_refused(tmp_path: Path):
    path = _csv(tmp_path / "neg.csv", _logits())
    _refused(path, "negative probability", output="probabilities")


def test_read_soft_labels__text_column_is_refused_by_name(tmp_path: Path):
    # given a CSV with a text column beside the logits
    path = tmp_path / "texts.csv"
    lines = ["text,a,b,c"] + [f"review {i},0.1,0.2,0.3" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    # then the column is named, with its first value
    _refused(path, "'text'", "not numeric", "'review 0'", "id_column")


def test_read_soft_labels__ids_missing_duplicated_or_outside_are_named(tmp_path: Path):
    values = _logits()
    _refused(_csv(tmp_path / "dup.csv", values, ids=[0, 1, 2, 2, 4, 5]), "repeats 1 id(s): 2", "exactly once",
             id_column="row_id")
    _refused(_csv(tmp_path / "gap.csv", values[:5], ids=[0, 1, 2, 4, 5]), "lacks 1", ": 3", id_column="row_id")
    _refused(_csv(tmp_path / "out.csv", values, ids=[0, 1, 2, 3, 4, 6]), "holds 6", "0 to 5", id_column="row_id")
    _refused(_csv(tmp_path / "frac.csv", values, ids=[0, 1, 2, 3, 4, 5.5]), "whole numbers", id_column="row_id")
    _refused(_csv(tmp_path / "none.csv", values), "no column 'row_id'", "'c0'", id_column="row_id")


def test_read_soft_labels__empty_files_and_non_tables_are_refused(tmp_path: Path):
    # given an empty file, a header-only CSV, an .npy of one dimension, an object .npy and a .keras
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b,c\n")
    np.save(tmp_path / "flat.npy", np.zeros(ROWS))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * ROWS, dtype=object), allow_pickle=True)
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not a table")
    (tmp_path / "fake.npy").write_text("1,2,3\n")
    # then each is refused with its reason
    _refused(tmp_path / "empty.csv", "empty")
    _refused(tmp_path / "header.csv", "no rows")
    _refused(tmp_path / "flat.npy", "1-D", "2-D array (rows, K)")
    _refused(tmp_path / "objects.npy", "object", "pickle")
    _refused(tmp_path / "model.keras", "not a table", "Parquet")
    _refused(tmp_path / "fake.npy", "not an .npy file")


def test_read_soft_labels__npy_with_id_column_is_refused(tmp_path: Path):
    np.save(tmp_path / "logits.npy", _logits())
    _refused(tmp_path / "logits.npy", "no columns", id_column="row_id")


def test_read_soft_labels__forged_npy_header_is_refused_before_allocating(tmp_path: Path):
    # given an .npy whose header claims a huge shape over a few bytes
    path = tmp_path / "forged.npy"
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 3)})
        f.write(b"\x00" * 48)
    # then it is refused as damaged
    _refused(path, "more than the file holds")


def test_read_soft_labels__over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given a limit of 100 bytes and a larger file
    monkeypatch.setenv("KDCORE_DATASET_MAX_BYTES", "100")
    path = _csv(tmp_path / "big.csv", _logits(rows=20))
    # then it is refused before reading
    _refused(path, "size limit", rows=20)


def test_read_soft_labels__pandas_default_header_0_1_2_is_a_header(tmp_path: Path):
    # given DataFrame(array).to_csv(index=False): a header line "0,1,2"
    values = _logits()
    pd.DataFrame(values).to_csv(tmp_path / "frame.csv", index=False)
    # when it is read
    soft = read_soft_labels(tmp_path / "frame.csv", rows=ROWS, num_classes=K)
    # then that line is the header, not a row
    np.testing.assert_allclose(soft.values, values, rtol=1e-12, err_msg="0,1,2 are pandas' column names")


def test_read_soft_labels__parquet_column_of_lists(tmp_path: Path):
    # given a Parquet file of one column holding each row's K logits as a list, with ids
    values = _logits()
    pd.DataFrame({"id": np.arange(ROWS), "logits": list(values)}).to_parquet(tmp_path / "lists.parquet")
    ragged = pd.DataFrame({"logits": [list(v) for v in values[:-1]] + [[1.0, 2.0]]})
    ragged.to_parquet(tmp_path / "ragged.parquet")
    # when read
    soft = read_soft_labels(tmp_path / "lists.parquet", rows=ROWS, num_classes=K, id_column="id")
    # then the lists are the K columns; a row of another length is named
    np.testing.assert_allclose(soft.values, values, rtol=1e-12, err_msg="one list per row")
    _refused(tmp_path / "ragged.parquet", "row 5", "2 values")


def test_read_soft_labels__a_folder_is_refused(tmp_path: Path):
    (tmp_path / "part.parquet").mkdir()
    _refused(tmp_path / "part.parquet", "is a folder")
