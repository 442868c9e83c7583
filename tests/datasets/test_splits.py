"""Splits: stratified and seeded when not given, the given parts completed from training rows."""

from __future__ import annotations

import numpy as np
import pytest

from kdcore.datasets import DatasetError
from kdcore.datasets.splits import assign_splits, normalise_split_values, split_sizes

CLASSES = ("a", "b", "c")


def labels(counts: dict[str, int]) -> np.ndarray:
    return np.array([c for c, n in counts.items() for _ in range(n)], dtype=object)


def test_assign_splits__stratified_by_class():
    # given 100/50/10 rows of three classes
    y = labels({"a": 100, "b": 50, "c": 10})
    split = assign_splits(y, None, CLASSES, 0.1, 0.2, seed=0)
    for name, n in (("a", 100), ("b", 50), ("c", 10)):
        mine = split[y == name]
        assert (mine == "test").sum() == round(n * 0.2) and (mine == "val").sum() == max(1, round(n * 0.1)), name


def test_assign_splits__seeded():
    y = labels({"a": 30, "b": 30})
    first = assign_splits(y, None, ("a", "b"), 0.1, 0.2, seed=3)
    assert (assign_splits(y, None, ("a", "b"), 0.1, 0.2, seed=3) == first).all(), "same seed, same split"
    assert (assign_splits(y, None, ("a", "b"), 0.1, 0.2, seed=4) != first).any(), "another seed, another split"


def test_assign_splits__smallest_class_gets_one_of_each():
    y = labels({"a": 3, "b": 20})
    split = assign_splits(y, None, ("a", "b"), 0.1, 0.2, seed=0)
    assert sorted(split[y == "a"]) == ["test", "train", "val"], "3 rows: 1 train, 1 val, 1 test"


def test_assign_splits__too_small_class_named():
    with pytest.raises(DatasetError, match=r"class 'a' has 2 row\(s\).*at least 3"):
        assign_splits(labels({"a": 2, "b": 20}), None, ("a", "b"), 0.1, 0.2, seed=0)


def test_assign_splits__no_validation_needs_two_per_class():
    split = assign_splits(labels({"a": 2, "b": 5}), None, ("a", "b"), 0.0, 0.2, seed=0)
    assert split_sizes(split)["val"] == 0 and split_sizes(split)["test"] == 2, split


def test_assign_splits__only_test_given_carves_val_from_train():
    # given train and test parts, no val
    y = labels({"a": 20, "b": 20})
    given = np.array(["train"] * 10 + ["test"] * 10 + ["train"] * 10 + ["test"] * 10, dtype=object)
    split = assign_splits(y, given, ("a", "b"), 0.1, 0.2, seed=0)
    assert (split[given == "test"] == "test").all(), "the given test rows stay test"
    assert split_sizes(split) == {"train": 18, "val": 2, "test": 20}, split_sizes(split)


def test_assign_splits__class_without_training_rows_is_refused():
    y = labels({"a": 10, "b": 10, "c": 2})
    given = np.array(["train"] * 20 + ["test"] * 2, dtype=object)
    with pytest.raises(DatasetError, match=r"class 'c' has no training rows"):
        assign_splits(y, given, CLASSES, 0.0, 0.2, seed=0)


def test_normalise_split_values__case_and_validation():
    import pandas as pd

    values = normalise_split_values(pd.Series(["Train", " TEST", "validation", "val"]), "split", "f.csv")
    assert values.tolist() == ["train", "test", "val", "val"], values
