"""The notebook's training procedure, ported to Keras 3 as faithfully as it can run, as a speed baseline.

Why a port and not the notebook itself: its Distiller is Keras 2 code (``compiled_metrics``)
and swaps teacher and student in ``__init__``, so as written it would train the teacher
further instead of distilling. Kept as in the notebook: a ``train_step`` with
``tf.GradientTape`` that runs the teacher on every batch, the loss
``alpha * CE(y, s) + (1 - alpha) * KLDivergence(softmax(t/T), softmax(s/T))`` without T^2,
alpha 0.1, T 10, the notebook's model sizes, ``fit(x, y, epochs=...)`` with Keras' defaults
(batch 32, shuffle, no validation), ``evaluate`` with its default batch 32, and Keras'
default ``jit_compile="auto"`` (which Keras resolves to off on a CPU-only machine). Changed:
teacher and student are the right way round, and the accuracy metric is one the Distiller
owns (Keras 3 has no ``compiled_metrics.update_state``). The scratch student is a
``clone_model`` of the student made before distillation, as in the notebook (so it starts
from different initial weights than the distilled one).

Every phase is timed with ``time.perf_counter``; :func:`run_baseline` returns the figures.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

ALPHA = 0.1
TEMPERATURE = 10.0
TEACHER_SIZE = (128, 64, 128)  # embedding, LSTM units, GRU units: the notebook's teacher
STUDENT_SIZE = (64, 32, 32)  # ... and its student


def build(vocab_size: int, maxlen: int, size: tuple[int, int, int], name: str) -> keras.Model:
    """The notebook's classifier: Embedding -> BiLSTM(return_sequences) -> BiGRU -> Dense(2)."""
    embedding, lstm, gru = size
    inputs = keras.Input(shape=(maxlen,), dtype="int32")
    x = layers.Embedding(vocab_size, embedding)(inputs)
    x = layers.Bidirectional(layers.LSTM(lstm, return_sequences=True))(x)
    x = layers.Bidirectional(layers.GRU(gru))(x)
    outputs = layers.Dense(2)(x)
    return keras.Model(inputs, outputs, name=name)


def compile_plain(model: keras.Model) -> keras.Model:
    """As in the notebook: Adam, cross-entropy on logits, sparse categorical accuracy."""
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


class NotebookDistiller(keras.Model):
    """The notebook's Distiller with the roles corrected; the teacher runs on every step."""

    def __init__(self, student: keras.Model, teacher: keras.Model):
        super().__init__()
        self.teacher = teacher  # the notebook assigned these the other way round
        self.student = student

    def compile(self, optimizer: keras.optimizers.Optimizer, student_loss_fn: Any, distillation_loss_fn: Any,
                alpha: float = ALPHA, temperature: float = TEMPERATURE, **kwargs: Any) -> None:
        super().compile(optimizer=optimizer, **kwargs)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature
        self.accuracy = keras.metrics.SparseCategoricalAccuracy()

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.accuracy]

    def call(self, x: Any, training: bool = False) -> Any:
        return self.student(x, training=training)

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y = data
        teacher_predictions = self.teacher(x, training=False)
        with tf.GradientTape() as tape:
            student_predictions = self.student(x, training=True)
            student_loss = self.student_loss_fn(y, student_predictions)
            distillation_loss = self.distillation_loss_fn(
                tf.nn.softmax(teacher_predictions / self.temperature, axis=1),
                tf.nn.softmax(student_predictions / self.temperature, axis=1),
            )
            loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        trainable_vars = self.student.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.accuracy.update_state(y, student_predictions)
        return {"sparse_categorical_accuracy": self.accuracy.result(), "student_loss": student_loss,
                "distillation_loss": distillation_loss}

    def test_step(self, data: Any) -> dict[str, Any]:
        x, y = data
        y_prediction = self.student(x, training=False)
        student_loss = self.student_loss_fn(y, y_prediction)
        self.accuracy.update_state(y, y_prediction)
        return {"sparse_categorical_accuracy": self.accuracy.result(), "student_loss": student_loss}


class StepTimer(keras.callbacks.Callback):
    """Samples/s over windows of at least ``interval`` seconds, as kdcore's ticks measure them."""

    def __init__(self, batch_size: int = 32, interval: float = 0.5):
        super().__init__()
        self.batch_size, self.interval = batch_size, interval
        self.rates: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started, self.batches = time.monotonic(), 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.batches += 1
        now = time.monotonic()
        if now - self.started >= self.interval:
            self.rates.append(self.batches * self.batch_size / (now - self.started))
            self.started, self.batches = now, 0


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _steady(rates: list[float]) -> float | None:
    """Median windowed rate after the first window (which holds graph tracing)."""
    return float(np.median(rates[1:])) if len(rates) > 1 else None


def run_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                 epochs: int, vocab_size: int, maxlen: int, seed: int = 0) -> dict[str, Any]:
    """Teacher fit + evaluate, distillation fit + evaluate, scratch fit + evaluate; times and accuracies."""
    keras.utils.set_random_seed(seed)
    teacher = compile_plain(build(vocab_size, maxlen, TEACHER_SIZE, "teacher"))
    student = build(vocab_size, maxlen, STUDENT_SIZE, "student")
    student_scratch = keras.models.clone_model(student)
    n = len(y_train)
    phases: dict[str, float] = {}
    steady: dict[str, float | None] = {}
    accuracy: dict[str, float] = {}

    timer = StepTimer()
    _, phases["teacher_fit"] = _timed(lambda: teacher.fit(x_train, y_train, epochs=epochs, verbose=0,
                                                          callbacks=[timer]))
    steady["teacher_fit"] = _steady(timer.rates)
    result, eval_teacher = _timed(lambda: teacher.evaluate(x_test, y_test, verbose=0, return_dict=True))
    accuracy["teacher"] = float(result["sparse_categorical_accuracy"])

    distiller = NotebookDistiller(student=student, teacher=teacher)
    distiller.compile(optimizer=keras.optimizers.Adam(),
                      student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      distillation_loss_fn=keras.losses.KLDivergence(), alpha=ALPHA, temperature=TEMPERATURE)
    timer = StepTimer()
    _, phases["distill_fit"] = _timed(lambda: distiller.fit(x_train, y_train, epochs=epochs, verbose=0,
                                                            callbacks=[timer]))
    steady["distill_fit"] = _steady(timer.rates)
    result, eval_student = _timed(lambda: distiller.evaluate(x_test, y_test, verbose=0, return_dict=True))
    accuracy["student"] = float(result["sparse_categorical_accuracy"])

    compile_plain(student_scratch)
    timer = StepTimer()
    _, phases["scratch_fit"] = _timed(lambda: student_scratch.fit(x_train, y_train, epochs=epochs, verbose=0,
                                                                  callbacks=[timer]))
    steady["scratch_fit"] = _steady(timer.rates)
    result, eval_scratch = _timed(lambda: student_scratch.evaluate(x_test, y_test, verbose=0, return_dict=True))
    accuracy["scratch"] = float(result["sparse_categorical_accuracy"])

    phases["teacher_logits"] = 0.0  # none: the teacher runs inside every distillation step
    phases["evaluation"] = eval_teacher + eval_student + eval_scratch
    return {
        "phases": phases,
        "steady_samples_per_s": steady,
        "samples": {"teacher_fit": n * epochs, "distill_fit": n * epochs, "scratch_fit": n * epochs,
                    "teacher_logits": 0, "evaluation": 3 * len(y_test)},
        "test_accuracy": accuracy,
        "jit_compile": {"teacher": teacher.jit_compile, "distiller": distiller.jit_compile,
                        "scratch": student_scratch.jit_compile},
    }
