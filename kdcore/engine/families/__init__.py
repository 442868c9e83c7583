"""One builder per model family, each in its own module; the config's registry names them.

A builder is ``(size, vocab_size, maxlen, name, num_classes=2, mask_padding=False) -> keras.Model``: a
fresh, untrained classifier whose weights depend on Keras' global seed, with a float32 ``logits`` layer
of ``num_classes`` units; ``mask_padding`` asks it to ignore id 0 where its layers can (post-padded texts). Its
registry entry (``kdcore.config.FAMILIES``) gives its dotted name, ``"kdcore.engine.families.ngram:build_ngram"``,
so the config layer can describe a family without importing Keras, and only the builder of a
family that is built gets imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from kdcore.config import FAMILIES

if TYPE_CHECKING:
    import keras

Builder = Callable[..., "keras.Model"]


@cache
def builder(family: str) -> Builder:
    """The build function of a registered family, imported from the dotted name its entry gives."""
    module, _, function = FAMILIES[family].builder.partition(":")
    return getattr(importlib.import_module(module), function)
