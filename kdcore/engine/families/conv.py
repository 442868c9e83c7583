"""A convolutional text classifier (Kim 2014): parallel Conv1D widths over the embeddings, max over time.

Built from Keras' own layers only (no custom layer, no Lambda), so a saved teacher loads with
plain ``keras.models.load_model`` in any process, and the same code runs on TensorFlow and JAX.
"""

from __future__ import annotations

import keras
from keras import layers

from kdcore.config import ConvSize


def build_conv(size: ConvSize, vocab_size: int, maxlen: int, name: str, num_classes: int = 2,
               mask_padding: bool = False) -> keras.Model:
    """Kim (2014): one Conv1D per kernel width over the embeddings, max over time, concatenated.

    ``mask_padding`` changes nothing here: a max over time does not care where the padding is,
    and Conv1D does not take a mask.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, size.embedding_dim, name="embedding")(inputs)
    if size.embedding_dropout > 0:
        x = layers.SpatialDropout1D(size.embedding_dropout, name="embedding_dropout")(x)
    pooled = []
    for width in size.kernel_sizes:
        conv = layers.Conv1D(size.filters, width, activation="relu", padding="same", name=f"conv{width}_{len(pooled)}")
        pooled.append(layers.GlobalMaxPooling1D(name=f"max{width}_{len(pooled)}")(conv(x)))
    x = layers.Concatenate(name="features")(pooled) if len(pooled) > 1 else pooled[0]
    if size.dropout > 0:
        x = layers.Dropout(size.dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
