"""kdcore.ui.datasets: saving uploads, preview options, the preview's figures, and how datasets are named."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from kdcore.datasets import ReadOptions, register_frame
from kdcore.ui import datasets as ui_ds
from kdcore.ui.form import form_values, size_estimate


def tiny_frame(classes: tuple[str, ...] = ("neg", "pos"), per_class: int = 12) -> pd.DataFrame:
    rows = [(f"text {i} about {c} things number {i}", c) for c in classes for i in range(per_class)]
    return pd.DataFrame(rows, columns=["text", "label"])


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


# -- uploads -------------------------------------------------------------------------------


def test_save_upload__writes_under_uploads_named_by_its_hash(tmp_path: Path) -> None:
    # given an upload's bytes
    data = b"text,label\nhello,a\n"
    # when it is saved twice, once from bytes and once from a stream
    first = ui_ds.save_upload(tmp_path, "reviews.csv", data)
    second = ui_ds.save_upload(tmp_path, "reviews.csv", io.BytesIO(data))
    # then both land on one file under <home>/uploads, its name the hash prefix and the file's name
    assert first == second, "the same bytes land on the same path"
    assert first.parent == tmp_path / "uploads", f"kept under the home's uploads folder: {first}"
    assert first.name.endswith("-reviews.csv") and len(first.name.split("-")[0]) == 16, f"hash prefix: {first.name}"
    assert first.read_bytes() == data, "the bytes as uploaded"
    assert [p.name for p in first.parent.iterdir()] == [first.name], "no temporary file is left behind"


def test_save_upload__other_bytes_get_another_path(tmp_path: Path) -> None:
    # given two uploads of one name but other content
    a = ui_ds.save_upload(tmp_path, "data.csv", b"text,label\na,1\n")
    b = ui_ds.save_upload(tmp_path, "data.csv", b"text,label\nb,2\n")
    # then they do not overwrite each other
    assert a != b and a.read_bytes() != b.read_bytes(), "another content is another file"


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\my data.csv.gz", "my_data.csv.gz"),
    ("...", "upload"),
    ("tweets (final).csv", "tweets_final_.csv"),
])
def test_safe_file_name__keeps_the_suffix_and_drops_folders(name: str, expected: str) -> None:
    # when a browser-given name is reduced to a file name
    # then no folder part or odd character survives, and the format suffix does
    assert ui_ds.safe_file_name(name) == expected, f"{name!r} -> {ui_ds.safe_file_name(name)!r}"


def test_default_name__an_upload_is_named_as_the_user_named_its_file(tmp_path: Path) -> None:
    saved = ui_ds.save_upload(tmp_path, "tweets.csv.gz", b"x")
    assert ui_ds.default_name(saved) == "tweets", f"no hash prefix, no suffixes: {saved.name}"
    assert ui_ds.default_name(tmp_path / "reviews.tsv") == "reviews", "a server file: its name"


# -- options -------------------------------------------------------------------------------


def test_read_options__empty_choices_mean_guess() -> None:
    # when the select boxes hold their "guess / none" entry
    options = ui_ds.read_options("", "", "", "", drop_missing=True, val_fraction=0.15, test_fraction=0.25, seed=3)
    # then the registry is asked to guess, with the other settings as given
    assert options == ReadOptions(drop_missing=True, val_fraction=0.15, test_fraction=0.25, seed=3), f"{options}"


def test_with_columns__the_guessed_columns_stay_unnamed(tmp_path: Path) -> None:
    # given a preview that guessed text and label
    csv = write_csv(tmp_path / "d.csv", tiny_frame().assign(note="x"))
    base = ReadOptions()
    guess = ui_ds.preview_or_error(ui_ds.preview_ask(csv, base, 50, 1000)).preview
    assert guess is not None, "the tiny CSV previews"
    # when the select boxes hold the guess, then the options are the same (one cache entry)
    assert ui_ds.with_columns(base, guess, guess.text_column, guess.label_column) == base, "guess kept as a guess"
    # when another column is chosen, then it is named
    chosen = ui_ds.with_columns(base, guess, "note", guess.label_column)
    assert (chosen.text_column, chosen.label_column) == ("note", None), f"{chosen}"


def test_preview_or_error__a_bad_file_is_a_message_not_an_exception(tmp_path: Path) -> None:
    # given an empty file
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    # when it is previewed
    result = ui_ds.preview_or_error(ui_ds.preview_ask(empty, ReadOptions(), 50, 1000))
    # then the result holds the registry's message, naming the file
    assert result.preview is None and result.error and "empty.csv" in result.error, f"{result}"


def test_preview_ask__changes_when_the_file_changes(tmp_path: Path) -> None:
    # given a server file previewed once
    csv = write_csv(tmp_path / "d.csv", tiny_frame())
    before = ui_ds.preview_ask(csv, ReadOptions(), 50, 1000)
    # when it is rewritten with more rows
    write_csv(csv, tiny_frame(per_class=30))
    after = ui_ds.preview_ask(csv, ReadOptions(), 50, 1000)
    # then the cache key differs, so the page reads it again
    assert before != after and hash(before) != hash(after), "size or time is part of the key"


# -- what the preview shows ----------------------------------------------------------------


def test_preview_facts__name_the_chosen_length_and_vocabulary(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "d.csv", tiny_frame())
    found = ui_ds.preview_or_error(ui_ds.preview_ask(csv, ReadOptions(), 4, 30)).preview
    facts = {f.label: f.value for f in ui_ds.preview_facts(found, 4, 30)}
    assert facts["Classes"] == "2", f"two classes: {facts}"
    assert "Truncated at 4" in facts and "Vocabulary coverage at 30" in facts, f"settings named: {facts}"
    assert (facts["Missing texts"], facts["Missing labels"]) == ("0", "0"), f"nothing missing: {facts}"


def test_class_counts_figure__one_bar_per_class_in_order() -> None:
    fig = ui_ds.class_counts_figure({"negative": 10, "neutral": 3, "positive": 7})
    bar = fig.data[0]
    assert list(bar.x) == ["negative", "neutral", "positive"] and list(bar.y) == [10, 3, 7], f"{bar.x} {bar.y}"
    assert fig.layout.xaxis.type == "category", "classes named like numbers stay categories"


def test_length_figure__marks_the_length_and_its_cut() -> None:
    fig = ui_ds.length_figure([3, 5, 8, 13, 40], 10, 0.4)
    assert fig.data[0].type == "histogram", "lengths as a histogram"
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == 10, f"a vertical line at the chosen length: {fig.layout.shapes}"
    notes = " ".join(a.text for a in fig.layout.annotations)
    assert "40.0%" in notes, f"the truncated share is written on it: {notes}"


# -- registered datasets -------------------------------------------------------------------


def test_datasets_table__one_row_per_dataset_with_its_splits(tmp_path: Path) -> None:
    # given a registered dataset of three classes
    manifest = register_frame(tmp_path, tiny_frame(("a", "b", "c")), name="three")
    # when the page's table is built
    table = ui_ds.datasets_table([manifest])
    # then it names it, its id, classes, rows and splits
    row = table.iloc[0]
    assert (row["Name"], row["Id"], row["Classes"], row["Rows"]) == ("three", manifest.id, "a, b, c", 36), f"{row}"
    assert row["Splits"].startswith("train "), f"split sizes: {row['Splits']}"


def test_dataset_choices__imdb_first_then_each_registered(tmp_path: Path) -> None:
    manifest = register_frame(tmp_path, tiny_frame(), name="mine")
    choices = ui_ds.dataset_choices([manifest])
    assert list(choices) == ["imdb", manifest.id], f"IMDB first: {choices}"
    assert choices[manifest.id] == "mine · 2 classes · 24 rows", f"name, classes and rows: {choices}"


def test_classes_text__many_classes_are_shortened() -> None:
    text = ui_ds.classes_text([f"c{i}" for i in range(40)])
    assert text.startswith("c0, c1") and "40 in all" in text, f"{text}"


def test_size_estimate__counts_one_output_per_class() -> None:
    # given the form's default values
    values = form_values()
    # when the picked dataset has three classes instead of two
    two, three = size_estimate(values), size_estimate(values, 3)
    # then each model has one more output unit: its last layer's weights for it and a bias
    assert three.teacher_params > two.teacher_params and three.student_params > two.student_params, \
        f"{two} -> {three}"


def test_estimate_config__a_dataset_stands_in_for_imdb_size(tmp_path: Path) -> None:
    manifest = register_frame(tmp_path, tiny_frame(per_class=50), name="m")
    config = {"data": {"train_limit": None, "val_fraction": 0.1}}
    assert ui_ds.estimate_config(config, None) is config, "IMDB: as it is"
    assert ui_ds.estimate_config(config, manifest)["data"]["train_limit"] == manifest.split_sizes["train"], \
        "the dataset's training rows"
    limited = {"data": {"train_limit": 30}}
    assert ui_ds.estimate_config(limited, manifest) is limited, "a limit the user set stays"
