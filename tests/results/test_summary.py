"""Seed statistics and the verdict in words (no TensorFlow)."""

from __future__ import annotations

import pytest

from kdcore.results.summary import add_comparisons, compare_arms, verdict


def arms(teacher: float, pairs: list[tuple[float, float]], **teacher_extra: float) -> dict[str, dict]:
    out = {"teacher": {"test_accuracy": teacher, **teacher_extra}}
    for i, (student, scratch) in enumerate(pairs):
        suffix = "" if i == 0 else f"@{i}"
        out[f"student{suffix}"] = {"test_accuracy": student}
        out[f"scratch{suffix}"] = {"test_accuracy": scratch}
    return out


def test_compare_arms__paired_mean_and_spread():
    result = compare_arms(arms(0.9, [(0.86, 0.85), (0.87, 0.85), (0.88, 0.86)]))
    assert result["student"]["mean"] == pytest.approx(0.87)
    assert result["gain"]["values"] == pytest.approx([0.01, 0.02, 0.02])
    assert result["gain"]["exceeds_spread"] is True, "a 1.7-point gain beats its ±1.4-point 95% interval"


def test_compare_arms__gain_within_noise():
    result = compare_arms(arms(0.9, [(0.80, 0.85), (0.90, 0.85), (0.86, 0.85)]))
    assert result["gain"]["exceeds_spread"] is False, "a 0.3-point mean gain is inside a 5-point spread"


def test_compare_arms__arm_spread_is_not_the_test():
    # given the recurrent teacher's measurement (bench/results/accuracy.md): per-seed gains -1.25, -1.98, +0.65
    # points, arms' std 0.75 and 0.61. The mean gain (-0.86) is larger than either std, but its 95% interval
    # (t with 2 degrees of freedom) is about ±3.4 points: noise, not a loss.
    result = compare_arms(arms(0.86, [(0.8563, 0.8688), (0.8519, 0.8717), (0.8665, 0.8600)]))
    assert result["gain"]["mean"] == pytest.approx(-0.0086, abs=1e-4)
    assert result["gain"]["ci95"] == pytest.approx(4.303 * result["gain"]["std"] / 3 ** 0.5)
    assert result["gain"]["exceeds_spread"] is False


def test_compare_arms__consistent_gain_exceeds_spread_despite_noisy_arms():
    # both arms swing by 5 points from seed to seed, but each student beats its own scratch by about 1 point
    result = compare_arms(arms(0.95, [(0.80, 0.79), (0.862, 0.85), (0.90, 0.891)]))
    assert result["student"]["std"] > 0.04
    assert result["gain"]["exceeds_spread"] is True, "pairing cancels what moves both arms"


def test_compare_arms__a_steady_gain_below_a_tenth_of_a_point_is_no_difference():
    result = arms(0.9, [(0.8605, 0.86), (0.8705, 0.87), (0.8805, 0.88)])
    gains = compare_arms(result)
    assert gains["gain"]["ci95"] == pytest.approx(0.0, abs=1e-9) and gains["gain"]["exceeds_spread"] is False
    text = verdict(result, gains)
    assert "no measurable difference" in text and "within the seed-to-seed spread" in text, text


def test_compare_arms__one_seed_has_no_spread():
    gain = compare_arms(arms(0.9, [(0.86, 0.85)]))["gain"]
    assert gain["exceeds_spread"] is None and gain["ci95"] is None


def test_add_comparisons__gain_and_teacher_share():
    result = arms(0.8, [(0.76, 0.74)])
    add_comparisons(result)
    assert result["student"]["gain_over_scratch"] == pytest.approx(0.02)
    assert result["student"]["teacher_share"] == pytest.approx(0.95)


def test_verdict__student_below_scratch_blames_overfit_teacher():
    # given the measurement: a teacher that overfit (95% train, 77.6% test)
    result = arms(0.776, [(0.788, 0.859)], train_accuracy=0.95, val_accuracy=0.78)
    text = verdict(result, compare_arms(result))
    assert "below the scratch student" in text and "overfit" in text, text


def test_verdict__student_below_scratch_blames_weak_teacher():
    result = arms(0.84, [(0.83, 0.85)], train_accuracy=0.86, val_accuracy=0.85)
    text = verdict(result, compare_arms(result))
    assert "below the scratch student" in text and "no stronger" in text, text


def test_verdict__gain_reported_with_noise_caveat():
    result = arms(0.9, [(0.87, 0.85)])
    text = verdict(result, compare_arms(result))
    assert text.startswith("Distillation paid") and "one seed" in text, text


def test_verdict__zero_gain_is_not_a_win():
    result = arms(0.9, [(0.85, 0.85)])
    assert "no measurable difference" in verdict(result, compare_arms(result))


def test_verdict__a_loss_inside_the_noise_gives_its_reason_as_a_condition():
    # given the recurrent teacher's 3 seeds (bench/results/accuracy.md): -0.86 points, 95% interval ±3.4
    result = arms(0.8596, [(0.8563, 0.8688), (0.8519, 0.8717), (0.8665, 0.8600)])
    text = verdict(result, compare_arms(result))
    assert "within the seed-to-seed spread" in text and "If the loss is real, the likely reason: the teacher" in text

    # and a loss beyond the noise is stated as a finding
    steady = arms(0.84, [(0.83, 0.85), (0.84, 0.861), (0.85, 0.869)])
    text = verdict(steady, compare_arms(steady))
    assert "larger than the seed-to-seed spread" in text and "Likely reason: the teacher" in text, text
