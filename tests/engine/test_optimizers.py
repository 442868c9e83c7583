"""LazyAdam: Adam on the rows a batch touched, Adam everywhere else; and how an arm picks it."""

from __future__ import annotations

from typing import get_args

import keras
import numpy as np
import pytest

from kdcore.config import (
    FAMILY_RECIPES,
    SIZE_PRESETS,
    ConfigError,
    RunConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    stored_config,
)
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.optimizers import OPTIMIZER_NAMES, LazyAdam, make_optimizer

VOCAB, LENGTH = 30, 4
FIRST_ROWS, SECOND_ROWS, NEVER = [1, 2, 3], [4, 5, 6], [7, 8, 9]


def _steps(optimizer: keras.optimizers.Optimizer, grads: list[tuple[list[int], np.ndarray]], dense: bool) -> list:
    """A 10x2 table after each row gradient (indices, values), given as rows or as the dense sum."""
    import tensorflow as tf

    table = keras.Variable(np.arange(20, dtype="float32").reshape(10, 2) / 10)
    optimizer.build([table])
    out = []
    for indices, values in grads:
        g = tf.IndexedSlices(tf.constant(values), tf.constant(indices), tf.constant([10, 2]))
        optimizer.apply_gradients([(tf.convert_to_tensor(g) if dense else g, table)])
        out.append(keras.ops.convert_to_numpy(table))
    return out


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="row gradients exist on TensorFlow only")
def test_lazy_adam__is_adam_on_the_touched_rows_and_leaves_the_others():
    # given: row gradients with a repeated row (as a batch that uses a word twice gives), then other rows
    grads = [([1, 3, 1], np.array([[1.0, 2.0], [3.0, -4.0], [1.0, -1.0]], "float32")),
             ([4, 4], np.array([[0.5, 0.5], [0.25, -1.0]], "float32")),
             ([4, 2], np.array([[-2.0, 0.5], [1.0, 1.0]], "float32"))]

    # when: LazyAdam takes them as rows, Keras' Adam as the dense gradient they sum to
    lazy_one, lazy_two, lazy_three = _steps(LazyAdam(0.1), grads, dense=False)
    adam_one, adam_two, adam_three = _steps(keras.optimizers.Adam(0.1), grads, dense=True)

    # then: the first step is Adam's everywhere (Adam moves no untouched row while its moments are 0),
    # a repeated row included: its gradients are summed before the square
    np.testing.assert_allclose(lazy_one, adam_one, atol=1e-5)
    # and at the second, the rows it touches take Adam's step while the others stand still
    np.testing.assert_allclose(lazy_two[4], adam_two[4], atol=1e-5)
    np.testing.assert_array_equal(lazy_two[[0, 1, 2, 3, 5]], lazy_one[[0, 1, 2, 3, 5]])
    assert not np.allclose(adam_two[[1, 3]], adam_one[[1, 3]]), "Adam's momentum moves rows 1 and 3 again"
    # and a row touched at consecutive steps (moments no longer zero) still takes exactly Adam's step
    np.testing.assert_allclose(lazy_three[4], adam_three[4], atol=1e-5)
    assert not np.allclose(lazy_three[4], lazy_two[4])


def _fit_two_batches(optimizer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tiny n-gram teacher's unigram table at start, after a batch of rows 1-3, after one of rows 4-6."""
    keras.utils.set_random_seed(0)
    model = build_classifier(SIZE_PRESETS["tiny-ngram"], VOCAB, LENGTH, "t")
    compile_classifier(model, 0.1, jit_compile=False, optimizer=optimizer)
    table = model.get_layer("unigram_embedding")
    tables = [np.array(table.get_weights()[0])]
    for r in (FIRST_ROWS, SECOND_ROWS):
        x = np.array([[r[0], r[1], r[2], r[0]], [r[2], r[1], r[0], r[1]]], dtype="int32")
        model.fit(x, np.array([0, 1]), batch_size=2, epochs=1, verbose=0, shuffle=False)
        tables.append(np.array(table.get_weights()[0]))
    return tables[0], tables[1], tables[2]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="row gradients exist on TensorFlow only")
def test_lazy_adam__fit_hands_it_the_embedding_rows():
    # given / when: two batches through fit, on different words
    start, one, two = _fit_two_batches("lazy_adam")
    _, adam_one, adam_two = _fit_two_batches("adam")

    # then: each batch moves its own words' rows only; Adam keeps moving the first batch's
    assert not np.allclose(one[FIRST_ROWS], start[FIRST_ROWS]) and not np.allclose(two[SECOND_ROWS], one[SECOND_ROWS])
    np.testing.assert_array_equal(two[FIRST_ROWS], one[FIRST_ROWS])
    np.testing.assert_array_equal(two[NEVER], start[NEVER])
    assert not np.allclose(adam_two[FIRST_ROWS], adam_one[FIRST_ROWS]), "Keras' Adam updates every row"


def test_lazy_adam__is_an_adam_with_the_same_variables():
    # given / when
    lazy, adam = make_optimizer("lazy_adam", 0.01), make_optimizer("adam", 0.01)

    # then: checkpoints (which hold the optimizer's variables) load into either
    assert isinstance(lazy, LazyAdam) and isinstance(lazy, keras.optimizers.Adam)
    assert type(adam) is keras.optimizers.Adam
    assert keras.saving.get_registered_object("kdcore>LazyAdam") is LazyAdam, "registered for deserialization"
    with pytest.raises(ValueError, match="'sgd' is not one of adam, lazy_adam"):
        make_optimizer("sgd", 0.01)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="row gradients exist on TensorFlow only")
def test_lazy_adam__amsgrad_takes_adams_update():
    # AMSGrad keeps a running maximum the row update does not: that variant stays Keras' own
    grads = [([1, 1], np.array([[1.0, -2.0], [1.0, 1.0]], "float32")), ([2], np.array([[0.5, 0.5]], "float32"))]
    lazy = _steps(LazyAdam(0.1, amsgrad=True), grads, dense=False)
    adam = _steps(keras.optimizers.Adam(0.1, amsgrad=True), grads, dense=False)
    np.testing.assert_array_equal(lazy[-1], adam[-1])


def test_optimizer_names__are_the_configs_choices():
    assert OPTIMIZER_NAMES == get_args(TrainConfig.model_fields["teacher_optimizer"].annotation)


def test_compile_classifier__lazy_adam_turns_xla_off_on_tensorflow():
    model = build_classifier(SIZE_PRESETS["tiny-ngram"], VOCAB, LENGTH, "t")
    compile_classifier(model, 0.01, jit_compile=True, optimizer="lazy_adam")
    assert isinstance(model.optimizer, LazyAdam)
    if keras.backend.backend() == "tensorflow":
        assert model.jit_compile is False, "tf.unique has no XLA kernel"


def test_config__teacher_optimizer_follows_the_family_recipe():
    ngram = apply_overrides(RunConfig(), ["teacher=ngram"])
    assert ngram.train.teacher_optimizer == FAMILY_RECIPES["ngram"]["train.teacher_optimizer"] == "lazy_adam"
    assert apply_overrides(ngram, ["teacher.family=recurrent"]).train.teacher_optimizer == "adam", "back to Adam"
    mine = apply_overrides(RunConfig(), ["train.teacher_optimizer=adam", "teacher=ngram"])
    assert mine.train.teacher_optimizer == "adam", "a value the user set stays"
    with pytest.raises(ConfigError, match="train.teacher_optimizer: Input should be 'adam' or 'lazy_adam'"):
        apply_overrides(RunConfig(), ["train.teacher_optimizer=sgd"])


def test_keys__teacher_optimizer_is_the_teachers_not_the_scratch_students():
    base = apply_overrides(RunConfig(), ["teacher=ngram"])
    adam = apply_overrides(base, ["train.teacher_optimizer=adam"])
    assert base.teacher_key() != adam.teacher_key(), "another optimizer trains another teacher"
    assert base.scratch_key(0) == adam.scratch_key(0), "the scratch student does not train with it"
    recurrent = RunConfig()
    assert apply_overrides(recurrent, ["train.teacher_optimizer=adam"]).teacher_key() == recurrent.teacher_key()


def test_stored_config__fields_it_predates_keep_their_old_meaning():
    # given an n-gram run stored before teacher_view and teacher_optimizer existed (complete otherwise)
    old = apply_overrides(RunConfig(), ["teacher=ngram"]).model_dump()
    for section, name in (("distill", "teacher_view"), ("train", "teacher_optimizer"), ("train", "teacher_batch_size"),
                          ("distill", "augment_window"), ("distill", "augment_mask")):
        del old[section][name]

    # when it is read back as a stored run, and as a new config that leaves them unset
    stored, fresh = stored_config(old), config_from_dict(old)

    # then the stored run is what it was (its teacher trained with Adam on its own view), and keeps its cache key
    assert (stored.train.teacher_optimizer, stored.distill.teacher_view) == ("adam", "own")
    assert stored.teacher_key() != fresh.teacher_key(), "a resumed old run never lands in the LazyAdam teacher's cache"
    assert (fresh.train.teacher_optimizer, fresh.distill.teacher_view) == ("lazy_adam", "student"), "a new one: recipe"
    whole = apply_overrides(RunConfig(), ["teacher=ngram"])
    assert stored_config(whole.model_dump()) == whole, "a config stored with every field reads back as it was"
