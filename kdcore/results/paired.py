"""How sure a test-set figure is: the Wilson interval of an accuracy, and the paired test of two students.

Why these, and not the seed interval alone: every arm of a run is scored on the same test
reviews, and a test set of 200 reviews cannot tell 55% from 50%, whatever the seeds say (the
seeds share that test set). The distilled student and its scratch twin answer the *same*
reviews, so their difference is judged on the reviews where they disagree: McNemar's exact
test on those discordant pairs, and Newcombe's square-and-add interval for the difference of
paired proportions (his method 10, Wilson score intervals combined with the pairs'
correlation). Both hold with one seed.

No scipy here (this module runs in the UI process too): the binomial tail is summed exactly
with :func:`math.comb`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: The two-sided 95% quantile of the standard normal distribution.
Z95 = 1.959963984540054


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval (95% by default) of ``correct`` out of ``total``; None for no trials.

    Unlike the textbook ``p ± 1.96·sqrt(p(1-p)/n)`` it stays inside 0..1 and is not empty at 0% or 100%.
    """
    if total <= 0:
        return None
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    # exact at the edges (the formula's bound is 0 or 1 there, give or take a rounding)
    return (0.0 if correct <= 0 else max(0.0, centre - half)), (1.0 if correct >= total else min(1.0, centre + half))


def accuracy_interval(accuracy: float | None, total: int | None) -> tuple[float, float] | None:
    """:func:`wilson_interval` of an accuracy measured on ``total`` reviews (None when either is unknown)."""
    if accuracy is None or not total:
        return None
    return wilson_interval(round(accuracy * total), total)


def mcnemar_exact_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: how likely so lopsided a split of the discordant pairs is by chance.

    Under "no difference" each discordant pair goes either way with probability 1/2, so the
    smaller count is binomial(m, 1/2) with m the discordant pairs; the p-value doubles its tail
    (capped at 1). No discordant pair at all is no evidence either way: 1.
    """
    m = only_first + only_second
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(only_first, only_second) + 1))
    return min(1.0, 2 * tail / 2 ** m)


def paired_difference_interval(both: int, only_first: int, only_second: int, neither: int,
                               z: float = Z95) -> tuple[float, float] | None:
    """Newcombe's 95% interval for (first's accuracy - second's) on the same items; None for no items.

    The two Wilson intervals are combined "square and add", corrected by the correlation of the
    two answers (phi, with Newcombe's continuity correction: positive association below N/2 counts
    as none), so two models that agree on most reviews get the narrow interval they deserve.
    """
    n = both + only_first + only_second + neither
    if n == 0:
        return None
    first_right, second_right = both + only_first, both + only_second
    p1, p2 = first_right / n, second_right / n
    l1, u1 = wilson_interval(first_right, n, z) or (0.0, 1.0)
    l2, u2 = wilson_interval(second_right, n, z) or (0.0, 1.0)
    margins = first_right * (n - first_right) * second_right * (n - second_right)
    association = both * neither - only_first * only_second
    if margins == 0 or 0 <= association <= n / 2:
        phi = 0.0
    else:
        phi = (association - n / 2 if association > 0 else association) / math.sqrt(margins)
    below = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    above = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, p1 - p2 - below), min(1.0, p1 - p2 + above)


@dataclass(frozen=True)
class PairedTest:
    """A distilled student against its scratch twin on the same test reviews."""

    #: Test reviews both were scored on.
    total: int
    #: Reviews only the distilled student got right, and only the scratch twin.
    only_student: int
    only_scratch: int
    #: Student's accuracy minus scratch's (a fraction) and its 95% interval (Newcombe).
    difference: float
    low: float
    high: float
    #: Exact McNemar p-value of the discordant pairs.
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the test set shows a difference at all: its 95% interval leaves out 0."""
        return self.low > 0 or self.high < 0


def paired_test(student: Sequence[bool], scratch: Sequence[bool]) -> PairedTest | None:
    """The paired comparison of two per-review correctness lists; None when they do not pair up."""
    if not student or len(student) != len(scratch):
        return None
    both = sum(1 for a, b in zip(student, scratch, strict=True) if a and b)
    only_student = sum(1 for a, b in zip(student, scratch, strict=True) if a and not b)
    only_scratch = sum(1 for a, b in zip(student, scratch, strict=True) if b and not a)
    total = len(student)
    interval = paired_difference_interval(both, only_student, only_scratch, total - both - only_student - only_scratch)
    assert interval is not None
    return PairedTest(total=total, only_student=only_student, only_scratch=only_scratch,
                      difference=(only_student - only_scratch) / total, low=interval[0], high=interval[1],
                      p_value=mcnemar_exact_p(only_student, only_scratch))
