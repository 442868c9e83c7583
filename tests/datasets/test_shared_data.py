"""The registry on real files: the tweets CSV (not UTF-8, CRLF, 3 classes) and IMDB's raw reviews."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kdcore.datasets import ReadOptions, load_rows, preview, register

TWEET_COUNTS = {"negative": 16186, "neutral": 15018, "positive": 6954}


def test_register__tweets_csv(shared_tweets: Path, home: Path):
    # given the real tweets file: mac_roman-readable bytes, CRLF line ends, string labels
    manifest = register(home, shared_tweets)
    rows = load_rows(home, manifest.id)
    assert manifest.encoding in ("mac_roman", "latin-1", "cp1252"), f"a legacy encoding is named: {manifest.encoding}"
    assert manifest.classes == ("negative", "neutral", "positive"), manifest.classes
    assert (manifest.text_column, manifest.label_column) == ("text", "sentiment"), "guessed columns"
    counts = rows["label"].value_counts().sort_index().tolist()
    assert dict(zip(manifest.classes, counts)) == TWEET_COUNTS, counts
    assert manifest.rows == 38158 and not rows["text"].str.contains("\r").any(), "CRLF gone, every row kept"
    assert manifest.split_origin.startswith("stratified"), "no split given: a seeded stratified split"


def test_preview__tweets_names_the_encoding_and_the_leaks(shared_tweets: Path):
    result = preview(shared_tweets)
    assert result.encoding == "mac_roman" and any("not UTF-8" in w for w in result.warnings), result.warnings
    assert result.class_counts == TWEET_COUNTS, result.class_counts
    assert result.duplicates > 0 and result.leaks["test_equal"] > 0, "the file's repeated texts show as leaks"


@pytest.mark.slow
def test_register__imdb_csv_with_its_split_column(shared_imdb_csv: Path, home: Path):
    # given IMDB's 50,000 raw reviews with split, label, rating, id and text columns
    started = time.perf_counter()
    manifest = register(home, shared_imdb_csv, ReadOptions(split_column="split"))
    seconds = time.perf_counter() - started
    assert seconds < 30, f"registering the IMDB CSV took {seconds:.1f} s (target: under 30 s)"
    assert (manifest.text_column, manifest.label_column, manifest.classes) == ("text", "label", ("0", "1"))
    assert manifest.split_sizes["test"] == 25000, "the split column's test rows"
    assert manifest.split_sizes["train"] + manifest.split_sizes["val"] == 25000, "val carved from train"
    print(f"registered the IMDB CSV in {seconds:.1f} s")


@pytest.mark.slow
def test_preview__imdb_csv_is_sampled_and_quick(shared_imdb_csv: Path):
    started = time.perf_counter()
    result = preview(shared_imdb_csv)
    seconds = time.perf_counter() - started
    assert result.sampled and result.rows == 50000, "token statistics sampled, counts on every row"
    assert seconds < 10, f"the preview of the 66 MB IMDB CSV took {seconds:.1f} s"
