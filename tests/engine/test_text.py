"""A registered dataset's texts as ids: the vocabulary (fitted on train only, cached), the views, the padding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdcore.config import DataConfig, RunConfig, apply_overrides
from kdcore.datasets import ReadOptions, register_frame
from kdcore.engine.augment import augment_rows
from kdcore.engine.data import DataError, load_split_views, repad
from kdcore.engine.text import (
    OOV_ID,
    PAD_ID,
    cached_vocabulary,
    fit_vocabulary,
    keep_last,
    never_empty,
    registered_views,
    vectorise,
    vocabulary_key,
    vocabulary_path,
)

WORDS = {"cats": ["purr", "whisker", "meow"], "dogs": ["bark", "fetch", "woof"], "fish": ["swim", "fin", "bubble"]}


def tiny_frame(rows_per_split: dict[str, int], test_only_word: str | None = None) -> pd.DataFrame:
    """Three classes of short texts, each with its class's words; ``test_only_word`` in every test text."""
    records = []
    for split, n in rows_per_split.items():
        for i in range(n):
            label = list(WORDS)[i % 3]
            words = [WORDS[label][(i + k) % 3] for k in range(3)] + ["the", "pet", f"n{i % 7}"]
            if split == "test" and test_only_word:
                words.append(test_only_word)
            records.append({"text": " ".join(words), "label": label, "split": split})
    return pd.DataFrame.from_records(records)


def data_config(dataset: str, **fields) -> DataConfig:
    return DataConfig(dataset=dataset, vocab_size=fields.pop("vocab_size", 50), maxlen=fields.pop("maxlen", 8),
                      **fields)


@pytest.fixture
def small_dataset(kd_home: Path) -> str:
    frame = tiny_frame({"train": 30, "val": 9, "test": 12}, test_only_word="zebra")
    return register_frame(kd_home, frame, name="pets").id


# ----------------------------------------------------------------------------- repad with post padding


def test_repad__post_narrower_keeps_the_first_columns():
    # given post-padded rows (tokens first, zeros after)
    x = np.array([[5, 6, 7, 0], [8, 0, 0, 0]], dtype=np.int32)
    # when they are cut to a narrower width
    out = repad(x, 2, "post")
    # then the first tokens stay, as TextVectorization's output_sequence_length would keep them
    np.testing.assert_array_equal(out, [[5, 6], [8, 0]], err_msg="post padding keeps the first columns")


def test_repad__post_wider_appends_zeros():
    x = np.array([[5, 6], [8, 0]], dtype=np.int32)
    out = repad(x, 5, "post")
    np.testing.assert_array_equal(out, [[5, 6, 0, 0, 0], [8, 0, 0, 0, 0]], err_msg="zeros go after the tokens")


def test_repad__pre_is_unchanged_by_the_new_argument():
    x = np.array([[0, 5, 6]], dtype=np.int32)
    np.testing.assert_array_equal(repad(x, 2), [[5, 6]], err_msg="pre padding keeps the last columns")
    np.testing.assert_array_equal(repad(x, 4, "pre"), [[0, 0, 5, 6]], err_msg="pre padding adds zeros in front")


def test_repad__unknown_padding_is_refused():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        repad(np.zeros((1, 3), dtype=np.int32), 2, "middle")


# ----------------------------------------------------------------------------- vectorising


def test_vectorise__pre_pads_and_keeps_the_last_tokens():
    # given a vocabulary fitted on two texts
    data = data_config("0" * 16, maxlen=3)
    vocabulary = fit_vocabulary(["Good film, good fun!", "bad film"], data)
    # when a long and a short text are vectorised at length 3
    ids = vectorise(["good FILM good fun bad", "unseen"], data, vocabulary, 3)
    # then the long one keeps its last three tokens (as Keras' IMDB), the short one is padded in front, OOV unknown
    good, fun, bad = vocabulary.index("good"), vocabulary.index("fun"), vocabulary.index("bad")
    np.testing.assert_array_equal(ids, [[good, fun, bad], [PAD_ID, PAD_ID, OOV_ID]], err_msg="pre, last tokens")
    assert ids.dtype == np.int32, "int32 ids, as the models' inputs"


def test_vectorise__a_text_without_tokens_reads_as_one_unknown_word():
    # given texts that have no token once standardised
    data = data_config("0" * 16, maxlen=4)
    vocabulary = fit_vocabulary(["good film"], data)
    ids = vectorise(["", "?!", "   ", "good"], data, vocabulary, 4)
    # then each is one OOV id, never a row of padding only (fully masked: NaN in a masked average, refused by cuDNN)
    np.testing.assert_array_equal(ids[:3], [[0, 0, 0, OOV_ID]] * 3, err_msg="an empty text is one unknown word")
    assert ids[3, -1] == vocabulary.index("good"), "a text with tokens is left as it is"


def test_never_empty__is_vectorises_rule_in_keras_ops():
    tokens = np.array([[0, 0, 0], [0, 4, 5], [0, 0, 0]], dtype=np.int64)
    out = np.asarray(never_empty(tokens))
    np.testing.assert_array_equal(out, [[0, 0, OOV_ID], [0, 4, 5], [0, 0, OOV_ID]], err_msg="vectorise's rule")


def test_keep_last__moves_each_rows_last_ids_to_the_right_edge():
    # given TextVectorization's output: ids from the left, zeros after, rows of 0, 2 and 5 ids
    tokens = np.array([[0, 0, 0, 0, 0], [7, 8, 0, 0, 0], [1, 2, 3, 4, 5]], dtype=np.int64)
    # when 3 columns are kept
    out = np.asarray(keep_last(tokens, 3))
    # then each row holds its last 3 ids, padded in front (Keras' pad_sequences default)
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 7, 8], [3, 4, 5]], err_msg="pre padding, last ids")
    wide = np.asarray(keep_last(tokens[:, :2], 4))
    np.testing.assert_array_equal(wide, [[0, 0, 0, 0], [0, 0, 7, 8], [0, 0, 1, 2]], err_msg="wider than the input")


def test_fit_vocabulary__standardize_none_keeps_case_and_punctuation():
    data = data_config("0" * 16, standardize="none")
    vocabulary = fit_vocabulary(["Good, good"], data)
    assert "Good," in vocabulary and "good" in vocabulary, f"no standardisation: {vocabulary}"


def test_fit_vocabulary__character_split():
    data = data_config("0" * 16, split="character")
    vocabulary = fit_vocabulary(["abba"], data)
    assert set(vocabulary[2:]) == {"a", "b"}, f"characters are the tokens: {vocabulary}"


# ----------------------------------------------------------------------------- registered views


def test_registered_views__vocabulary_fitted_on_train_only(kd_home: Path, small_dataset: str):
    # given a dataset whose test texts all hold a word no training text has
    views = registered_views(data_config(small_dataset, maxlen=10, validate_on="val"), [10], kd_home)
    splits = views[10]
    # then that word is not in the vocabulary, and reads as OOV in every test text
    assert "zebra" not in splits.vocabulary, "the vocabulary must come from the training split only"
    assert (splits.x_test == OOV_ID).any(axis=1).all(), "the test-only word is OOV in each test text"
    assert not (splits.x_train == OOV_ID).any(), "every training word is in a vocabulary that fits them all"


def test_registered_views__splits_classes_and_padding(kd_home: Path, small_dataset: str):
    splits = registered_views(data_config(small_dataset, validate_on="val"), [8], kd_home)[8]
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (30, 9, 12), "the stored splits"
    assert splits.num_classes == 3 and splits.class_names == ("cats", "dogs", "fish"), "sorted label values"
    assert splits.padding == "pre", "padded in front, as Keras' IMDB"
    assert set(np.unique(splits.y_train)) == {0, 1, 2}, "labels index the classes"
    assert splits.x_train.shape == (30, 8) and splits.x_train.dtype == np.int32, "int32 ids at maxlen"


def test_registered_views__every_view_holds_the_same_rows(kd_home: Path, small_dataset: str):
    views = registered_views(data_config(small_dataset, maxlen=4, validate_on="val"), [4, 10], kd_home)
    np.testing.assert_array_equal(views[10].x_train[:, -4:], views[4].x_train, err_msg="narrow = last columns")
    np.testing.assert_array_equal(repad(views[4].x_test, 10)[:, -4:], views[4].x_test)
    np.testing.assert_array_equal(views[10].y_train, views[4].y_train, err_msg="row i is the same text")


def test_registered_views__validate_on_test_and_limits(kd_home: Path, small_dataset: str):
    splits = registered_views(data_config(small_dataset, validate_on="test", train_limit=12, test_limit=6), [8],
                              kd_home)[8]
    assert len(splits.y_train) == 12 and len(splits.y_test) == 6, "the limits cut the splits"
    np.testing.assert_array_equal(splits.x_val, splits.x_test, err_msg="validate_on=test validates on test")
    assert len(set(splits.y_train.tolist())) == 3, "a limit samples every class (a fixed shuffle first)"


def test_registered_views__vocabulary_is_cached_with_the_dataset(kd_home: Path, small_dataset: str):
    # given a first load, which fits the vocabulary
    data = data_config(small_dataset, validate_on="val")
    first = registered_views(data, [8], kd_home)[8]
    path = vocabulary_path(kd_home, data)
    assert path.is_file(), "the fitted vocabulary is kept at <home>/datasets/<id>/vocab/<key>.json"
    stored = json.loads(path.read_text())
    assert stored["vocabulary"] == first.vocabulary and stored["dataset"] == small_dataset, "tokens and data"
    assert stored["classes"] == ["cats", "dogs", "fish"] and "source_sha256" in stored, "the data, by hash"
    # when the file is changed by hand and the view is loaded again
    stored["vocabulary"] = ["", "[UNK]", "purr"]
    path.write_text(json.dumps(stored))
    again = registered_views(data, [8], kd_home)[8]
    # then the stored vocabulary is used, not a new fit
    assert again.vocabulary == ["", "[UNK]", "purr"], "a cached vocabulary is reused"


def test_vocabulary_key__changes_with_what_decides_the_vocabulary(small_dataset: str):
    base = data_config(small_dataset)
    others = [data_config("f" * 16), data_config(small_dataset, vocab_size=60),
              data_config(small_dataset, standardize="lower"), data_config(small_dataset, split="character"),
              data_config(small_dataset, train_limit=10)]
    keys = {vocabulary_key(base)} | {vocabulary_key(d) for d in others}
    assert len(keys) == 6, "dataset, vocabulary size, standardisation, split and train_limit each change the key"
    assert vocabulary_key(data_config(small_dataset, maxlen=99)) == vocabulary_key(base), "maxlen does not"


def test_cached_vocabulary__damaged_file_is_fitted_again(kd_home: Path, small_dataset: str):
    from kdcore.datasets import get_manifest

    data = data_config(small_dataset)
    path = vocabulary_path(kd_home, data)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    vocabulary = cached_vocabulary(kd_home, get_manifest(kd_home, small_dataset), data, ["purr purr bark"])
    assert vocabulary[:3] == ["", "[UNK]", "purr"], "fitted again from the texts"
    assert json.loads(path.read_text())["vocabulary"] == vocabulary, "and the damaged file replaced"


def test_load_split_views__registered_dataset_goes_through_the_registry(kd_home: Path, small_dataset: str):
    views = load_split_views(data_config(small_dataset, validate_on="val"), 0, [8])
    assert views[8].num_classes == 3 and views[8].padding == "pre", "home from $KDCORE_HOME when not given"


def test_registered_views__unknown_dataset_names_the_field(kd_home: Path):
    with pytest.raises(DataError, match="data.dataset=0123456789abcdef"):
        registered_views(data_config("0123456789abcdef"), [8], kd_home)


def test_registered_views__no_validation_rows(kd_home: Path):
    # given a dataset registered without validation rows (a split column without them, no fraction carved)
    dataset = register_frame(kd_home, tiny_frame({"train": 12, "test": 6}), name="no val",
                             options=ReadOptions(val_fraction=0.0)).id
    # when it is loaded to validate on a validation split, then the message says what to set
    with pytest.raises(DataError, match="no validation rows; set data.validate_on=test"):
        registered_views(data_config(dataset, validate_on="val"), [8], kd_home)
    splits = registered_views(data_config(dataset, validate_on="test"), [8], kd_home)[8]
    assert len(splits.y_val) == 6, "validating on test needs no validation rows"


def test_cache_keys__change_with_the_dataset_id():
    imdb = RunConfig()
    one, two = (apply_overrides(RunConfig(), [f"data.dataset={d}"]) for d in ("a" * 16, "b" * 16))
    assert len({imdb.teacher_key(), one.teacher_key(), two.teacher_key()}) == 3, "teacher key names the data"
    assert len({imdb.scratch_key(0), one.scratch_key(0), two.scratch_key(0)}) == 3, "scratch key names the data"


# ----------------------------------------------------------------------------- augmentation of post-padded rows


def test_augment_rows__post_windows_are_stretches_of_the_text():
    # given post-padded views of a 9-token text: the student reads the first 4, the teacher 12
    text = list(range(10, 19))
    student = np.array([text[:4]] * 300, dtype=np.int32)
    teacher = np.array([text + [0, 0, 0]] * 300, dtype=np.int32)
    # when every row is windowed
    out = augment_rows(student, teacher, 1.0, 0.0, np.random.default_rng(0), "post")
    # then each row is a full stretch of the text (never padding), and every start is drawn
    starts = {text.index(int(row[0])) for row in out}
    assert all(list(row) == text[text.index(int(row[0])):text.index(int(row[0])) + 4] for row in out), "stretches"
    assert starts == set(range(len(text) - 4 + 1)), "every start that keeps a full window"


def test_augment_rows__post_mask_uses_the_vectorizers_oov_and_spares_padding():
    student = np.array([[5, 6, 7, 0, 0]] * 200, dtype=np.int32)
    out = augment_rows(student, student, 0.0, 0.5, np.random.default_rng(0), "post")
    assert set(np.unique(out[:, :3])) == {OOV_ID, 5, 6, 7}, "masked words become TextVectorization's OOV (1)"
    assert (out[:, 3:] == PAD_ID).all(), "padding is never masked"


def test_check_compatible__a_teacher_of_other_data_is_refused():
    from kdcore.engine.teacher import check_compatible

    # given an earlier run on one registered dataset
    earlier = apply_overrides(RunConfig(), ["data.dataset=" + "a" * 16]).model_dump(mode="json")
    # when a run on another dataset, or on IMDB, or with another standardisation, would distil from its teacher
    for override, field in (("data.dataset=" + "b" * 16, "data.dataset"), ("data.dataset=imdb", "data.dataset"),
                            ("data.standardize=lower", "data.standardize")):
        config = apply_overrides(RunConfig(), ["data.dataset=" + "a" * 16, override])
        # then the message names the field that differs
        with pytest.raises(ValueError, match=f"teacher_from: the earlier run used {field}="):
            check_compatible(earlier, config)
    check_compatible(earlier, apply_overrides(RunConfig(), ["data.dataset=" + "a" * 16]))  # the same data: fine
