"""The distillation loss and the Keras 3 Distiller that trains a student against a frozen teacher.

Why not ``keras.distillation.Distiller`` (Keras 3.15)? It always runs the teacher on every
step and always applies T^2 to its KL term. Without input augmentation our teacher's logits
are fixed, so they are computed once and fed with the batches, which removes the teacher's
forward pass from every step (with an augmented transfer set, ``kdcore.engine.augment``, the teacher
does run on every step, on the altered tokens); and the T^2 factor must be switchable for
parity with the notebook. The shape follows Keras' own class: settings validated and the teacher
frozen in ``__init__``, ``call`` runs the student, ``compute_loss`` holds the formula, each
loss term tracked with ``keras.metrics.Mean``.

Unlike the notebook, teacher and student are never swapped, and the reported ``loss`` is
the total that the optimizer minimises (Keras' own loss tracker), next to ``hard_loss``
and ``distill_loss``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

TOKENS = "tokens"
TEACHER_LOGITS = "teacher_logits"
TEACHER_TOKENS = "teacher_tokens"  # what the teacher reads of the batch: its own view, or the altered tokens padded


class DistillationLoss:
    """``alpha * CE(y, s) + (1 - alpha) * f * KL(softmax(t/T) || softmax(s/T))``, f = T^2 or 1.

    The T^2 factor keeps the soft term's gradients at the scale of the hard term's as T
    grows (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network",
    section 2). Both KL terms use log-softmax, so nothing is clipped.
    """

    def __init__(self, alpha: float, temperature: float, scale_t2: bool = True):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be between 0.0 and 1.0, got {alpha}")
        if not temperature > 0.0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.scale_t2 = bool(scale_t2)

    @property
    def soft_factor(self) -> float:
        return self.temperature**2 if self.scale_t2 else 1.0

    def hard(self, y_true: Any, student_logits: Any) -> Any:
        """Mean cross-entropy of the student's logits against the labels."""
        losses = keras.losses.sparse_categorical_crossentropy(y_true, student_logits, from_logits=True)
        return ops.mean(losses)

    def soft(self, teacher_logits: Any, student_logits: Any) -> Any:
        """Mean KL(teacher || student) of the temperature-softened distributions (no T^2)."""
        t = ops.cast(teacher_logits, "float32") / self.temperature
        s = ops.cast(student_logits, "float32") / self.temperature
        log_p_t = ops.log_softmax(t, axis=-1)
        log_p_s = ops.log_softmax(s, axis=-1)
        return ops.mean(ops.sum(ops.exp(log_p_t) * (log_p_t - log_p_s), axis=-1))

    def __call__(self, y_true: Any, student_logits: Any, teacher_logits: Any) -> tuple[Any, Any, Any]:
        """Return (total, hard, soft-with-factor) so each can be tracked separately."""
        hard = self.hard(y_true, student_logits)
        soft = self.soft(teacher_logits, student_logits) * self.soft_factor
        total = self.alpha * hard + (1.0 - self.alpha) * soft
        return total, hard, soft

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "temperature": self.temperature, "scale_t2": self.scale_t2}


class Distiller(keras.Model):
    """Trains ``student`` on labels and on a frozen teacher's logits.

    Two ways to get the teacher's logits, with the same loss: pass ``teacher`` and plain
    token batches (the teacher runs on every step; batches of ``{"tokens": x,
    "teacher_tokens": xt}`` when it reads something else: its own, longer view, or an
    augmented batch padded to its length), or pass ``teacher=None`` and
    batches of ``{"tokens": x, "teacher_logits": logits}`` computed once by :func:`teacher_logits`.
    Only the student's weights are trainable; saving the student (not this model) gives a
    file without the teacher inside.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model | None, loss: DistillationLoss,
                 name: str = "distiller", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if teacher is student:
            raise ValueError("teacher and student must be different models")
        self.student = student
        self.teacher = teacher
        if teacher is not None:
            teacher.trainable = False
        self.distillation_loss = loss
        self.hard_loss_tracker = keras.metrics.Mean(name="hard_loss")
        self.distill_loss_tracker = keras.metrics.Mean(name="distill_loss")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        tokens = inputs[TOKENS] if isinstance(inputs, dict) else inputs
        return self.student(tokens, training=training)

    def _teacher_logits(self, x: Any) -> Any:
        if isinstance(x, dict) and TEACHER_LOGITS in x:
            return ops.stop_gradient(x[TEACHER_LOGITS])
        if self.teacher is None:
            raise ValueError("Distiller without a teacher needs batches with 'teacher_logits'")
        if isinstance(x, dict):
            tokens = x.get(TEACHER_TOKENS, x[TOKENS])
        else:
            tokens = x
        return ops.stop_gradient(self.teacher(tokens, training=False))

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        if y_pred is None:
            y_pred = self(x, training=training)
        total, hard, soft = self.distillation_loss(y, y_pred, self._teacher_logits(x))
        self.hard_loss_tracker.update_state(hard)
        self.distill_loss_tracker.update_state(soft)
        return total

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "student": keras.saving.serialize_keras_object(self.student),
            "teacher": keras.saving.serialize_keras_object(self.teacher) if self.teacher is not None else None,
            "loss": self.distillation_loss.get_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Distiller:
        student = keras.saving.deserialize_keras_object(config["student"])
        teacher = keras.saving.deserialize_keras_object(config["teacher"]) if config["teacher"] else None
        return cls(student, teacher, DistillationLoss(**config["loss"]), name=config["name"])


def teacher_logits(teacher: keras.Model, x: Any, batch_size: int) -> Any:
    """The frozen teacher's float32 logits for every row of ``x``, in large batches."""
    return ops.convert_to_numpy(teacher.predict(x, batch_size=batch_size, verbose=0)).astype("float32")
