"""The notebook's model, Embedding -> BiLSTM(return_sequences) -> BiGRU -> Dense(K logits): the default student.

The recurrent layers keep Keras' defaults (tanh, sigmoid, no recurrent dropout, no unroll,
GRU reset_after) so that on a GPU they run on cuDNN; regularisation is spatial dropout after
the embedding and dropout before the classifier, which leave that eligibility intact.
"""

from __future__ import annotations

import keras
from keras import layers

from kdcore.config import RecurrentSize


def build_recurrent(size: RecurrentSize, vocab_size: int, maxlen: int, name: str, num_classes: int = 2,
                    mask_padding: bool = False) -> keras.Model:
    """Embedding -> BiLSTM -> BiGRU -> Dense(K), the notebook's model.

    ``mask_padding`` (post-padded texts of a registered dataset): the embedding masks id 0, so
    the forward LSTM ends on the last word, not after a run of padding. IMDB's pre-padding needs
    no mask (the padding comes first and the notebook's model has none), and keeping it off
    there keeps the IMDB models what they were.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, size.embedding_dim, mask_zero=mask_padding, name="embedding")(inputs)
    if size.embedding_dropout > 0:
        x = layers.SpatialDropout1D(size.embedding_dropout, name="embedding_dropout")(x)
    x = layers.Bidirectional(layers.LSTM(size.lstm_units, return_sequences=True), name="bilstm")(x)
    x = layers.Bidirectional(layers.GRU(size.gru_units), name="bigru")(x)
    if size.dropout > 0:
        x = layers.Dropout(size.dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
