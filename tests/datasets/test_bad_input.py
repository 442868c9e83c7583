"""Every bad input of issue 18: a message naming the file, column or row, and nothing stored."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from kdcore.datasets import DatasetError, ReadOptions, check_allowed, register
from tests.datasets.helpers import rows_csv, stored, write


def refused(home: Path, source: Path, options: ReadOptions | None = None, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        register(home, source, options or ReadOptions(), **kwargs)
    assert stored(home) == [], f"a refused file leaves nothing under <home>/datasets: {stored(home)}"
    return str(info.value)


def test_register__empty_file_is_refused(home: Path, tmp_path: Path):
    # given a 0-byte file and a blank one
    for name, content in (("empty.csv", ""), ("blank.csv", "  \n\n")):
        # when it is registered, then the message names the file and says it is empty
        message = refused(home, write(tmp_path / name, content))
        assert name in message and "empty" in message, message


def test_register__header_without_rows_is_refused(home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "head.csv", "text,label\n"))
    assert "head.csv" in message and "no data rows" in message, message


def test_register__no_text_like_column_is_refused(home: Path, tmp_path: Path):
    # given only numbers
    source = write(tmp_path / "numbers.csv", "a,b\n1,0\n2,1\n3,0\n")
    message = refused(home, source)
    assert "numbers.csv" in message and "no text-like column" in message and "'a'" in message, message


def test_register__one_class_is_refused(home: Path, tmp_path: Path):
    source = write(tmp_path / "one.csv", rows_csv(classes=("pos",)))
    message = refused(home, source, ReadOptions(label_column="label"))
    assert "one.csv" in message and "'label'" in message and "one class" in message, message


def test_register__class_too_small_for_the_split_is_refused(home: Path, tmp_path: Path):
    # given a class with 2 rows: train, val and test need at least 1 each
    text = rows_csv(classes=("neg", "pos")) + "a rare one,rare\nanother rare one,rare\n"
    message = refused(home, write(tmp_path / "small.csv", text))
    assert "small.csv" in message and "'rare'" in message and "at least 3" in message, message


@pytest.mark.parametrize(("content", "what"), [
    ("text,label\nfine text,pos\n,neg\nother text,neg\nmore,pos\n", "text"),
    ("text,label\nfine text,pos\nanother,\nother text,neg\nmore,pos\n", "label"),
])
def test_register__missing_texts_or_labels_are_counted_and_refused(content: str, what: str, home: Path,
                                                                    tmp_path: Path):
    message = refused(home, write(tmp_path / "gaps.csv", content))
    assert "gaps.csv" in message and "1 row(s)" in message and "row 2" in message, message
    assert "drop_missing" in message and "--drop-missing" in message, "the message offers to drop them"


def test_register__missing_rows_dropped_when_asked(home: Path, tmp_path: Path):
    # given a file with one row lacking its label, and drop_missing
    source = write(tmp_path / "gaps.csv", rows_csv() + "no label here,\n")
    manifest = register(home, source, ReadOptions(drop_missing=True))
    assert manifest.rows == 10, "the row without a label is dropped, the others kept"


def test_register__broken_quote_names_the_line(home: Path, tmp_path: Path):
    # given a quote opened on line 4 and never closed
    text = 'text,label\nfine,pos\nalso fine,neg\n"this one never ends,pos\nmore,neg\n'
    message = refused(home, write(tmp_path / "quote.csv", text))
    assert "quote.csv line 4" in message and "quote" in message, message


def test_register__mixed_label_types_are_refused(home: Path, tmp_path: Path):
    text = "text,label\n" + "".join(f"text {i},{lab}\n" for i, lab in enumerate(["1", "2", "positive"] * 3))
    message = refused(home, write(tmp_path / "mixed.csv", text), ReadOptions(label_column="label"))
    assert "mixed.csv" in message and "'label'" in message and "mixes numbers and text" in message, message
    assert "row 1" in message and "row 3" in message, "an example of each kind, by row"


def test_register__mixed_label_types_in_json_lines_are_refused(home: Path, tmp_path: Path):
    lines = "".join(f'{{"text": "text {i}", "label": {lab}}}\n' for i, lab in enumerate(['1', '"a"'] * 4))
    message = refused(home, write(tmp_path / "mixed.jsonl", lines))
    assert "mixed.jsonl" in message and "mixes numbers and text" in message, message


def test_register__binary_file_is_refused(home: Path, tmp_path: Path):
    source = tmp_path / "model.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    message = refused(home, source)
    assert "model.csv" in message and "not a text file" in message, message


def test_register__file_over_the_size_limit_is_refused(home: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KDCORE_DATASET_MAX_BYTES", "1000")
    message = refused(home, write(tmp_path / "big.csv", rows_csv(n_per_class=50)))
    assert "big.csv" in message and "size limit" in message, message


@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_register__zip_bomb_is_refused_before_it_is_expanded(kind: str, home: Path, tmp_path: Path, monkeypatch):
    # given 20 MB of one letter, compressed to some 20 KB, and a 1 MB limit
    monkeypatch.setenv("KDCORE_DATASET_MAX_BYTES", str(1024**2))
    payload = b"text,label\n" + b"a" * (20 * 1024**2)
    source = tmp_path / f"bomb.csv.{kind}"
    if kind == "gz":
        source.write_bytes(gzip.compress(payload, compresslevel=9))
    else:
        with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("bomb.csv", payload)
    assert source.stat().st_size < 1024**2, "the archive itself is under the limit"
    message = refused(home, source)
    assert f"bomb.csv.{kind}" in message and "size limit" in message, message


def test_check_allowed__path_outside_the_roots_is_refused(home: Path, tmp_path: Path, monkeypatch):
    # given a file outside the home and no extra roots
    monkeypatch.delenv("KDCORE_DATA_ROOTS", raising=False)
    outside = write(tmp_path / "outside.csv", rows_csv())
    with pytest.raises(DatasetError) as info:
        check_allowed(outside, home)
    assert "outside.csv" in str(info.value) and "KDCORE_DATA_ROOTS" in str(info.value), str(info.value)
    # when its folder is listed in $KDCORE_DATA_ROOTS, then it is allowed
    monkeypatch.setenv("KDCORE_DATA_ROOTS", f"/nonexistent:{tmp_path}")
    assert check_allowed(outside, home) == outside.resolve(), "a listed root allows its files"


def test_check_allowed__symlink_out_of_the_home_is_refused(home: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KDCORE_DATA_ROOTS", raising=False)
    secret = write(tmp_path / "secret.csv", rows_csv())
    link = home / "link.csv"
    link.symlink_to(secret)
    with pytest.raises(DatasetError):
        check_allowed(link, home)
    with pytest.raises(DatasetError):
        check_allowed(home / ".." / "secret.csv", home)


@pytest.mark.parametrize("option", ["text_column", "label_column", "split_column"])
def test_register__unknown_column_is_refused_with_the_columns(option: str, home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "cols.csv", rows_csv()), ReadOptions(**{option: "nope"}))
    assert "cols.csv" in message and "'nope'" in message and "'text', 'label'" in message, message


def test_register__unknown_column_in_the_test_file_is_refused(home: Path, tmp_path: Path):
    train = write(tmp_path / "train.csv", rows_csv())
    test = write(tmp_path / "test.csv", "body,label\nx,pos\ny,neg\n")
    message = refused(home, train, test=test)
    assert "test.csv" in message and "'text'" in message, message


def test_register__bad_split_values_are_named(home: Path, tmp_path: Path):
    text = "text,label,split\n" + "".join(f"t {i},{'ab'[i % 2]},{s}\n" for i, s in
                                           enumerate(["train", "TEST", "dev", "train", "Validation", "train"]))
    message = refused(home, write(tmp_path / "splits.csv", text), ReadOptions(split_column="split"))
    assert "splits.csv" in message and "'dev'" in message and "allowed values" in message, message


def test_register__undecodable_with_the_given_encoding_names_the_line(home: Path, tmp_path: Path):
    source = tmp_path / "latin.csv"
    source.write_bytes(rows_csv().encode() + "caf\u00e9 au lait,pos\n".encode("latin-1"))
    message = refused(home, source, ReadOptions(encoding="utf-8"))
    assert "latin.csv line 12" in message and "utf-8" in message, message


def test_register__unknown_encoding_is_refused(home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "x.csv", rows_csv()), ReadOptions(encoding="klingon"))
    assert "'klingon'" in message, message


def test_register__missing_file_is_refused(home: Path, tmp_path: Path):
    message = refused(home, tmp_path / "absent.csv")
    assert "absent.csv" in message and "no such file" in message, message


def test_read_options__bad_fractions_are_refused():
    with pytest.raises(DatasetError, match="val_fraction"):
        ReadOptions(val_fraction=0.5, test_fraction=0.5)


def test_register__id_like_label_column_is_refused(home: Path, tmp_path: Path):
    text = "text,label\n" + "".join(f"t {i},{10**30 + i % 2}\n" for i in range(6))
    message = refused(home, write(tmp_path / "ids.csv", text), ReadOptions(label_column="label"))
    assert "ids.csv" in message and "too large" in message, message


def test_register__spreadsheet_is_refused_with_what_to_do(home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "sheet.xlsx", "PK"))
    assert "sheet.xlsx" in message and "save it as CSV" in message, message


def test_register__decimal_labels_are_refused(home: Path, tmp_path: Path):
    text = "text,score\n" + "".join(f"t {i},{i / 7:.3f}\n" for i in range(6))
    message = refused(home, write(tmp_path / "scores.csv", text), ReadOptions(label_column="score"))
    assert "scores.csv" in message and "'score'" in message and "decimal" in message, message


def test_register__text_column_of_numbers_is_refused(home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "n.csv", "a,b\n1,x\n2,y\n"), ReadOptions(text_column="a"))
    assert "n.csv" in message and "'a'" in message and "not text" in message, message


def test_register__bad_json_line_is_named(home: Path, tmp_path: Path):
    message = refused(home, write(tmp_path / "d.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label}\n'))
    assert "d.jsonl line 2" in message, message
