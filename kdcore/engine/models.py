"""Classifiers from their sizes: the notebook's recurrent model here, other teacher families in ``teachers``.

Embedding -> BiLSTM(return_sequences) -> BiGRU -> Dense(2 logits). The recurrent layers
keep Keras' defaults (tanh, sigmoid, no recurrent dropout, no unroll, GRU reset_after)
so that on a GPU they run on cuDNN; regularisation is spatial dropout after the
embedding and dropout before the classifier, which leave that eligibility intact.
The logits layer is float32 even under mixed precision, so softmax and the loss are too.
"""

from __future__ import annotations

import keras
from keras import layers

from kdcore.config import ConvSize, ModelSize, NgramSize, RecurrentSize
from kdcore.engine.optimizers import compilable, make_optimizer
from kdcore.engine.teachers import build_conv, build_ngram


def build_classifier(size: ModelSize, vocab_size: int, maxlen: int, name: str) -> keras.Model:
    """A fresh, untrained classifier of the size's family; its weights depend on Keras' global seed."""
    if isinstance(size, NgramSize):
        return build_ngram(size, vocab_size, maxlen, name)
    if isinstance(size, ConvSize):
        return build_conv(size, vocab_size, maxlen, name)
    return build_recurrent(size, vocab_size, maxlen, name)


def build_recurrent(size: RecurrentSize, vocab_size: int, maxlen: int, name: str) -> keras.Model:
    """Embedding -> BiLSTM -> BiGRU -> Dense(2), the notebook's model."""
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, size.embedding_dim, name="embedding")(inputs)
    if size.embedding_dropout > 0:
        x = layers.SpatialDropout1D(size.embedding_dropout, name="embedding_dropout")(x)
    x = layers.Bidirectional(layers.LSTM(size.lstm_units, return_sequences=True), name="bilstm")(x)
    x = layers.Bidirectional(layers.GRU(size.gru_units), name="bigru")(x)
    if size.dropout > 0:
        x = layers.Dropout(size.dropout, name="dropout")(x)
    outputs = layers.Dense(2, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_classifier(model: keras.Model, learning_rate: float, jit_compile: bool | str = "auto",
                       optimizer: str = "adam") -> keras.Model:
    """Labels-only training and every evaluation: cross-entropy on logits plus accuracy.

    ``optimizer`` names one of :data:`kdcore.engine.optimizers.OPTIMIZER_NAMES`; one that XLA cannot
    compile turns ``jit_compile`` off rather than failing at the first step.
    """
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile if compilable(optimizer) else False,
    )
    return model
