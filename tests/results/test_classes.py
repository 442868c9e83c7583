"""Per-class figures from predictions: hand-computed values, the edge cases, and scikit-learn where installed."""

from __future__ import annotations

import numpy as np
import pytest

from kdcore.results.classes import (
    MAX_CONFUSION_CLASSES,
    ClassScore,
    class_names_for,
    class_report,
    confusion_matrix,
    imbalanced,
    row_shares,
    scores_from_confusion,
)

#: Six test rows of three classes: two of class 0 right and one taken for 1, one of 1 right and one taken for 2.
LABELS = [0, 0, 0, 1, 1, 2]
PREDICTED = [0, 0, 1, 1, 2, 2]
NAMES = ("neg", "neu", "pos")


def test_confusion_matrix__rows_are_true_classes_columns_predicted() -> None:
    # given six rows of three classes; when they are counted
    matrix = confusion_matrix(LABELS, PREDICTED, 3)
    # then each row holds the true class's rows by predicted class
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]], "rows true, columns predicted"


def test_class_report__hand_computed_precision_recall_f1_and_macro_f1() -> None:
    # given six rows of three classes; when the report is made
    report = class_report(LABELS, PREDICTED, NAMES)
    # then precision is hits over predicted, recall hits over support, F1 their harmonic mean
    by_name = {c.name: c for c in report.per_class}
    assert by_name["neg"] == ClassScore("neg", precision=1.0, recall=pytest.approx(2 / 3), f1=pytest.approx(0.8),
                                        support=3), f"{by_name['neg']}"
    assert (by_name["neu"].precision, by_name["neu"].recall, by_name["neu"].f1) == (0.5, 0.5, 0.5)
    assert by_name["pos"].precision == 0.5 and by_name["pos"].recall == 1.0
    assert by_name["pos"].f1 == pytest.approx(2 / 3), "2 * 0.5 * 1 / 1.5"
    assert report.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3), "the unweighted mean of the three F1 scores"
    assert report.confusion == ((2, 1, 0), (0, 1, 1), (0, 0, 1)), "stored as whole counts"
    assert [c.support for c in report.per_class] == [3, 2, 1], "support: test rows of each class"


def test_class_report__a_class_never_predicted_or_absent_scores_zero_not_nan() -> None:
    # given a model that never predicts class 1 and a test set without class 2
    report = class_report([0, 0, 1, 1], [0, 0, 0, 0], ("a", "b", "c"))
    # then the ratios with nothing to divide by are 0, and macro-F1 still averages over all three classes
    a, b, c = report.per_class
    assert (b.precision, b.recall, b.f1) == (0.0, 0.0, 0.0), "nothing predicted as b"
    assert (c.precision, c.recall, c.f1, c.support) == (0.0, 0.0, 0.0, 0), "no row of c"
    assert a.precision == 0.5 and a.recall == 1.0, "half of what was called a is a"
    assert report.macro_f1 == pytest.approx(a.f1 / 3), "scikit-learn's labels=range(K), zero_division=0"
    assert all(np.isfinite([s.precision, s.recall, s.f1]).all() for s in report.per_class), "never NaN in JSON"


def test_class_report__all_right_is_one_everywhere() -> None:
    report = class_report([0, 1, 1, 2], [0, 1, 1, 2], NAMES)
    assert report.macro_f1 == 1.0 and all(c.f1 == 1.0 for c in report.per_class), "a perfect model"


def test_confusion_matrix__a_class_outside_the_named_ones_is_an_error() -> None:
    # given a prediction of class 3 where the data has three classes, then it is refused, not miscounted
    with pytest.raises(ValueError, match="prediction is outside the 3 classes"):
        confusion_matrix([0, 1, 2], [0, 1, 3], 3)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix([0, 1], [0], 3)


def test_class_report__no_confusion_matrix_above_the_limit() -> None:
    # given more classes than a matrix is stored for
    k = MAX_CONFUSION_CLASSES + 1
    report = class_report(list(range(k)), list(range(k)), [f"c{i}" for i in range(k)])
    # then the per-class figures are kept, the matrix is not
    assert report.confusion is None and len(report.per_class) == k, "10,000 cells at most"


def test_scores_from_confusion__agree_with_the_report() -> None:
    report = class_report(LABELS, PREDICTED, NAMES)
    assert scores_from_confusion(report.confusion, NAMES) == (report.per_class, report.macro_f1)


@pytest.mark.parametrize(("supports", "expected"), [([100, 49], True), ([100, 50], False), ([30, 30, 30], False),
                                                    ([900, 600, 120], True), ([5], False), ([0, 0], False)])
def test_imbalanced__the_smallest_class_under_half_the_largest(supports: list[int], expected: bool) -> None:
    assert imbalanced(supports) is expected, f"{supports}"


def test_row_shares__each_row_sums_to_one_and_an_empty_row_to_zero() -> None:
    shares = row_shares([[2, 1, 1], [0, 0, 0], [0, 3, 1]])
    assert shares[0].tolist() == [0.5, 0.25, 0.25] and shares[1].tolist() == [0, 0, 0]
    assert shares[2].sum() == pytest.approx(1.0)


def test_class_names_for__names_beyond_the_given_ones_are_indices() -> None:
    assert class_names_for(["neg", "pos"], 3) == ("neg", "pos", "2")
    assert class_names_for(["a", "b", "c"], 2) == ("a", "b")


def test_class_report__matches_scikit_learn() -> None:
    # given random predictions of five imbalanced classes (scikit-learn is optional: skipped without it)
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=400, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    predicted = np.where(rng.random(400) < 0.6, labels, rng.integers(0, 5, size=400))
    report = class_report(labels, predicted, [str(i) for i in range(5)])
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=list(range(5)), zero_division=0)
    assert [c.precision for c in report.per_class] == pytest.approx(precision.tolist())
    assert [c.recall for c in report.per_class] == pytest.approx(recall.tolist())
    assert [c.f1 for c in report.per_class] == pytest.approx(f1.tolist())
    assert [c.support for c in report.per_class] == support.tolist()
    assert report.macro_f1 == pytest.approx(metrics.f1_score(labels, predicted, labels=list(range(5)),
                                                             average="macro", zero_division=0))
    assert [list(r) for r in report.confusion] == metrics.confusion_matrix(labels, predicted,
                                                                          labels=list(range(5))).tolist()
