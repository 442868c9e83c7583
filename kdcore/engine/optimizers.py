"""The optimizers an arm can train with: Keras' Adam, and an Adam that updates only the touched rows.

Why a second Adam: the n-gram teacher's hashed-bigram table has 16.8 M weights, and a batch of
32 reviews touches a few thousand of its rows. Keras' Adam updates every row at every step (its
moments decay even where the gradient is zero), and TensorFlow copies the whole table to do it
(``bench/results/ngram_step.md``: a step with the default table costs 7.6x one with 4,096
rows). Updating only the rows a batch touched ("lazy" Adam, as TensorFlow Addons' ``LazyAdam``)
trained the default n-gram teacher in 50 s per epoch instead of 124, to 90.08% test accuracy
instead of 89.95% (``bench/results/ngram_teacher.md``). It is a different optimizer, not a
faster Adam: a row's moments stand still between the batches that touch it, so it is a field
of its own (``train.teacher_optimizer``) and part of the teacher's cache key.

Only TensorFlow hands an embedding's gradient over as rows (``tf.IndexedSlices``); on JAX
every gradient is dense, so ``LazyAdam`` does exactly what Adam does there (the teacher's cache
key names the optimizer asked for, not the backend: a JAX run keyed ``lazy_adam`` trains with
Adam's update). A row that a batch uses several times gets the sum of its gradients before the
square, as a dense gradient does; Keras' own Adam squares each occurrence of the row
separately when the gradient comes as rows (``ops.square`` of ``IndexedSlices``), so its second
moment for such a row differs from dense Adam's.
"""

from __future__ import annotations

from typing import Any

import keras

OPTIMIZER_NAMES = ("adam", "lazy_adam")


@keras.saving.register_keras_serializable(package="kdcore")
class LazyAdam(keras.optimizers.Adam):
    """Adam whose update of a sparse (row) gradient reads and writes only those rows.

    Same hyper-parameters and variables as Adam, so checkpoints of either load into the
    other. Dense gradients (every layer but an embedding, and everything on JAX) take Adam's
    own update.
    """

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if keras.backend.backend() != "tensorflow" or self.amsgrad:  # AMSGrad's running maximum: Adam's own
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf  # only on the TensorFlow backend

        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        b1, b2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = tf.cast(learning_rate, dtype) * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
        rows, where = tf.unique(gradient.indices)  # a row can appear many times in one batch
        g = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), where, tf.shape(rows)[0])
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        # Gather from the resource variable, not a read of the whole tensor: a live full read
        # makes TensorFlow copy the table before the in-place row update.
        m_rows = tf.gather(_tf_variable(m), rows) * b1 + g * (1 - b1)
        v_rows = tf.gather(_tf_variable(v), rows) * b2 + tf.square(g) * (1 - b2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(m_rows * alpha / (tf.sqrt(v_rows) + self.epsilon), rows))


def _tf_variable(variable: Any) -> Any:
    return variable.value if isinstance(variable, keras.Variable) else variable


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer by its config name (``train.teacher_optimizer``)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "lazy_adam":
        return LazyAdam(learning_rate)
    raise ValueError(f"optimizer: {name!r} is not one of {', '.join(OPTIMIZER_NAMES)}")


def compilable(name: str) -> bool:
    """Whether XLA can compile a step with this optimizer (``tf.unique`` has no XLA kernel)."""
    return name != "lazy_adam" or keras.backend.backend() != "tensorflow"
