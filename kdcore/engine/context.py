"""What every step of one run shares, and the life of an arm within it: trained, finished, recorded.

The teacher (:mod:`kdcore.engine.teacher`) and the students (:mod:`kdcore.engine.students`)
are different steps but their arms end the same way: tested once on the test set, the
kept model saved, the checkpoint marked finished (so a resumed run reads the result back
instead of training again) and the result recorded for the summary. That sequence lives
here once, so no arm can skip a part of it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kdcore.arms import ARMS
from kdcore.config import FAMILIES, RunConfig, family_of
from kdcore.engine.data import Splits
from kdcore.engine.device import jit_setting
from kdcore.engine.files import save_deployable
from kdcore.engine.training import ArmCheckpoint, ArmSpec, ArmState, train_arm
from kdcore.progress import ProgressEvent, Reporter
from kdcore.results.classes import ClassReport, class_names_for, class_report
from kdcore.results.contract import ArmResult
from kdcore.results.verdict import RunEvidence

if TYPE_CHECKING:
    from kdcore.engine.augment import EpochBatches

#: The first seed's arms are saved as ``<arm>.keras``; extra seeds are measured, not saved.
SAVED_ARMS = ARMS
#: The key of an arm's result (in its checkpoint state) that keeps which test reviews it got right, packed as
#: bits: a resumed run, a scratch student reused from the baseline cache and the summary's paired test
#: (:mod:`kdcore.results.paired`) all read the same answers. Taken out before the result becomes an ArmResult.
TEST_CORRECT = "test_correct"


@dataclass(frozen=True)
class ScoredTestSet:
    """What one pass over the test set gives: the figures of ``evaluate`` and each row's predicted class."""

    loss: float
    accuracy: float
    #: The argmax class of each test row, in the test set's order.
    predicted: np.ndarray
    #: Whether each row's prediction is its label (the paired test's answers).
    correct: np.ndarray


@dataclass
class RunContext:
    """One run's settings, reporter and folder, and the arms' results so far."""

    config: RunConfig
    folder: Path
    reporter: Reporter
    home: Path | None
    tick_interval: float
    device: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    histories: dict[str, list[dict[str, float]]] = field(default_factory=dict, init=False)
    #: Arms trained (or resumed) by this call: none means a finished run was only read back.
    trained_arms: int = field(default=0, init=False)
    #: Arm name -> whether it got each test review right (arms finished before these were kept have none).
    test_correct: dict[str, list[bool]] = field(default_factory=dict, init=False)

    @property
    def jit(self) -> bool | str:
        """``jit_compile`` for every model this run compiles."""
        return jit_setting(self.config.train.jit_compile, self.device)

    @property
    def checkpoints(self) -> Path:
        return self.folder / "checkpoints"

    def log(self, message: str) -> None:
        self.reporter.report(ProgressEvent("log", message=message))

    def checkpoint(self, arm: str) -> ArmCheckpoint:
        return ArmCheckpoint(self.checkpoints, arm)

    def train(self, arm: str, checkpoint: ArmCheckpoint, model: keras.Model, fit_model: keras.Model, x: Any,
              splits: Splits, epochs: int, seed: int, batches: EpochBatches | None = None) -> ArmState:
        """Train (or resume) one arm with the run's settings; the teacher has its own batch size."""
        t = self.config.train
        self.trained_arms += 1
        batch_size = t.teacher_batch if arm == "teacher" else t.batch_size
        spec = ArmSpec(arm=arm, model=model, fit_model=fit_model, x=x, y=splits.y_train, x_val=splits.x_val,
                       y_val=splits.y_val, epochs=epochs, batch_size=batch_size, eval_batch_size=t.eval_batch_size,
                       keep_best=t.keep_best, monitor=t.monitor, patience=t.patience, seed=seed, batches=batches)
        return train_arm(spec, checkpoint, self.reporter, self.tick_interval)

    def finish(self, arm: str, model: keras.Model, state: ArmState, checkpoint: ArmCheckpoint, splits: Splits,
               size_params: int) -> None:
        """Test once, save the kept model, record the result; the arm is then done for good."""
        scored = score_test_set(model, splits.x_test, splits.y_test, self.config.train.eval_batch_size)
        file_bytes = self._save_model(arm, model)
        test = {"loss": scored.loss, "accuracy": scored.accuracy}
        classes = classes_on_test(splits, scored.predicted)
        state.result = {**arm_result(state, test, size_params, file_bytes, len(splits.y_train), classes),
                        TEST_CORRECT: pack_correct(scored.correct)}
        state.finished = True
        checkpoint.save_state(state)
        checkpoint.clear_weights()
        self.reporter.report(arm_end_event(arm, state))

    def record_given(self, arm: str, splits: Splits, test_logits: np.ndarray | None, size_params: int | None,
                     file_bytes: int | None) -> None:
        """Record an arm that was not trained here (a teacher given as a model, soft labels or an ensemble).

        Its test figures come from its logits on the test rows (None: no test outputs, so no test
        accuracy); it has no history, and the arm-end event tells the Live page it is done.
        """
        result = ArmResult(params=size_params, file_bytes=file_bytes, epochs_trained=0).to_dict()
        metrics: dict[str, float] = {}
        if test_logits is not None:
            scored = score_logits(test_logits, splits.y_test)
            classes = classes_on_test(splits, scored.predicted)
            result.update(test_accuracy=scored.accuracy, test_loss=scored.loss, macro_f1=classes.macro_f1,
                          per_class=classes.per_class, confusion=classes.confusion)
            self.test_correct[arm] = [bool(v) for v in scored.correct]
            metrics = {"test_accuracy": scored.accuracy, "test_loss": scored.loss}
        self.results[arm] = result
        self.histories[arm] = []
        self.reporter.report(ProgressEvent("arm_end", arm, 0, 0, 0, 0, metrics))

    def record(self, arm: str, state: ArmState) -> None:
        assert state.result is not None
        result = dict(state.result)
        correct = unpack_correct(result.pop(TEST_CORRECT, None))
        if correct is not None:
            self.test_correct[arm] = correct
        self.results[arm] = result
        self.histories[arm] = state.history

    def evidence(self, splits: Splits) -> RunEvidence:
        """What the summary's intervals and verdict are judged by: answers, the majority rate, curves, families."""
        counts = np.bincount(np.asarray(splits.y_test, dtype=np.int64)) if len(splits.y_test) else np.zeros(1)
        return RunEvidence(
            test_correct=dict(self.test_correct),
            majority_share=float(counts.max() / counts.sum()) if counts.sum() else None,
            val_accuracies={arm: [float(row["val_accuracy"]) for row in history if "val_accuracy" in row]
                            for arm, history in self.histories.items()},
            teacher_family=family_of(self.config.teacher), families=tuple(FAMILIES),
            class_names=tuple(splits.class_names))

    def _save_model(self, arm: str, model: keras.Model) -> int | None:
        """``<arm>.keras`` of a first-seed arm (the student's weights alone too); its size in bytes.

        Every arm is saved as the deployable model, without optimizer state: the teacher is
        reused and downloaded, never trained on again, and a finished student is downloaded.
        """
        if arm not in SAVED_ARMS:
            return None
        weights = self.folder / "student.weights.h5" if arm == "student" else None
        return save_deployable(model, self.folder / f"{arm}.keras", weights)


def arm_result(state: ArmState, test: dict[str, float], size_params: int, file_bytes: int | None,
               train_samples: int, classes: ClassReport | None = None) -> dict[str, Any]:
    """What a finished arm reports (:class:`ArmResult`, stored as its dict in the arm's state).

    The validation figures are those of the kept (best) epoch; ``best_epoch`` turns the state's
    0-based index into the contract's 1-based epoch. ``classes`` (the per-class figures of the
    same test pass) is stored in the state too, so a resumed run and a reused scratch student read
    it back with the rest.
    """
    best = state.history[state.best_epoch] if state.best_epoch is not None else {}
    last = state.history[-1] if state.history else {}
    per_class = {} if classes is None else {"macro_f1": classes.macro_f1, "per_class": classes.per_class,
                                            "confusion": classes.confusion}
    return ArmResult(
        test_accuracy=float(test["accuracy"]), test_loss=float(test["loss"]), params=size_params,
        file_bytes=file_bytes, train_seconds=state.train_seconds,
        samples_per_s=(train_samples * state.epochs_done / state.train_seconds) if state.train_seconds else None,
        best_epoch=(state.best_epoch + 1) if state.best_epoch is not None else None,
        epochs_trained=state.epochs_done, stopped_early=state.stopped_early, pruned=state.pruned or None,
        val_accuracy=best.get("val_accuracy"), val_loss=best.get("val_loss"), train_accuracy=last.get("accuracy"),
        **per_class,
    ).to_dict()


def score_test_set(model: keras.Model, x: Any, y: Any, batch_size: int) -> ScoredTestSet:
    """Loss, accuracy, each row's predicted class and which rows were right, from one pass over the test set.

    The same figures as ``model.evaluate`` (cross-entropy on the float32 logits, argmax accuracy),
    but the per-review answers are what the paired test of two students needs, and the predicted
    classes what the per-class figures (:mod:`kdcore.results.classes`) are counted from.
    """
    logits = np.asarray(keras.ops.convert_to_numpy(model.predict(x, batch_size=batch_size, verbose=0)),
                        dtype=np.float64)
    return score_logits(logits, y)


def score_logits(logits: np.ndarray, y: Any) -> ScoredTestSet:
    """:func:`score_test_set` from logits (or log-probabilities) already computed: a teacher given by its outputs."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    predicted = np.argmax(logits, axis=-1) if len(labels) else np.zeros(0, dtype=np.int64)
    correct = predicted == labels
    top = logits.max(axis=-1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=-1))
    loss = float(np.mean(log_norm - logits[np.arange(len(labels)), labels])) if len(labels) else float("nan")
    return ScoredTestSet(loss=loss, accuracy=float(correct.mean()) if len(labels) else float("nan"),
                         predicted=predicted, correct=correct)


def classes_on_test(splits: Splits, predicted: np.ndarray) -> ClassReport:
    """The per-class figures of one arm's test predictions, the classes named as the data names them.

    A label or prediction beyond the named classes (a model with more outputs than the data has
    classes) is counted under its index rather than lost.
    """
    seen = max(int(np.max(predicted, initial=0)), int(np.max(splits.y_test, initial=0))) + 1
    count = max(len(splits.class_names), splits.num_classes, seen)
    return class_report(splits.y_test, predicted, class_names_for(splits.class_names, count))


def score_on_test(model: keras.Model, x: Any, y: Any, batch_size: int) -> tuple[dict[str, float], np.ndarray]:
    """:func:`score_test_set` as (``{"loss", "accuracy"}``, which rows were right): the figures of ``evaluate``."""
    scored = score_test_set(model, x, y, batch_size)
    return {"loss": scored.loss, "accuracy": scored.accuracy}, scored.correct


def pack_correct(correct: np.ndarray) -> dict[str, Any]:
    """Per-review answers as JSON: a count and the bits in base64 (25,000 reviews take 4 KB)."""
    bits = np.packbits(np.asarray(correct, dtype=bool))
    return {"count": int(len(correct)), "bits": base64.b64encode(bits.tobytes()).decode("ascii")}


def unpack_correct(stored: Any) -> list[bool] | None:
    """:func:`pack_correct` read back; None for a result stored without answers (or damaged ones)."""
    if not isinstance(stored, dict) or not isinstance(stored.get("count"), int):
        return None
    try:
        bits = np.frombuffer(base64.b64decode(stored["bits"], validate=True), dtype=np.uint8)
    except (KeyError, TypeError, ValueError):
        return None
    answers = np.unpackbits(bits)[: stored["count"]]
    return answers.astype(bool).tolist() if len(answers) == stored["count"] else None


def arm_end_event(arm: str, state: ArmState) -> ProgressEvent:
    """The event that closes an arm, trained here or reused from an earlier run."""
    assert state.result is not None
    return ProgressEvent("arm_end", arm, state.epochs_done, 0, 0, state.epochs_done,
                         {"test_accuracy": state.result["test_accuracy"], "test_loss": state.result["test_loss"]})
