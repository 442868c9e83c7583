"""A bag of n-grams (fastText-style): unigram and hashed-bigram embeddings, averaged, Dense(K).

Why a teacher family: the notebook's BiLSTM+BiGRU teacher peaks near 86 % on IMDB, where the
student trained from scratch ends too, so it has nothing to teach. Built from Keras' own layers
and ``keras.ops`` only (no custom layer, no Lambda), so a saved teacher loads with plain
``keras.models.load_model`` in any process, and the same code runs on TensorFlow and JAX.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from kdcore.config import NgramSize

_INT32_MAX = 2**31 - 1


def bigram_multiplier(buckets: int) -> int:
    """The largest multiplier that keeps the bigram hash inside int32 and spreads pairs over all rows.

    The hash is ``1 + ((a mod R) * m + (b mod R)) mod R`` with ``R = buckets - 1`` non-padding
    rows: every intermediate stays below 2^31 (JAX computes in int32 unless x64 is enabled),
    and ``m`` coprime with ``R`` makes ``a -> hash`` one-to-one for each fixed ``b``.
    """
    rows = buckets - 1
    m = min(_INT32_MAX // max(rows, 1) - 1, 1_000_003)
    while m > 1 and math.gcd(m, rows) != 1:
        m -= 1
    return max(m, 1)


def hashed_bigrams(tokens: keras.KerasTensor, buckets: int) -> keras.KerasTensor:
    """Bucket ids of each adjacent token pair; 0 where either token is padding (id 0)."""
    rows = buckets - 1
    first, second = tokens[:, :-1], tokens[:, 1:]
    mixed = ops.mod(ops.mod(first, rows) * bigram_multiplier(buckets) + ops.mod(second, rows), rows) + 1
    return ops.where(ops.logical_and(first > 0, second > 0), mixed, ops.zeros_like(mixed))


def build_ngram(size: NgramSize, vocab_size: int, maxlen: int, name: str, num_classes: int = 2,
                mask_padding: bool = False) -> keras.Model:
    """fastText-style: mean of unigram and hashed-bigram embeddings over the real tokens, then Dense(K).

    ``mask_zero`` on both tables makes the average skip padding, so a short review is not
    diluted by the zeros in front of (or after) it: the family masks whatever ``mask_padding`` says.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    unigrams = layers.Embedding(vocab_size, size.embedding_dim, mask_zero=True, name="unigram_embedding")(inputs)
    bigrams = layers.Embedding(size.bigram_buckets, size.embedding_dim, mask_zero=True,
                               name="bigram_embedding")(hashed_bigrams(inputs, size.bigram_buckets))
    x = layers.Concatenate(axis=1, name="ngrams")([unigrams, bigrams])
    x = layers.GlobalAveragePooling1D(name="average")(x)
    if size.dropout > 0:
        x = layers.Dropout(size.dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
