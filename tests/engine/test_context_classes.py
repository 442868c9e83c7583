"""The engine's per-class figures: from the one test pass, kept in the arm's state, read back on resume and reuse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdcore.engine.context import arm_result, classes_on_test, score_test_set
from kdcore.engine.data import Splits
from kdcore.engine.pipeline import run_experiment
from kdcore.engine.training import ArmState
from kdcore.results import ArmResult, RunSummary
from kdcore.samples import tiny_config


def splits(y_test: list[int], *names: str) -> Splits:
    """Splits whose test labels are ``y_test``, naming ``names`` (the default, IMDB's two, when none)."""
    empty = np.zeros((0, 2), dtype=np.int32)
    named = {"class_names": names, "num_classes": len(names)} if names else {}
    return Splits(x_train=empty, y_train=empty[:, 0], x_val=empty, y_val=empty[:, 0], x_test=empty,
                  y_test=np.asarray(y_test), source="test", **named)


class FixedLogits:
    """A stand-in model whose ``predict`` returns the given logits (score_test_set only calls predict)."""

    def __init__(self, logits: np.ndarray):
        self.logits = logits

    def predict(self, x: object, batch_size: int, verbose: int) -> np.ndarray:
        return self.logits


def test_score_test_set__predictions_answers_and_figures_of_one_pass() -> None:
    # given logits for four rows of three classes
    logits = np.array([[3.0, 0, 0], [0, 2.0, 0], [0, 0, 1.0], [2.0, 0, 0]], dtype=np.float32)
    labels = np.array([0, 1, 1, 2])
    # when the test set is scored
    scored = score_test_set(FixedLogits(logits), np.zeros((4, 2)), labels, batch_size=2)
    # then the argmax predictions, the answers and the accuracy agree
    assert scored.predicted.tolist() == [0, 1, 2, 0], "argmax of each row"
    assert scored.correct.tolist() == [True, True, False, False] and scored.accuracy == 0.5
    assert np.isfinite(scored.loss), "cross-entropy on the logits"


def test_classes_on_test__names_from_the_splits_else_imdbs() -> None:
    # given splits that name three classes, and older splits that name none
    # when the per-class figures are made
    report = classes_on_test(splits([0, 1, 2, 2], "a", "b", "c"), np.array([0, 1, 2, 1]))
    binary = classes_on_test(splits([0, 1, 1]), np.array([0, 1, 0]))
    # then the classes carry the data's names (IMDB's when the data names none)
    assert [c.name for c in report.per_class] == ["a", "b", "c"] and report.confusion[2] == (0, 1, 1)
    assert [c.name for c in binary.per_class] == ["negative", "positive"]


def test_classes_on_test__a_prediction_beyond_the_named_classes_is_counted_by_index() -> None:
    # given a model with three outputs on data that names two classes (never expected, never lost)
    report = classes_on_test(splits([0, 1], "neg", "pos"), np.array([2, 1]))
    assert [c.name for c in report.per_class] == ["neg", "pos", "2"], "the extra output keeps its index"


def test_arm_result__the_per_class_figures_survive_the_checkpoint_state() -> None:
    # given a finished arm's state and its per-class figures
    state = ArmState(epochs_done=1, history=[{"epoch": 0, "val_accuracy": 0.5, "accuracy": 0.6}], best_epoch=0,
                     train_seconds=1.0)
    report = classes_on_test(splits([0, 1, 2], "a", "b", "c"), np.array([0, 1, 1]))
    # when the result is stored as the checkpoint stores it (JSON) and read as the contract's type
    stored = json.loads(json.dumps(arm_result(state, {"loss": 0.9, "accuracy": 2 / 3}, 10, None, 3, report)))
    result = ArmResult.from_dict(stored)
    # then nothing of the report is lost
    assert result.per_class == report.per_class and result.confusion == report.confusion
    assert result.macro_f1 == pytest.approx(report.macro_f1)
    assert "per_class" not in arm_result(state, {"loss": 0.9, "accuracy": 0.5}, 10, None, 3), "none without a report"


@pytest.mark.slow
def test_run_experiment__every_arm_reports_its_classes_and_a_reused_scratch_keeps_them(synthetic_imdb,
                                                                                      tmp_path) -> None:
    # given a tiny run
    home = tmp_path / "home"
    first = RunSummary.from_dict(run_experiment(tiny_config(synthetic_imdb), home / "runs" / "a", home=home,
                                                tick_interval=0.0))
    # then each arm's confusion matrix adds up to the test set and its diagonal to the accuracy
    n = first.data.test
    assert n and first.class_names == ("negative", "positive")
    for name in ("teacher", "student", "scratch"):
        arm = first.arm(name)
        assert arm.confusion is not None and arm.per_class is not None and arm.macro_f1 is not None, name
        assert sum(map(sum, arm.confusion)) == n, f"{name}: every test row counted once"
        hits = sum(arm.confusion[i][i] for i in range(len(arm.confusion)))
        assert hits / n == pytest.approx(arm.test_accuracy), f"{name}: the diagonal is the accuracy"
    assert first.arm("student").macro_f1_gain is not None and first.seeds.macro_f1_gain is not None
    # and a run that reuses the scratch student from the baseline cache, and one that reads a finished run back,
    # carry the same per-class figures
    other = RunSummary.from_dict(run_experiment(tiny_config(synthetic_imdb, "distill.alpha=0.7"),
                                                home / "runs" / "b", home=home, tick_interval=0.0))
    assert other.scratch_reused == ("scratch",) and other.arm("scratch") == first.arm("scratch")
    again = RunSummary.from_dict(run_experiment(tiny_config(synthetic_imdb), home / "runs" / "a", home=home,
                                                tick_interval=0.0))
    assert again.arm("student") == first.arm("student") and again.class_names == first.class_names
