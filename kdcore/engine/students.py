"""The distilled student and its scratch twin of each seed: a paired comparison.

Both start from the same initial weights (a function of the seed only) and, with an
augmented transfer set, see the same altered reviews in the same order; only the targets
differ (the teacher's soft ones against the labels). So the gain of the pair measures what
the teacher adds, and with ``distill.alpha=1`` the two would train identically.

The student may be of any registered family (``config.student.family``): ``build_classifier``
dispatches on it, and the Distiller takes any classifier with a ``logits`` output, so nothing
here depends on the family. A family that takes no padding mask (conv) ignores ``mask_padding``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kdcore.arms import arm_name
from kdcore.config import RunConfig, param_count
from kdcore.engine.augment import AugmentedBatches
from kdcore.engine.baselines import ScratchBaselines
from kdcore.engine.context import RunContext
from kdcore.engine.data import Splits
from kdcore.engine.distill import TEACHER_LOGITS, TOKENS, DistillationLoss, Distiller
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.teacher import Teacher
from kdcore.progress import phase_event

if TYPE_CHECKING:
    from kdcore.engine.augment import EpochBatches


class Students:
    """Trains (or resumes, or reuses) the student pair of every seed of one run."""

    def __init__(self, run: RunContext, teacher: Teacher):
        self.run = run
        self.teacher = teacher
        self.baselines = ScratchBaselines(run)

    def train_pair(self, seed_index: int, splits: Splits, logits: np.ndarray | None, teacher_splits: Splits) -> None:
        """The distilled student and its scratch twin, from the same initial weights."""
        c = self.run.config
        seed = c.train.seed + seed_index
        self.run.reporter.report(phase_event("student_models", arm_name("student", seed_index)))
        initial = initial_student_weights(c, seed, splits.num_classes)
        self._distilled(seed_index, seed, initial, splits, logits, teacher_splits)
        if c.train.train_scratch:
            self._scratch(seed_index, seed, initial, splits, teacher_splits)

    def _distilled(self, seed_index: int, seed: int, initial: list[np.ndarray], splits: Splits,
                   logits: np.ndarray | None, teacher_splits: Splits) -> None:
        c = self.run.config
        arm = arm_name("student", seed_index)
        checkpoint = self.run.checkpoint(arm)
        state = checkpoint.load()
        if not state.finished:
            student = self._fresh("student", initial, splits)
            teacher, x, batches = self._distilled_inputs(splits, teacher_splits, logits, seed)
            loss = DistillationLoss(c.distill.alpha, c.distill.temperature, c.distill.scale_t2)
            distiller = Distiller(student, teacher, loss)
            # the student's own optimizer does the training, so its checkpoints carry the real state for resume
            distiller.compile(optimizer=student.optimizer,
                              metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                              jit_compile=self.run.jit)
            state = self.run.train(arm, checkpoint, student, distiller, x, splits, c.train.epochs, seed, batches)
            self.run.finish(arm, student, state, checkpoint, splits, self._params(splits))
        self.run.record(arm, state)

    def _scratch(self, seed_index: int, seed: int, initial: list[np.ndarray], splits: Splits,
                 teacher_splits: Splits) -> None:
        c = self.run.config
        arm = arm_name("scratch", seed_index)
        checkpoint = self.run.checkpoint(arm)
        state = checkpoint.load()
        if not state.finished and not self.baselines.reuse(seed_index, arm, checkpoint):
            scratch = self._fresh("scratch", initial, splits)
            batches = self._augmented_batches(splits, teacher_splits, seed, None)
            state = self.run.train(arm, checkpoint, scratch, scratch, splits.x_train, splits, c.train.epochs, seed,
                                   batches)
            self.run.finish(arm, scratch, state, checkpoint, splits, self._params(splits))
        if arm not in self.baselines.reused:
            self.baselines.publish(seed_index, arm, checkpoint)  # also a resumed run's, if not offered yet
        self.run.record(arm, checkpoint.load())

    def _distilled_inputs(self, splits: Splits, teacher_splits: Splits, logits: np.ndarray | None,
                          seed: int) -> tuple[keras.Model | None, Any, EpochBatches | None]:
        """(teacher to run on every step, fixed inputs, batches made per epoch) of a distilled student.

        With fixed targets, the teacher's cached logits ride along with the tokens; with an
        augmented transfer set, the teacher labels each altered batch as it trains.
        """
        batches = self._augmented_batches(splits, teacher_splits, seed, self.run.config.data.teacher_length)
        if batches is None:
            assert logits is not None, "fixed targets are made whenever the students are not augmented"
            return None, {TOKENS: splits.x_train, TEACHER_LOGITS: logits}, None
        return self.teacher.model(), splits.x_train, batches

    def _augmented_batches(self, splits: Splits, teacher_splits: Splits, seed: int,
                           teacher_length: int | None) -> EpochBatches | None:
        """Per-epoch altered batches of one seed, or None without augmentation.

        The distilled student and its scratch twin get the same seed, hence the same altered
        reviews in the same order: with alpha 1 they would train identically.
        """
        c = self.run.config
        window, mask = c.augmentation()
        if not (window or mask):
            return None

        def batches(first_epoch: int) -> AugmentedBatches:
            return AugmentedBatches(splits.x_train, teacher_splits.x_train, splits.y_train, c.train.batch_size, seed,
                                    first_epoch, window, mask, teacher_length, splits.padding)

        return batches

    def _fresh(self, name: str, initial: list[np.ndarray], splits: Splits) -> keras.Model:
        c = self.run.config
        model = build_classifier(c.student, c.data.vocab_size, c.data.maxlen, name, splits.num_classes,
                                 mask_padding=splits.padding == "post")
        model.set_weights(initial)
        return compile_classifier(model, c.train.learning_rate, self.run.jit)

    def _params(self, splits: Splits) -> int:
        c = self.run.config
        return param_count(c.student, c.data.vocab_size, splits.num_classes)


def initial_student_weights(config: RunConfig, seed: int, num_classes: int = 2) -> list[np.ndarray]:
    """The weights both the distilled and the scratch student start from: a function of the seed (and K) only.

    A padding mask adds no weights, so the model built here needs only the number of classes.
    """
    keras.utils.set_random_seed(seed)
    return build_classifier(config.student, config.data.vocab_size, config.data.maxlen, "student",
                            num_classes).get_weights()
