"""K classes in every family, counted exactly without Keras; the recurrent family's mask for post-padded texts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kdcore.config import FAMILIES, NOTEBOOK_STUDENT, SIZE_PRESETS, TINY, param_count
from kdcore.config.families.family import Family
from kdcore.engine.families import builder
from kdcore.engine.models import build_classifier
from kdcore.engine.students import initial_student_weights
from kdcore.samples import tiny_config

SIZES = [SIZE_PRESETS[name] for name in ("tiny", "tiny-ngram", "tiny-conv")]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: s.family)
@pytest.mark.parametrize("num_classes", [2, 3, 7])
def test_build_classifier__num_classes_logits_counted_exactly(size, num_classes: int):
    # given a family's small model built for K classes
    model = build_classifier(size, 60, 12, "m", num_classes=num_classes)
    # then its logits have K units and the count without Keras equals Keras' count
    assert model.output_shape == (None, num_classes), f"{size.family}: {num_classes} logits"
    assert model.get_layer("logits").dtype == "float32", "logits stay float32"
    assert param_count(size, 60, num_classes) == model.count_params(), f"{size.family}: param_count with K"


@pytest.mark.parametrize("entry", list(FAMILIES.values()), ids=lambda f: f.name)
def test_family__builder_and_count_default_to_two_classes(entry: Family):
    size = entry.default_size if entry.name != "recurrent" else TINY
    model = builder(entry.name)(size, 40, 8, "m")
    assert model.output_shape == (None, 2), "without num_classes, two logits as before"
    assert entry.param_count(size, 40) == model.count_params() == param_count(size, 40, 2), "default K is 2"


def test_param_count__notebook_student_with_three_classes():
    # the Dense layer on the 2*gru BiGRU output: 3 more weights per feature and one more bias than with 2 classes
    two, three = param_count(NOTEBOOK_STUDENT, 20000), param_count(NOTEBOOK_STUDENT, 20000, 3)
    assert three - two == 2 * NOTEBOOK_STUDENT.gru_units + 1, "one more logit: 2*gru weights and a bias"


def test_build_classifier__recurrent_mask_ignores_trailing_padding():
    # given the recurrent family with a padding mask, at two lengths with the same weights
    keras.utils.set_random_seed(0)
    short = build_classifier(TINY, 30, 6, "short", num_classes=3, mask_padding=True)
    long = build_classifier(TINY, 30, 12, "long", num_classes=3, mask_padding=True)
    long.set_weights(short.get_weights())
    # when the same text is post-padded to either length
    tokens = np.array([[5, 9, 3, 0, 0, 0]], dtype=np.int32)
    padded = np.pad(tokens, ((0, 0), (0, 6)))
    # then the outputs agree: the forward LSTM ends on the last word, not after the padding
    np.testing.assert_allclose(short.predict(tokens, verbose=0), long.predict(padded, verbose=0), atol=1e-5,
                               err_msg="trailing zeros must not change a masked recurrent model's answer")


def test_build_classifier__recurrent_without_mask_sees_padding():
    # the control: without the mask the same comparison differs (what post padding would cost unmasked)
    keras.utils.set_random_seed(0)
    short = build_classifier(TINY, 30, 6, "short", num_classes=3)
    long = build_classifier(TINY, 30, 12, "long", num_classes=3)
    long.set_weights(short.get_weights())
    tokens = np.array([[5, 9, 3, 0, 0, 0]], dtype=np.int32)
    difference = np.abs(short.predict(tokens, verbose=0) - long.predict(np.pad(tokens, ((0, 0), (0, 6))), verbose=0))
    assert difference.max() > 1e-6, "unmasked, the padding runs through the recurrent layers"


def test_initial_student_weights__shaped_for_the_number_of_classes(tmp_path):
    config = tiny_config(tmp_path / "unused.npz")
    weights = initial_student_weights(config, 0, num_classes=3)
    assert weights[-1].shape == (3,), "the logits' bias has one entry per class"
    np.testing.assert_array_equal(initial_student_weights(config, 0, 3)[0], weights[0], err_msg="a function of seed")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: s.family)
def test_build_classifier__one_unknown_word_gives_finite_logits(size):
    # an empty text is vectorised as one OOV id (kdcore.engine.text.never_empty): every family answers it
    model = build_classifier(size, 30, 6, "m", num_classes=3, mask_padding=True)
    logits = model.predict(np.array([[1, 0, 0, 0, 0, 0]], dtype=np.int32), verbose=0)
    assert np.isfinite(logits).all(), f"{size.family}: finite logits for a text of one unknown word"
