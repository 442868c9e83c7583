"""Training one arm: Keras ``fit`` plus what the product needs around it.

Around each arm's ``fit`` this module adds throttled progress ticks, a stop check between
batches, validation at each epoch end (plain labels cross-entropy, the same for every arm,
so curves compare), keep-best weights and early stopping, and a checkpoint per epoch
(weights, optimizer state and history) so that a killed worker resumes from the last
finished epoch instead of from scratch. A damaged checkpoint (a torn disk, a hand edit) is
named, discarded and trained again rather than failing the run on every resume.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kdcore.engine.files import atomic_save_weights, atomic_write_text
from kdcore.progress import ProgressEvent, Reporter, RunCancelled, prune_reason

if TYPE_CHECKING:
    from kdcore.engine.augment import EpochBatches

TRAIN_KEYS = ("loss", "accuracy", "hard_loss", "distill_loss")
#: What reading a damaged or missing checkpoint file raises (h5py: OSError, KeyError; Keras: ValueError).
DAMAGED_FILE_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError)
log = logging.getLogger(__name__)


@dataclass
class ArmState:
    """What survives a crash of one arm: progress, history and the best epoch so far."""

    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None  # 0-based
    best_value: float | None = None
    wait: int = 0
    stopped_early: bool = False
    #: Stopped by a sweep's successive halving (see :func:`kdcore.progress.prune_reason`), not by patience.
    pruned: bool = False
    train_seconds: float = 0.0
    finished: bool = False
    result: dict[str, Any] | None = None


class ArmCheckpoint:
    """Files of one arm under ``<run>/checkpoints``; every write is atomic (:mod:`kdcore.engine.files`)."""

    def __init__(self, folder: Path, arm: str):
        self.folder = folder
        self.arm = arm
        #: One line per damaged file this checkpoint discarded, for the run's log (see :func:`train_arm`).
        self.notes: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def state_path(self) -> Path:
        return self.folder / f"{self.arm}.json"

    def weights_path(self, tag: str) -> Path:
        return self.folder / f"{self.arm}.{tag}.weights.h5"

    def load(self) -> ArmState:
        """The arm's saved state; a damaged state file is discarded with its weights: the arm starts over."""
        if not self.state_path.exists():
            return ArmState()
        try:
            state = ArmState(**json.loads(self.state_path.read_text()))
            if not isinstance(state.epochs_done, int) or not isinstance(state.history, list):
                raise TypeError("epochs_done or history has the wrong type")
        except DAMAGED_FILE_ERRORS as e:
            self._discard(self.state_path, e, "training this arm again from its first epoch")
            self.clear_weights()
            return ArmState()
        return state

    def _discard(self, path: Path, error: BaseException, then: str) -> None:
        note = f"checkpoint {path} is damaged ({type(error).__name__}: {error}); discarded it, {then}"
        log.warning(note)
        self.notes.append(note)
        path.unlink(missing_ok=True)

    def save_state(self, state: ArmState) -> None:
        atomic_write_text(self.state_path, json.dumps(asdict(state), indent=1))

    def save_epoch(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, state: ArmState,
                   improved: bool) -> None:
        """Weights first, state last: the state never names files not yet written.

        A compiled model's weights file also holds its optimizer's variables, so the
        optimizer state travels inside it; that is only right if the model's optimizer is
        the one training it (for the student, the Distiller shares it), hence the check.
        """
        if model.optimizer is not optimizer:
            raise RuntimeError(f"checkpoint of {self.arm}: the model must be compiled with the optimizer "
                               "that trains it, or its optimizer state would not be saved")
        atomic_save_weights(model, self.weights_path("last"))
        if improved:
            atomic_save_weights(model, self.weights_path("best"))
        self.save_state(state)

    def restore(self, model: keras.Model, optimizer: keras.optimizers.Optimizer,
                trainable: list[Any], state: ArmState | None = None) -> ArmState:
        """Put the last finished epoch's weights and optimizer state back; returns the state to go on from.

        The optimizer is built first: Keras skips a weights file's optimizer variables (with a
        warning) when the optimizer is not built yet. When the last epoch's file is damaged, the
        best epoch's file (weights and optimizer state of that epoch) is used and ``state``
        rolled back to it, so only the epochs after it are trained again; when that is damaged
        too, the arm starts over. Damaged files are discarded and named in :attr:`notes`.
        """
        optimizer.build(trainable)
        state = state if state is not None else ArmState()
        if self.load_into(model, optimizer, self.weights_path("last"), "going back to the best epoch's checkpoint"):
            return state
        best = state.best_epoch
        if best is not None and best < state.epochs_done and self.load_into(
                model, optimizer, self.weights_path("best"), "training this arm again from its first epoch"):
            kept = state.history[: best + 1]
            state = ArmState(epochs_done=best + 1, history=kept, best_epoch=best, best_value=state.best_value,
                             train_seconds=sum(float(row.get("epoch_seconds", 0.0)) for row in kept))
        else:
            state = ArmState()
            self.clear_weights()
        self.save_state(state)
        return state

    def load_into(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, path: Path, then: str) -> bool:
        """Load a weights file; if it is damaged, put the model and optimizer back as they were, discard it."""
        variables = [*model.weights, *optimizer.variables]
        before = [keras.ops.convert_to_numpy(v) for v in variables]
        try:
            model.load_weights(path)
        except DAMAGED_FILE_ERRORS as e:
            for variable, value in zip(variables, before):
                variable.assign(value)
            self._discard(path, e, then)
            return False
        return True

    def clear_weights(self) -> None:
        for path in (self.weights_path("last"), self.weights_path("best")):
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class ArmSpec:
    """How to train one arm; ``fit_model`` is the classifier itself or a Distiller around it."""

    arm: str
    model: keras.Model  # the classifier that is validated, kept and saved
    fit_model: keras.Model  # what ``fit`` trains (compiled)
    x: Any
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    epochs: int
    batch_size: int
    eval_batch_size: int
    keep_best: bool
    monitor: str
    patience: int | None
    seed: int
    # Batches made anew each epoch (an augmented transfer set), from the first epoch to run;
    # then ``x`` and ``y`` only say how many rows an epoch has.
    batches: EpochBatches | None = None


class ArmCallback(keras.callbacks.Callback):
    """Ticks, stop checks, validation, keep-best, early stopping and checkpoints for one arm."""

    def __init__(self, spec: ArmSpec, state: ArmState, checkpoint: ArmCheckpoint, reporter: Reporter,
                 tick_interval: float):
        super().__init__()
        self.spec = spec
        self.state = state
        self.checkpoint = checkpoint
        self.reporter = reporter
        self.tick_interval = tick_interval
        self.steps = math.ceil(len(spec.y) / spec.batch_size)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch
        self.epoch_started = self.window_started = time.monotonic()
        self.window_batches = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.reporter.should_stop():
            raise RunCancelled(f"{self.spec.arm}: stopped at epoch {self.epoch + 1}, batch {batch + 1}")
        now = time.monotonic()
        if batch == 0:  # the first batch carries graph tracing/compilation: keep it out of samples/s
            self.window_started = now
            return
        self.window_batches += 1
        if now - self.window_started < self.tick_interval or batch + 1 >= self.steps:
            return
        metrics = _floats(logs, TRAIN_KEYS)
        metrics["samples_per_s"] = self.window_batches * self.spec.batch_size / (now - self.window_started)
        self.window_started, self.window_batches = now, 0
        self.reporter.report(ProgressEvent("tick", self.spec.arm, self.epoch, batch + 1, self.steps,
                                           self.spec.epochs, metrics))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.monotonic() - self.epoch_started
        model = self.spec.model
        val = model.evaluate(self.spec.x_val, self.spec.y_val, batch_size=self.spec.eval_batch_size,
                             verbose=0, return_dict=True)
        metrics = _floats(logs, TRAIN_KEYS)
        metrics.update(val_loss=float(val["loss"]), val_accuracy=float(val["accuracy"]),
                       samples_per_s=len(self.spec.y) / seconds, epoch_seconds=seconds)
        state = self.state
        value = metrics[self.spec.monitor]
        better = (state.best_value is None
                  or (value < state.best_value if self.spec.monitor == "val_loss" else value > state.best_value))
        if better:
            state.best_epoch, state.best_value, state.wait = epoch, value, 0
        else:
            state.wait += 1
        state.epochs_done = epoch + 1
        state.history.append({"epoch": epoch, **metrics})
        state.train_seconds += seconds
        if self.spec.patience is not None and state.wait >= self.spec.patience and epoch + 1 < self.spec.epochs:
            state.stopped_early = True
            self.spec.fit_model.stop_training = True
        self.checkpoint.save_epoch(model, self.spec.fit_model.optimizer, state, improved=better)
        self.reporter.report(ProgressEvent("epoch_end", self.spec.arm, epoch, self.steps, self.steps,
                                           self.spec.epochs, metrics))
        self._maybe_pruned(epoch, metrics)

    def _maybe_pruned(self, epoch: int, metrics: dict[str, float]) -> None:
        """Stop here if the sweep's successive halving says so; the arm keeps its best epoch and is tested."""
        if epoch + 1 >= self.spec.epochs or self.state.stopped_early:
            return
        reason = prune_reason(self.reporter, self.spec.arm, epoch, metrics)
        if reason is None:
            return
        self.state.stopped_early = self.state.pruned = True
        self.checkpoint.save_state(self.state)
        self.spec.fit_model.stop_training = True
        self.reporter.report(ProgressEvent("log", self.spec.arm, epoch, message=reason))


def _floats(logs: dict | None, keys: tuple[str, ...]) -> dict[str, float]:
    return {k: float(logs[k]) for k in keys if logs and k in logs}


def train_arm(spec: ArmSpec, checkpoint: ArmCheckpoint, reporter: Reporter, tick_interval: float) -> ArmState:
    """Train (or resume) one arm to its end and leave its kept weights in ``spec.model``."""
    state = checkpoint.load()
    fit_model = spec.fit_model
    if state.epochs_done and not state.finished:
        state = checkpoint.restore(spec.model, fit_model.optimizer, fit_model.trainable_variables, state)
    _report_notes(checkpoint, reporter)
    resuming = f"resuming after epoch {state.epochs_done}" if state.epochs_done else "starting"
    reporter.report(ProgressEvent("arm_start", spec.arm, state.epochs_done, 0,
                                  math.ceil(len(spec.y) / spec.batch_size), spec.epochs,
                                  message=f"{resuming}, {spec.epochs} epochs of {len(spec.y):,} samples"))
    if state.epochs_done < spec.epochs and not state.stopped_early:
        keras.utils.set_random_seed(spec.seed + 7919 * state.epochs_done)
        callbacks = [ArmCallback(spec, state, checkpoint, reporter, tick_interval)]
        if spec.batches is not None:
            batches = spec.batches(state.epochs_done)
            fit_model.fit(batches, verbose=0, callbacks=callbacks, **batches.fit_arguments(spec.epochs))
        else:
            fit_model.fit(spec.x, spec.y, batch_size=spec.batch_size, epochs=spec.epochs,
                          initial_epoch=state.epochs_done, shuffle=True, verbose=0, callbacks=callbacks)
    if spec.keep_best and state.best_epoch is not None and state.best_epoch + 1 != state.epochs_done:
        if not checkpoint.load_into(spec.model, fit_model.optimizer, checkpoint.weights_path("best"),
                                    "keeping the last epoch's weights instead"):
            state.best_epoch, state.best_value = state.epochs_done - 1, state.history[-1].get(spec.monitor)
            _report_notes(checkpoint, reporter)
    return state


def _report_notes(checkpoint: ArmCheckpoint, reporter: Reporter) -> None:
    """Damaged checkpoint files go to the run's log, once."""
    for note in checkpoint.notes:
        reporter.report(ProgressEvent("log", checkpoint.arm, message=note))
    checkpoint.notes.clear()
