"""A transfer set that is new every epoch: the student sees altered reviews and the teacher labels them.

Why: with fixed soft targets the distilled student sees the same 22,500 reviews each epoch
and overfits after two, like the scratch student, so the teacher can add little beyond
better-calibrated labels. Tang et al. 2019 ("Distilling Task-Specific Knowledge from BERT
into Simple Neural Networks", section 3) distil into a BiLSTM on an augmented transfer set:
words masked at random and parts of sentences, labelled by the teacher, whose label says how
much sentiment is left in the altered review where the true label can only repeat the whole
review's. The scratch student sees the same altered reviews with their true labels, so a
paired gain still measures the teacher and not the augmentation (which, measured on IMDB,
also helps a student alone). Here each review the student is shown is, with probability
``window``, a random stretch of ``maxlen`` tokens from the teacher's longer view of it
(instead of its last ``maxlen`` tokens), and then each word is replaced by the out-of-vocabulary
token with probability ``mask`` (for a registered dataset's post-padded texts, the stretch starts
anywhere a full window fits and the OOV id is ``TextVectorization``'s). The teacher reads exactly
those tokens (padded to its own length) on every step, so its targets match what the student saw.

Every batch is a pure function of the seed and its global step, never of how often Keras
asked for it: Keras reads a few batches ahead to learn their shapes and prefetches across
epoch ends, and a resumed arm must see the batches it would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kdcore.engine.data import OOV_CHAR, START_CHAR, Padding, repad
from kdcore.engine.distill import TEACHER_TOKENS, TOKENS

#: The out-of-vocabulary id a masked word becomes, and the ids below it that are never masked, by padding:
#: IMDB's (pre) keeps its start mark (1) and uses Keras' OOV (2); a TextVectorization (post) has no start
#: mark and its OOV is 1.
_MASKING = {"pre": (OOV_CHAR, START_CHAR), "post": (1, 0)}


def augment_rows(student_view: np.ndarray, teacher_view: np.ndarray, window: float, mask: float,
                 rng: np.random.Generator, padding: Padding = "pre") -> np.ndarray:
    """The student's altered tokens for some rows of both views (row ``i`` of each is the same review).

    ``teacher_view`` is padded as ``padding`` says and at least as wide as ``student_view``; a
    window is only drawn for a review that has more words in it than the student reads. The
    random draws are the same for either padding, so only where the words sit differs.
    """
    rows, width = student_view.shape
    wide = teacher_view.shape[1]
    out = student_view.copy()
    if window > 0.0 and wide > width:
        lengths = np.count_nonzero(teacher_view, axis=1)
        picked = (lengths > width) & (rng.random(rows) < window)
        for row in np.flatnonzero(picked):
            # the review's first word in the teacher's view, and the last start that keeps a full window
            first, last = (wide - lengths[row], wide - width) if padding == "pre" else (0, lengths[row] - width)
            start = int(rng.integers(first, last + 1))
            out[row] = teacher_view[row, start:start + width]
    if mask > 0.0:
        oov, kept = _MASKING[padding]
        hit = (rng.random(out.shape) < mask) & (out > kept)
        out[hit] = oov
    return out


class AugmentedBatches(keras.utils.PyDataset):
    """Batches ``({"tokens": x, "teacher_tokens": x padded to the teacher's length}, y)`` over epochs.

    With ``teacher_length=None`` the batches are ``(x, y)``: the scratch student's, which sees
    the same altered reviews with their true labels, so that its distilled twin's gain
    measures what the teacher adds, not what the augmentation does.

    An endless dataset: ``fit`` must get ``steps_per_epoch`` (then Keras keeps one iterator
    across epochs), and batch ``k`` counted from the start of ``first_epoch`` belongs to
    epoch ``first_epoch + k // steps``. Each epoch shuffles the rows with its own seed.
    """

    def __init__(self, student_view: np.ndarray, teacher_view: np.ndarray, labels: np.ndarray, batch_size: int,
                 seed: int, first_epoch: int, window: float, mask: float, teacher_length: int | None,
                 padding: Padding = "pre"):
        super().__init__()
        if len(student_view) != len(teacher_view) or len(student_view) != len(labels):
            raise ValueError("both views and the labels must have one row per review")
        self.student_view = student_view
        self.teacher_view = teacher_view
        self.labels = labels
        self.batch_size = batch_size
        self.seed = seed
        self.first_epoch = first_epoch
        self.window = window
        self.mask = mask
        self.teacher_length = teacher_length
        self.padding = padding
        self.steps = math.ceil(len(labels) / batch_size)
        self._order: tuple[int, np.ndarray] | None = None

    @property
    def num_batches(self) -> None:
        return None  # endless: one iterator serves every epoch of the fit

    def order(self, epoch: int) -> np.ndarray:
        """The rows of ``epoch`` in the order they are shown (cached: batches come in order)."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.labels)))
        return self._order[1]

    def batch(self, epoch: int, step: int) -> tuple[dict[str, np.ndarray] | np.ndarray, np.ndarray]:
        rows = self.order(epoch)[step * self.batch_size:(step + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, step, 1])
        tokens = augment_rows(self.student_view[rows], self.teacher_view[rows], self.window, self.mask, rng,
                              self.padding)
        if self.teacher_length is None:
            return tokens, self.labels[rows]
        return {TOKENS: tokens, TEACHER_TOKENS: repad(tokens, self.teacher_length, self.padding)}, self.labels[rows]

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray] | np.ndarray, np.ndarray]:
        epoch, step = divmod(index, self.steps)
        return self.batch(self.first_epoch + epoch, step)

    def fit_arguments(self, epochs: int) -> dict[str, Any]:
        """What ``fit`` needs beside this dataset to run the remaining epochs (the order is already shuffled)."""
        return {"steps_per_epoch": self.steps, "epochs": epochs, "initial_epoch": self.first_epoch, "shuffle": False}


#: An arm's augmented transfer set: the batches from a given first epoch on (a resumed arm starts later).
EpochBatches = Callable[[int], AugmentedBatches]
