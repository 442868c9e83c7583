"""Classifiers from their sizes: the family's builder makes the model, ``compile_classifier`` readies it to train.

Which builder belongs to which family is the registry's to say (``kdcore.config.FAMILIES``);
the builders themselves live in :mod:`kdcore.engine.families`, one module per family. Every
model ends in a float32 ``logits`` layer even under mixed precision, so softmax and the loss
are float32 too.
"""

from __future__ import annotations

import keras

from kdcore.config import ModelSize, family_of
from kdcore.engine.families import builder
from kdcore.engine.optimizers import compilable, make_optimizer


def build_classifier(size: ModelSize, vocab_size: int, maxlen: int, name: str, num_classes: int = 2,
                     mask_padding: bool = False) -> keras.Model:
    """A fresh, untrained classifier of the size's family with ``num_classes`` logits.

    Its weights depend on Keras' global seed. ``mask_padding``: the data is post-padded (a
    registered dataset), so families whose layers take a mask ignore the trailing zeros.
    """
    return builder(family_of(size))(size, vocab_size, maxlen, name, num_classes, mask_padding)


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
