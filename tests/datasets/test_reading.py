"""Every format the registry reads gives the same rows; encodings, CRLF and compression on the way."""

from __future__ import annotations

import bz2
import gzip
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kdcore.datasets import ReadOptions, load_rows, register
from kdcore.datasets.reading import read_table
from tests.datasets.helpers import rows_csv, write

FRAME = pd.DataFrame({"text": [f"review {i} about {lab}" for i, lab in enumerate("abab" * 3)],
                      "label": ["pos", "neg"] * 6})


def _write_format(tmp_path: Path, fmt: str) -> Path:
    if fmt == "csv":
        return write(tmp_path / "d.csv", FRAME.to_csv(index=False))
    if fmt == "tsv":
        return write(tmp_path / "d.tsv", FRAME.to_csv(index=False, sep="\t"))
    if fmt == "jsonl":
        return write(tmp_path / "d.jsonl", "".join(json.dumps(r) + "\n" for r in FRAME.to_dict("records")))
    if fmt == "json":
        return write(tmp_path / "d.json", json.dumps(FRAME.to_dict("records")))
    path = tmp_path / "d.parquet"
    FRAME.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_read_table__every_format_gives_the_same_rows(fmt: str, tmp_path: Path):
    table = read_table(_write_format(tmp_path, fmt))
    assert table.frame["text"].tolist() == FRAME["text"].tolist(), f"{fmt}: texts as written"
    assert table.frame["label"].tolist() == FRAME["label"].tolist(), f"{fmt}: labels as written"


@pytest.mark.parametrize("compression", ["gz", "bz2", "zip"])
def test_register__compressed_file_is_the_same_dataset(compression: str, home: Path, tmp_path: Path):
    # given one CSV, plain and compressed
    plain = write(tmp_path / "d.csv", rows_csv())
    packed = tmp_path / f"d.csv.{compression}"
    if compression == "gz":
        packed.write_bytes(gzip.compress(plain.read_bytes()))
    elif compression == "bz2":
        packed.write_bytes(bz2.compress(plain.read_bytes()))
    else:
        with zipfile.ZipFile(packed, "w") as archive:
            archive.write(plain, "d.csv")
    # when both are registered, then they are one dataset (the content's hash)
    assert register(home, packed).id == register(home, plain).id, "decompressed content, same id"


def test_register__crlf_and_lf_files_are_the_same_dataset(home: Path, tmp_path: Path):
    text = 'text,label\n"two\nlines",pos\n' + rows_csv().split("\n", 1)[1]
    lf = write(tmp_path / "lf.csv", text)
    crlf = write(tmp_path / "crlf.csv", text.replace("\n", "\r\n"))
    assert register(home, crlf).id == register(home, lf).id, "line ends do not change the content"
    assert "\r" not in "".join(load_rows(home, register(home, crlf).id)["text"]), "no CR left in texts"


def test_read_table__legacy_encoding_is_detected_and_named(tmp_path: Path):
    # given a cp1252 file (curly quotes) and a mac_roman one (bytes cp1252 leaves undefined)
    cp = write(tmp_path / "cp.csv", "text,label\n\u201cquoted\u201d,pos\nplain,neg\n", encoding="cp1252")
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"text,label\ncars \xd1 no,pos\nplain \x81,neg\n")
    assert read_table(cp).encoding == "cp1252" and read_table(cp).frame["text"][0] == "\u201cquoted\u201d"
    assert read_table(mac).encoding == "mac_roman", "cp1252 cannot read 0x81: Mac Roman can"


def test_read_table__given_encoding_wins(tmp_path: Path):
    source = tmp_path / "l1.csv"
    source.write_bytes("text,label\ncaf\u00e9,pos\n".encode("latin-1"))
    table = read_table(source, encoding="latin-1")
    assert table.encoding == "latin-1" and table.frame["text"][0] == "caf\u00e9", "the user's encoding is used"


def test_read_table__utf8_bom_and_utf16_are_read(tmp_path: Path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + b"text,label\nx,pos\n")
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("text,label\nx,pos\n".encode("utf-16"))
    assert list(read_table(bom).frame.columns) == ["text", "label"], "the BOM is not part of the first column"
    assert list(read_table(utf16).frame.columns) == ["text", "label"], "UTF-16 with a BOM is text, not binary"


def test_read_table__semicolon_csv_is_sniffed(tmp_path: Path):
    table = read_table(write(tmp_path / "semi.csv", "text;label\nhello, world;pos\nbye;neg\n"))
    assert table.frame["text"].tolist() == ["hello, world", "bye"], "the header's separator is used"


def test_read_table__tsv_with_bare_quotes(tmp_path: Path):
    table = read_table(write(tmp_path / "q.tsv", 'text\tlabel\nhe said "hi\tpos\nok\tneg\n'))
    assert table.frame["text"].tolist() == ['he said "hi', "ok"], "a stray quote in a TSV is text"


def test_register__folder_of_class_folders(home: Path, tmp_path: Path):
    # given <folder>/<class>/*.txt with 3 texts per class
    root = tmp_path / "reviews"
    for label in ("neg", "pos"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            write(root / label / f"{i}.txt", f"a {label} text {i}\r\nsecond line")
    manifest = register(home, root)
    rows = load_rows(home, manifest.id)
    assert manifest.classes == ("neg", "pos") and manifest.rows == 6, manifest
    assert rows["text"].str.contains("\r").sum() == 0, "CRLF normalised in .txt files"


def test_register__folder_with_train_and_test_folders(home: Path, tmp_path: Path):
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            (root / split / label).mkdir(parents=True)
            for i in range(4):
                write(root / split / label / f"{i}.txt", f"{split} {label} {i}")
    manifest = register(home, root)
    assert manifest.split_sizes["test"] == 8 and manifest.split_origin.startswith("folders"), manifest
    assert manifest.split_sizes["val"] == 2, "val carved from train, one per class"


def test_register__integer_labels_sorted_numerically(home: Path, tmp_path: Path):
    text = "text,label\n" + "".join(f"text number {i},{lab}\n" for i, lab in enumerate([10, 2, 1] * 4))
    manifest = register(home, write(tmp_path / "ints.csv", text))
    assert manifest.classes == ("1", "2", "10"), "integers in numeric order, stored as strings"
    rows = load_rows(home, manifest.id)
    assert rows["label"].tolist()[:3] == [2, 1, 0], "label codes index the sorted classes"


def test_register__parquet_with_int_labels(home: Path, tmp_path: Path):
    frame = pd.DataFrame({"body": [f"the text {i}" for i in range(9)], "y": [0, 1, 2] * 3})
    frame.to_parquet(tmp_path / "p.parquet")
    manifest = register(home, tmp_path / "p.parquet")
    assert (manifest.text_column, manifest.label_column, manifest.classes) == ("body", "y", ("0", "1", "2"))


def test_register__guesses_long_text_and_named_label(home: Path, tmp_path: Path):
    # given an id column, a short title, a long body, a rating and a sentiment column
    lines = ["id,title,body,rating,sentiment"]
    lines += [f"{i},t{i},a much longer body text for row {i},{i % 5},{'pn'[i % 2]}" for i in range(12)]
    manifest = register(home, write(tmp_path / "g.csv", "\n".join(lines)), ReadOptions())
    assert (manifest.text_column, manifest.label_column) == ("body", "sentiment"), manifest


def test_read_table__given_utf8_drops_the_bom_and_header_spaces(tmp_path: Path):
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbf" + b"text , label\nx,pos\n")
    assert list(read_table(source, encoding="utf-8").frame.columns) == ["text", "label"], "no BOM, no spaces"


def test_register__split_column_is_found_only_when_it_holds_splits(home: Path, tmp_path: Path):
    # given a column named split that holds train/test, and one named Split that holds something else
    rows = "".join(f"text {i},{'ab'[i % 2]},{'train' if i < 8 else 'TEST'}\n" for i in range(12))
    used = register(home, write(tmp_path / "s.csv", "text,label,split\n" + rows))
    assert used.split_sizes["test"] == 4 and "'split'" in used.split_origin, used
    other = "".join(f"text {i},{'ab'[i % 2]},{i % 3}\n" for i in range(12))
    ignored = register(home, write(tmp_path / "o.csv", "text,label,Split\n" + other))
    assert ignored.split_origin.startswith("stratified"), "a 'Split' of other values is not a split column"
