"""A registered dataset's texts as token ids: a ``TextVectorization`` fitted on its training split only.

Why fitted on training rows alone: a vocabulary that has seen the test texts gives their rare
words ids a model could never have learned from, and makes every test figure a little
optimistic; a word that occurs only in test texts is out of vocabulary (id 1), as it would be
for a new text after deployment. The fitted vocabulary belongs to the dataset view it was
fitted on (dataset id, vocabulary size, standardisation, split, ``train_limit``), so it is kept
at ``<home>/datasets/<id>/vocab/<key>.json`` and reused by every later run of that view; a run
folder gets a copy (``vocabulary.json``) that also names the data by hash, so the run says
exactly what it read.

Texts keep their last ``L`` tokens and are padded in front, as Keras' IMDB does (the end of a
review often carries its verdict: reading the first 200 tokens instead cost the notebook-size
student about 3 points on IMDB's CSV, ``bench/results/datasets-paths.md``). ``TextVectorization``
itself pads at the end and keeps the first tokens, so :func:`keep_last` moves each row's last
``L`` ids to the right edge, in ``keras.ops``: the raw-text model a user downloads
(:mod:`kdcore.engine.text_export`) applies the very same function, so the student reads the same
ids in training and in use.
Row order: each split is shuffled with a fixed seed before ``train_limit`` / ``test_limit``
cut it, so a limit keeps a sample of every class even when the file is sorted by label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers, ops

from kdcore.config import DataConfig
from kdcore.config.keys import digest
from kdcore.datasets import DatasetError, Manifest, get_manifest, load_rows
from kdcore.engine.data import SHUFFLE_SEED, DataError, Splits, repad
from kdcore.engine.files import atomic_write_text
from kdcore.paths import home_dir

#: How many texts go through the vectorizer at once: bounded memory for the IMDB-size sets.
VECTORISE_BATCH = 4096
PAD_ID, OOV_ID = 0, 1  # TextVectorization's: "" and "[UNK]" open every vocabulary
RUN_VOCABULARY = "vocabulary.json"


def vocabulary_key(data: DataConfig) -> str:
    """The hash of what decides a fitted vocabulary: the dataset view and the vectorizer's settings."""
    return digest({"dataset": data.dataset, "vocab_size": data.vocab_size, "standardize": data.standardize,
                   "split": data.split, "train_limit": data.train_limit})


def vectorizer(data: DataConfig, vocabulary: Sequence[str] | None = None, length: int | None = None,
               name: str = "vectorize") -> layers.TextVectorization:
    """The run's ``TextVectorization``: its settings, a given vocabulary (else to be adapted), ``length`` ids out."""
    return layers.TextVectorization(
        max_tokens=data.vocab_size, standardize=None if data.standardize == "none" else data.standardize,
        split=data.split, output_mode="int", output_sequence_length=length,
        vocabulary=list(vocabulary) if vocabulary is not None else None, name=name)


def fit_vocabulary(texts: Sequence[str], data: DataConfig) -> list[str]:
    """The vocabulary ``TextVectorization`` learns from ``texts`` (padding and OOV first, then by frequency)."""
    layer = vectorizer(data)
    layer.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), dtype=tf.string)).batch(VECTORISE_BATCH))
    return [str(token) for token in layer.get_vocabulary()]


def vectorise(texts: Sequence[str], data: DataConfig, vocabulary: Sequence[str], length: int) -> np.ndarray:
    """``texts`` as an int32 matrix of ``length`` ids per row: the last ``length`` tokens, padded with 0 in front.

    A text with no token at all (empty, or only punctuation once standardised) reads as one
    unknown word (:func:`never_empty`).
    """
    layer = vectorizer(data, vocabulary)
    out = np.zeros((len(texts), length), dtype=np.int32)
    items = list(texts)
    for start in range(0, len(items), VECTORISE_BATCH):
        batch = tf.constant(items[start:start + VECTORISE_BATCH], dtype=tf.string)
        ids = never_empty(keep_last(layer(batch), length))
        out[start:start + len(batch)] = np.asarray(ops.convert_to_numpy(ids), dtype=np.int32)
    return out


def keep_last(tokens: Any, length: int) -> Any:
    """Post-padded ids of any width (``TextVectorization``'s) as ``length`` columns: each row's last ``length``
    ids, padded with 0 in front (Keras' ``pad_sequences`` default), in ``keras.ops`` so a saved model keeps it.

    Ids are contiguous from the left (0 is padding only), so a row's ``n`` ids sit in columns
    ``0..n-1``, and output column ``j`` takes input column ``n - length + j`` where that is >= 0.
    A zero column is appended first, so a batch of empty texts (width 0) still has one to read.
    """
    tokens = ops.cast(tokens, "int32")
    tokens = ops.concatenate([tokens, ops.zeros_like(tokens[:, :1])], axis=1)
    counts = ops.sum(ops.cast(ops.not_equal(tokens, PAD_ID), "int32"), axis=1, keepdims=True)
    positions = ops.expand_dims(ops.arange(length, dtype="int32"), 0) + counts - length
    picked = ops.take_along_axis(tokens, ops.maximum(positions, 0), axis=1)
    return ops.where(positions >= 0, picked, ops.zeros_like(picked))


def never_empty(tokens: Any) -> Any:
    """The ids with a row of padding only turned into one OOV id in the last column, in Keras ops.

    Why: a row that is all padding is, to the n-gram family's masked average, 0 divided by 0
    (NaN logits, which poison the whole batch's loss), and cuDNN's masked LSTM refuses it on a
    GPU. One unknown word is what an empty text is to a model. :func:`vectorise` and the raw-text
    model (:mod:`kdcore.engine.text_export`) both apply this after :func:`keep_last`, so they
    give the same ids; plain ``keras.ops``, so a saved model still loads in safe mode without kdcore.
    """
    empty = ops.all(ops.equal(tokens, PAD_ID), axis=1, keepdims=True)
    last = ops.equal(ops.cumsum(ops.ones_like(tokens), axis=1), ops.shape(tokens)[1])
    return ops.where(ops.logical_and(empty, last), ops.ones_like(tokens) * OOV_ID, tokens)


def vocabulary_record(manifest: Manifest, data: DataConfig, vocabulary: Sequence[str]) -> dict[str, Any]:
    """What a vocabulary file holds: the tokens and exactly which data and settings they were fitted on."""
    return {"key": vocabulary_key(data), "dataset": manifest.id, "name": manifest.name,
            "source_name": manifest.source_name, "source_sha256": manifest.source_sha256,
            "classes": list(manifest.classes), "fitted_on": "train", "train_limit": data.train_limit,
            "vocab_size": data.vocab_size, "standardize": data.standardize, "split": data.split,
            "vocabulary": list(vocabulary)}


def vocabulary_path(home: Path, data: DataConfig) -> Path:
    return home / "datasets" / data.dataset / "vocab" / f"{vocabulary_key(data)}.json"


def cached_vocabulary(home: Path, manifest: Manifest, data: DataConfig, train_texts: Sequence[str]) -> list[str]:
    """The view's vocabulary: read back when an earlier run fitted it, else fitted now and kept for the next."""
    path = vocabulary_path(home, data)
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
            if stored.get("key") == vocabulary_key(data) and isinstance(stored.get("vocabulary"), list):
                return [str(token) for token in stored["vocabulary"]]
        except (OSError, ValueError):
            pass  # damaged: fitted again below and replaced
    vocabulary = fit_vocabulary(train_texts, data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(vocabulary_record(manifest, data, vocabulary)))
    except OSError:
        pass  # a read-only home still runs; the next run fits it again
    return vocabulary


def write_run_vocabulary(run_dir: Path, manifest: Manifest, data: DataConfig, vocabulary: Sequence[str]) -> None:
    """``vocabulary.json`` of the run folder: the tokens and the data they came from, by hash."""
    atomic_write_text(run_dir / RUN_VOCABULARY, json.dumps(vocabulary_record(manifest, data, vocabulary), indent=1))


#: The column :func:`_split_rows` adds: each row's index among its split's rows in ``rows.parquet`` order.
SOURCE_ROW = "_source_row"


def _split_rows(rows: pd.DataFrame, name: str, limit: int | None) -> pd.DataFrame:
    """One stored split in a fixed shuffled order (so a limit samples every class), cut to ``limit`` rows.

    Each row keeps its index in the split's source order (:data:`SOURCE_ROW`): what a teacher's
    outputs given for the source rows are matched by.
    """
    part = rows[rows["split"] == name].assign(**{SOURCE_ROW: lambda frame: np.arange(len(frame))})
    order = np.random.RandomState(SHUFFLE_SEED).permutation(len(part))
    part = part.iloc[order]
    return part.iloc[:limit] if limit else part


def dataset_manifest(data: DataConfig, home: Path | None = None) -> Manifest:
    """The manifest of the run's registered dataset; an unknown id is a DataError naming ``data.dataset``."""
    try:
        return get_manifest(home_dir(home), data.dataset)
    except DatasetError as e:
        raise DataError(f"data.dataset={data.dataset}: {e}") from None


def _dataset(home: Path, data: DataConfig) -> tuple[Manifest, pd.DataFrame]:
    manifest = dataset_manifest(data, home)
    try:
        return manifest, load_rows(home, data.dataset)
    except DatasetError as e:
        raise DataError(f"data.dataset={data.dataset}: {e}") from None


def registered_views(data: DataConfig, maxlens: Iterable[int], home: Path | None = None) -> dict[int, Splits]:
    """Train / validation / test ids of a registered dataset at each length, row ``i`` the same text in every view.

    The splits are those stored with the dataset; ``validate_on=test`` validates on the test
    split, as for IMDB. Texts are vectorised once at the widest length: the last ``L`` columns
    of a pre-padded matrix are exactly its view at length ``L`` (as :func:`~kdcore.engine.data.repad` cuts).
    """
    home, lengths = home_dir(home), sorted(set(maxlens))
    manifest, rows = _dataset(home, data)
    train = _split_rows(rows, "train", data.train_limit)
    val = _split_rows(rows, "val", None)
    test = _split_rows(rows, "test", data.test_limit)
    where = f"data.dataset={data.dataset} ({manifest.name})"
    if len(train) == 0 or len(test) == 0:
        raise DataError(f"{where}: the {'training' if len(train) == 0 else 'test'} split is empty; register the "
                        "dataset again with rows in every split (a split column, files, or the random split)")
    if data.validate_on == "val" and len(val) == 0:
        raise DataError(f"{where}: has no validation rows; set data.validate_on=test, or register it again with "
                        "a validation split")
    vocabulary = cached_vocabulary(home, manifest, data, train["text"].tolist())
    widest = lengths[-1]
    ids = {name: vectorise(part["text"].tolist(), data, vocabulary, widest) for name, part in
           (("train", train), ("val", val), ("test", test))}
    labels = {name: part["label"].to_numpy(dtype=np.int32) for name, part in
              (("train", train), ("val", val), ("test", test))}
    if data.validate_on == "test":
        ids["val"], labels["val"] = ids["test"], labels["test"]
    bad = [int(y) for y in np.concatenate(list(labels.values())) if not 0 <= y < manifest.num_classes][:5]
    if bad:
        raise DataError(f"{where}: labels {bad} are outside the manifest's {manifest.num_classes} classes; "
                        "the dataset's files are damaged, register it again")
    counts = (int((rows["split"] == "train").sum()), int((rows["split"] == "test").sum()))
    return {length: Splits(repad(ids["train"], length), labels["train"], repad(ids["val"], length), labels["val"],
                           repad(ids["test"], length), labels["test"], source=where, num_classes=manifest.num_classes,
                           class_names=tuple(manifest.classes), padding="pre", vocabulary=vocabulary,
                           train_rows=train[SOURCE_ROW].to_numpy(), test_rows=test[SOURCE_ROW].to_numpy(),
                           source_counts=counts, texts_train=train["text"].tolist(), texts_test=test["text"].tolist())
            for length in lengths}
