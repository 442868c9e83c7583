"""Per-class figures of one arm on the test set: precision, recall, F1, support, macro-F1 and the confusion matrix.

Why beside accuracy: on imbalanced classes (the tweets data: one class holds most posts) an arm
that always answers the common class scores a high accuracy and has learned nothing about the
others. Macro-F1, the unweighted mean of the per-class F1 scores, counts every class alike and
shows that; the confusion matrix shows which classes are mistaken for which.

The definitions are scikit-learn's with ``labels=range(K)`` and ``zero_division=0`` (a test
compares them when scikit-learn is installed): a class nothing was predicted as has precision
0, a class absent from the test set recall 0, and macro-F1 averages over all K classes. Pure
numpy: the engine computes them from the argmax predictions of its one test pass, and readers
never need scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Classes are imbalanced when the smallest test class has fewer rows than this share of the largest:
#: then accuracy alone flatters a model that favours the common classes, and the verdict names macro-F1 too.
IMBALANCE_RATIO = 0.5
#: A confusion matrix is stored for at most this many classes (10,000 cells); above it, it would dwarf the
#: summary and no heatmap could show it. Per-class scores and macro-F1 are stored for any number.
MAX_CONFUSION_CLASSES = 100


@dataclass(frozen=True)
class ClassScore:
    """One class's figures on the test set, fractions 0..1 (0 where the ratio has nothing to divide by)."""

    #: The class name, as the run's data names it (``summary.class_names``).
    name: str
    #: Of the test rows predicted as this class, the share that are.
    precision: float
    #: Of the test rows of this class, the share predicted as it.
    recall: float
    #: Harmonic mean of precision and recall.
    f1: float
    #: Test rows of this class.
    support: int

    @classmethod
    def from_dict(cls, data: Any) -> ClassScore | None:
        """Read one stored class; None when it is not a readable one (a damaged entry)."""
        if not isinstance(data, Mapping):
            return None
        numbers = [data.get(k) for k in ("precision", "recall", "f1", "support")]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            return None
        return cls(name=str(data.get("name", "")), precision=float(numbers[0]), recall=float(numbers[1]),
                   f1=float(numbers[2]), support=int(numbers[3]))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "precision": self.precision, "recall": self.recall, "f1": self.f1,
                "support": self.support}


@dataclass(frozen=True)
class ClassReport:
    """Everything per class that one arm's test pass gives."""

    per_class: tuple[ClassScore, ...]
    #: Unweighted mean of the per-class F1 scores.
    macro_f1: float
    #: Counts, rows the true class and columns the predicted one; None above :data:`MAX_CONFUSION_CLASSES`.
    confusion: tuple[tuple[int, ...], ...] | None


def class_names_for(names: Sequence[str], num_classes: int) -> tuple[str, ...]:
    """``names`` for ``num_classes`` classes: the given ones, then the index as text for any beyond them."""
    return tuple(str(n) for n in names[:num_classes]) + tuple(str(i) for i in range(len(names), num_classes))


def confusion_matrix(labels: Any, predicted: Any, num_classes: int) -> np.ndarray:
    """``num_classes`` x ``num_classes`` counts: row = true class, column = predicted class."""
    y, p = np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if y.shape != p.shape:
        raise ValueError(f"labels ({y.shape}) and predictions ({p.shape}) differ in shape")
    for what, values in (("label", y), ("prediction", p)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"a {what} is outside the {num_classes} classes 0..{num_classes - 1}")
    return np.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(matrix: Any, names: Sequence[str]) -> tuple[tuple[ClassScore, ...], float]:
    """Per-class scores and macro-F1 from a confusion matrix (what a stored matrix can be checked against)."""
    m = np.asarray(matrix, dtype=np.float64)
    hits, predicted, support = np.diag(m), m.sum(axis=0), m.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(hits), where=total > 0)
    scores = tuple(ClassScore(name=str(name), precision=float(pr), recall=float(rc), f1=float(f), support=int(s))
                   for name, pr, rc, f, s in zip(names, precision, recall, f1, support))
    return scores, float(f1.mean()) if len(f1) else 0.0


def class_report(labels: Any, predicted: Any, names: Sequence[str]) -> ClassReport:
    """Per-class scores, macro-F1 and (up to :data:`MAX_CONFUSION_CLASSES` classes) the confusion matrix.

    ``names`` gives the classes in index order; labels or predictions beyond them are an error (the
    model's outputs and the data's classes must agree).
    """
    matrix = confusion_matrix(labels, predicted, len(names))
    per_class, macro = scores_from_confusion(matrix, names)
    stored = tuple(tuple(int(c) for c in row) for row in matrix) if len(names) <= MAX_CONFUSION_CLASSES else None
    return ClassReport(per_class=per_class, macro_f1=macro, confusion=stored)


def imbalanced(supports: Sequence[int]) -> bool:
    """Whether the smallest class has fewer test rows than :data:`IMBALANCE_RATIO` of the largest one's."""
    if len(supports) < 2 or max(supports) <= 0:
        return False
    return min(supports) < IMBALANCE_RATIO * max(supports)


def row_shares(matrix: Sequence[Sequence[int]]) -> np.ndarray:
    """Each row of a confusion matrix as shares of its true class (0 for a class with no rows): recall per cell."""
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
