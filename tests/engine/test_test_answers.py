"""The engine keeps each arm's per-review test answers, so the summary can pair the two students."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdcore.config import TINY
from kdcore.engine.context import TEST_CORRECT, pack_correct, score_on_test, unpack_correct
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.pipeline import run_experiment
from kdcore.results import RunSummary
from kdcore.results.paired import wilson_interval
from kdcore.samples import tiny_config


def test_score_on_test__the_figures_of_evaluate_and_the_answers() -> None:
    # given an untrained tiny classifier and 37 reviews (a count that does not fill a byte)
    model = compile_classifier(build_classifier(TINY, vocab_size=50, maxlen=8, name="c"), 0.01, jit_compile=False)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 50, size=(37, 8)).astype("int32"), rng.integers(0, 2, size=37)
    # when it is scored once on them
    metrics, correct = score_on_test(model, x, y, batch_size=16)
    keras_metrics = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    # then loss and accuracy are what Keras reports, and the answers add up to the accuracy
    assert metrics["accuracy"] == pytest.approx(keras_metrics["accuracy"]), "argmax accuracy, as Keras"
    assert metrics["loss"] == pytest.approx(keras_metrics["loss"], rel=1e-4), "cross-entropy on logits, as Keras"
    assert correct.dtype == bool and len(correct) == 37 and correct.mean() == pytest.approx(metrics["accuracy"])
    # and the answers survive JSON as packed bits
    assert unpack_correct(json.loads(json.dumps(pack_correct(correct)))) == correct.tolist()


@pytest.mark.parametrize("stored", [None, {}, {"count": 9, "bits": "AA=="}, {"count": 3, "bits": "%%"},
                                    {"count": "3", "bits": "AA=="}])
def test_unpack_correct__missing_or_damaged_answers_read_as_none(stored: object) -> None:
    assert unpack_correct(stored) is None, f"{stored!r} holds no usable answers"


@pytest.mark.slow
def test_run_experiment__keeps_answers_and_pairs_the_students(synthetic_imdb, tmp_path) -> None:
    # given a tiny run
    home = tmp_path / "home"
    folder = home / "runs" / "answers"
    config = tiny_config(synthetic_imdb)
    # when it finishes
    summary = RunSummary.from_dict(run_experiment(config, folder, home=home, tick_interval=0.0))
    # then each arm's state keeps one answer per test review, matching its accuracy
    n = summary.data.test
    assert n, "the test split has reviews"
    answers = {}
    for arm in ("teacher", "student", "scratch"):
        state = json.loads((folder / "checkpoints" / f"{arm}.json").read_text())
        answers[arm] = unpack_correct(state["result"][TEST_CORRECT])
        assert answers[arm] is not None and len(answers[arm]) == n, f"{arm}: one answer per test review"
        assert sum(answers[arm]) / n == pytest.approx(summary.arm(arm).test_accuracy), f"{arm}: answers = accuracy"
        assert summary.accuracy_interval(arm) == pytest.approx(wilson_interval(sum(answers[arm]), n)), arm
    # and the student carries the paired test of the same reviews
    student = summary.arm("student")
    only_student = sum(a and not b for a, b in zip(answers["student"], answers["scratch"], strict=True))
    assert student.only_student_right == only_student and student.gain_p_value is not None
    assert student.gain_low is not None and student.gain_high is not None
    assert student.gain_low <= (student.gain_over_scratch or 0.0) <= student.gain_high
    assert TEST_CORRECT not in json.dumps(summary.to_dict()), "the answers stay in the checkpoints, not the summary"
    # and a finished run read back again gives the same paired statistics
    again = RunSummary.from_dict(run_experiment(config, folder, home=home, tick_interval=0.0))
    assert again.arm("student") == student, "answers read back from the checkpoints"
