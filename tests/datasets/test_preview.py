"""The preview: guessed columns, counts, token lengths at maxlen, coverage, gaps and leaks, without saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdcore.datasets import DatasetError, ReadOptions, preview
from tests.datasets.helpers import rows_csv, stored, write


def test_preview__figures_of_a_small_file(home: Path, tmp_path: Path):
    # given 2 classes of 6 and 4 texts of 3 and 12 tokens, one duplicate and one text without a word
    texts = ["one two three"] * 2 + [f"w{i} " * 12 for i in range(4)] + ["!!!"] + [f"x{i} y z" for i in range(3)]
    frame = pd.DataFrame({"text": texts, "label": ["pos"] * 6 + ["neg"] * 4})
    source = write(tmp_path / "small.csv", frame.to_csv(index=False))
    result = preview(source, maxlen=10, vocab_size=3)
    assert (result.text_column, result.label_column, result.classes) == ("text", "label", ("neg", "pos"))
    assert result.class_counts == {"neg": 4, "pos": 6} and result.rows == 10, result.class_counts
    assert sorted(result.token_lengths.tolist()) == [0, 3, 3, 3, 3, 3, 12, 12, 12, 12], result.token_lengths
    assert result.truncated_share == pytest.approx(0.4), "4 of 10 texts are longer than maxlen 10"
    assert result.duplicates == 1 and result.empty_texts == 1, (result.duplicates, result.empty_texts)
    assert 0 < result.vocab_coverage < 1 and not result.sampled, result.vocab_coverage
    assert len(result.head) == 10 and result.columns == ["text", "label"], result.head
    assert stored(home) == [] and not (tmp_path / "datasets").exists(), "a preview saves nothing"


def test_preview__gaps_are_counted_not_refused(tmp_path: Path):
    source = write(tmp_path / "gaps.csv", rows_csv() + ",pos\nno label,\n")
    result = preview(source)
    assert result.missing == {"texts": 1, "labels": 1}, result.missing
    assert any("drop_missing" in w for w in result.warnings), result.warnings


def test_preview__class_too_small_is_a_warning(tmp_path: Path):
    result = preview(write(tmp_path / "small.csv", rows_csv() + "rare text,rare\n"))
    assert any("'rare'" in w for w in result.warnings), result.warnings


def test_preview__hard_errors_still_raise(tmp_path: Path):
    with pytest.raises(DatasetError, match="'nope'"):
        preview(write(tmp_path / "a.csv", rows_csv()), ReadOptions(text_column="nope"))


def test_preview__leaks_from_a_given_validation_file(tmp_path: Path):
    # given a validation file with one text equal to a training text and one cut from a training text
    train = write(tmp_path / "train.csv", rows_csv())
    val = write(tmp_path / "val.csv", "text,label\na neg review number 0 with some words,neg\n"
                "pos review number 1 with some,pos\nsomething new entirely here,neg\n")
    result = preview(train, validation=val)
    assert result.leaks["val_equal"] == 1 and result.leaks["val_contained"] == 1, result.leaks
    assert result.split_sizes["val"] == 3, "a given validation file is used as it is"
    assert any("also occur in training" in w for w in result.warnings), result.warnings
    assert any("contained in a training text" in w for w in result.warnings), result.warnings


def test_preview__encoding_is_named(tmp_path: Path):
    source = tmp_path / "cp.csv"
    source.write_bytes(rows_csv().encode() + "caf\u00e9 cr\u00e8me,pos\n".encode("cp1252"))
    result = preview(source)
    assert result.encoding == "cp1252" and any("cp1252" in w for w in result.warnings), result.warnings


def test_preview__big_file_is_sampled(tmp_path: Path):
    # given 12,000 rows and a sample of 2,000
    rng = np.random.default_rng(0)
    words = rng.integers(0, 5000, size=(12_000, 15))
    texts = [" ".join(f"w{w}" for w in row) + f" r{i}" for i, row in enumerate(words)]
    frame = pd.DataFrame({"text": texts, "label": rng.choice(["a", "b", "c"], size=12_000)})
    source = write(tmp_path / "big.csv", frame.to_csv(index=False))
    result = preview(source, sample_rows=2000)
    assert result.sampled and len(result.token_lengths) == 2000, "token statistics come from the sample"
    assert (result.token_lengths == 16).all(), "each sampled text has its 16 tokens"
    assert result.rows == 12_000 and sum(result.class_counts.values()) == 12_000, "counts use every row"
