"""The classifier: its parameter count equals param_count's, which needs no TensorFlow."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kdcore.config import NOTEBOOK_STUDENT, NOTEBOOK_TEACHER, TINY, RecurrentSize, param_count
from kdcore.engine.models import build_classifier, compile_classifier

SIZES = [
    pytest.param(NOTEBOOK_TEACHER, 20000, id="notebook-teacher"),
    pytest.param(NOTEBOOK_STUDENT, 20000, id="notebook-student"),
    pytest.param(TINY, 200, id="tiny"),
    pytest.param(RecurrentSize(embedding_dim=3, lstm_units=5, gru_units=7), 101, id="odd-3-5-7"),
    pytest.param(RecurrentSize(embedding_dim=1, lstm_units=1, gru_units=1), 4, id="smallest"),
    pytest.param(RecurrentSize(embedding_dim=17, lstm_units=9, gru_units=2, embedding_dropout=0.3, dropout=0.5), 1234,
                 id="with-dropouts"),
    pytest.param(RecurrentSize(embedding_dim=32, lstm_units=48, gru_units=16), 5003, id="wide-lstm"),
]


@pytest.mark.parametrize("size, vocab_size", SIZES)
def test_param_count(size: RecurrentSize, vocab_size: int):
    # given: the Keras model of that size
    model = build_classifier(size, vocab_size=vocab_size, maxlen=20, name="m")

    # when
    expected = model.count_params()

    # then
    assert param_count(size, vocab_size) == expected, f"param_count equals Keras' count ({expected:,})"


def test_param_count__notebook_models():
    # given / when: the notebook's models as Keras counts them
    teacher = build_classifier(NOTEBOOK_TEACHER, vocab_size=20000, maxlen=200, name="teacher").count_params()
    student = build_classifier(NOTEBOOK_STUDENT, vocab_size=20000, maxlen=200, name="student").count_params()

    # then: the numbers the notebook prints
    assert teacher == 2_857_474, f"notebook teacher has 2,857,474 parameters, got {teacher:,}"
    assert student == 1_323_778, f"notebook student has 1,323,778 parameters, got {student:,}"


def test_param_count__dropouts_add_no_parameters():
    # given
    plain = RecurrentSize(embedding_dim=8, lstm_units=4, gru_units=4)
    dropped = plain.model_copy(update={"embedding_dropout": 0.2, "dropout": 0.4})

    # when / then
    assert param_count(dropped, 300) == param_count(plain, 300), "dropout layers have no weights"


def test_build_classifier():
    # given
    size = RecurrentSize(embedding_dim=8, lstm_units=4, gru_units=6)

    # when
    model = build_classifier(size, vocab_size=50, maxlen=12, name="probe")
    logits = model(np.zeros((3, 12), dtype="int32"))

    # then
    assert model.name == "probe", "the model carries the given name"
    assert tuple(model.input_shape) == (None, 12), f"input is maxlen tokens, got {model.input_shape}"
    assert tuple(logits.shape) == (3, 2), f"two logits per review, got {tuple(logits.shape)}"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32", f"logits are float32, got {logits.dtype}"
    names = [layer.name for layer in model.layers]
    assert "embedding_dropout" not in names and "dropout" not in names, f"no dropout layers at 0: {names}"


def test_build_classifier__dropout_layers():
    # given
    size = RecurrentSize(embedding_dim=8, lstm_units=4, gru_units=4, embedding_dropout=0.1, dropout=0.2)

    # when
    model = build_classifier(size, vocab_size=50, maxlen=12, name="probe")

    # then
    layers = {layer.name: layer for layer in model.layers}
    assert isinstance(layers.get("embedding_dropout"), keras.layers.SpatialDropout1D), "spatial dropout added"
    assert isinstance(layers.get("dropout"), keras.layers.Dropout), "dropout before the classifier added"
    assert layers["embedding_dropout"].rate == pytest.approx(0.1), "embedding dropout rate from the size"
    assert layers["dropout"].rate == pytest.approx(0.2), "dropout rate from the size"


def test_build_classifier__logits_float32_under_mixed_precision():
    # given
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        # when
        model = build_classifier(TINY, vocab_size=50, maxlen=8, name="mixed")
    finally:
        keras.mixed_precision.set_dtype_policy(previous)

    # then
    assert model.get_layer("logits").dtype_policy.compute_dtype == "float32", "logits computed in float32"
    assert model.get_layer("bigru").dtype_policy.compute_dtype == "bfloat16", "the rest follows the policy"


def test_compile_classifier():
    # given
    model = build_classifier(TINY, vocab_size=50, maxlen=8, name="c")

    # when
    compile_classifier(model, learning_rate=0.005, jit_compile=False)
    result = model.evaluate(np.ones((4, 8), dtype="int32"), np.array([0, 1, 0, 1]), verbose=0, return_dict=True)

    # then
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.005), "Adam's rate"
    assert set(result) == {"loss", "accuracy"}, f"loss and accuracy reported, got {sorted(result)}"
    assert result["loss"] == pytest.approx(np.log(2), abs=0.1), "an untrained model's cross-entropy is near ln 2"
