"""The test-set statistics of kdcore.results.paired, checked against hand-computed and published values."""

from __future__ import annotations

import math

import pytest

from kdcore.results.paired import (
    Z95,
    accuracy_interval,
    mcnemar_exact_p,
    paired_difference_interval,
    paired_test,
    wilson_interval,
)


def answers(both: int, only_student: int, only_scratch: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Per-review correctness of a student and its scratch twin with the given 2x2 table."""
    student = [True] * both + [True] * only_student + [False] * only_scratch + [False] * neither
    scratch = [True] * both + [False] * only_student + [True] * only_scratch + [False] * neither
    return student, scratch


@pytest.mark.parametrize(("correct", "total", "low", "high"), [
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_interval__matches_newcombes_published_examples(correct: int, total: int, low: float,
                                                                high: float) -> None:
    # given Newcombe (1998, Statistics in Medicine 17:857) table II, method 3 (Wilson score without correction)
    interval = wilson_interval(correct, total)
    # then the interval is his, to his four decimals
    assert interval == pytest.approx((low, high), abs=5e-5), f"{correct}/{total}: {interval}"


def test_wilson_interval__by_hand_and_at_the_edges() -> None:
    # given 93 of 200 right (the issue's scratch student at 46.5%): centre and half-width by the formula
    p, n, z = 0.465, 200, Z95
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(93, 200) == pytest.approx((centre - half, centre + half)), "the textbook formula"
    assert wilson_interval(93, 200) == pytest.approx((0.3972, 0.5341), abs=1e-4), "46.5% on 200 could be 53%"
    assert wilson_interval(0, 0) is None and accuracy_interval(0.9, None) is None, "no reviews: no interval"
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] < 1.0, "100% is not certain"
    assert accuracy_interval(0.465, 200) == wilson_interval(93, 200), "an accuracy and its count"


@pytest.mark.parametrize(("only_first", "only_second", "p"), [
    (1, 7, 2 * (1 + 8) / 2 ** 8),  # 2 * (C(8,0) + C(8,1)) / 2^8 = 0.0703
    (0, 6, 2 / 2 ** 6),  # 2 * C(6,0) / 2^6
    (6, 16, 2 * sum(math.comb(22, i) for i in range(7)) / 2 ** 22),  # Cavo et al. 2012: p = 0.0525
    (5, 5, 1.0),  # a tie is no evidence: capped at 1
    (0, 0, 1.0),  # no discordant pair: no evidence
])
def test_mcnemar_exact_p__is_the_doubled_binomial_tail(only_first: int, only_second: int, p: float) -> None:
    assert mcnemar_exact_p(only_first, only_second) == pytest.approx(p), f"{only_first} vs {only_second}"
    assert mcnemar_exact_p(only_second, only_first) == pytest.approx(p), "two-sided: symmetric"


def test_mcnemar_exact_p__cavo_matches_the_published_value() -> None:
    # given Fagerland, Lydersen & Laake (2017), chapter 8: Cavo et al. 2012, exact conditional McNemar p = 0.052
    assert mcnemar_exact_p(6, 16) == pytest.approx(0.0525, abs=5e-5)
    # and a large test set is summed exactly (no overflow): 1200 against 1300 discordant reviews
    assert 0 < mcnemar_exact_p(1200, 1300) < 0.05


def test_paired_difference_interval__uncorrelated_table_by_hand() -> None:
    # given Bentur et al. 2009 (Fagerland et al. 2017, chapter 8): both 1, only first 1, only second 7, neither 12.
    # AD - BC = 12 - 7 = 5 <= N/2, so Newcombe's phi is 0 and the interval is Wilson's squares added.
    l1, u1 = wilson_interval(2, 21)
    l2, u2 = wilson_interval(8, 21)
    p1, p2 = 2 / 21, 8 / 21
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    interval = paired_difference_interval(1, 1, 7, 12)
    assert interval == pytest.approx((low, high)), interval
    assert interval == pytest.approx((-0.5069, -0.0256), abs=1e-4), "the book's -0.507 to -0.026"


def test_paired_difference_interval__correlated_pairs_narrow_it() -> None:
    # given Cavo et al. 2012: both 59, only first 6, only second 16, neither 80 (N = 161, AD - BC = 4624)
    n = 161
    phi = (59 * 80 - 6 * 16 - n / 2) / math.sqrt(65 * 96 * 75 * 86)
    l1, u1 = wilson_interval(65, n)
    l2, u2 = wilson_interval(75, n)
    p1, p2 = 65 / n, 75 / n
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    interval = paired_difference_interval(59, 6, 16, 80)
    assert interval == pytest.approx((low, high)), interval
    assert interval == pytest.approx((-0.1186, -0.0046), abs=1e-4), "the book's -0.119 to -0.005"
    independent = math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2) + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert interval[1] - interval[0] < 0.6 * independent, "two models agreeing on most items: a narrower interval"


def test_paired_test__the_issue_run_is_not_shown_by_its_200_reviews() -> None:
    # given 200 test reviews: the student 80% and its twin 77%, disagreeing on 14 + 8 reviews
    student, scratch = answers(146, 14, 8, 32)
    # when they are compared review by review
    paired = paired_test(student, scratch)
    # then the 3-point difference has an interval that includes 0, and McNemar agrees
    assert paired is not None and paired.difference == pytest.approx(0.03)
    assert (paired.only_student, paired.only_scratch, paired.total) == (14, 8, 200)
    assert paired.low < 0 < paired.high and not paired.excludes_zero, f"{paired.low:+.4f}..{paired.high:+.4f}"
    assert paired.p_value == pytest.approx(2 * sum(math.comb(22, i) for i in range(9)) / 2 ** 22)
    assert paired_test([], []) is None and paired_test([True], [True, False]) is None, "nothing to pair"
