"""A damaged checkpoint on resume is named, discarded and trained again, never a run that fails forever."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kdcore.config import RecurrentSize
from kdcore.progress import RecordingReporter
from kdcore.samples import tiny_config

pytestmark = pytest.mark.slow
SMALL = RecurrentSize(embedding_dim=4, lstm_units=2, gru_units=2)


@pytest.fixture
def arm(synthetic_imdb: Path):
    """``arm(epochs, losses)``: a fresh tiny classifier's ArmSpec; validation losses are scripted, in order."""
    from kdcore.engine.data import load_splits
    from kdcore.engine.models import build_classifier, compile_classifier
    from kdcore.engine.training import ArmSpec

    splits = load_splits(tiny_config(synthetic_imdb).data, 0)

    def make(epochs: int, losses: list[float]) -> ArmSpec:
        model = compile_classifier(build_classifier(SMALL, 200, 40, "m"), 0.01, jit_compile=False)
        scripted = iter(losses)
        model.evaluate = lambda *a, **k: {"loss": next(scripted), "accuracy": 0.5}
        return ArmSpec("scratch", model, model, splits.x_train, splits.y_train, splits.x_val, splits.y_val,
                       epochs=epochs, batch_size=64, eval_batch_size=256, keep_best=True, monitor="val_loss",
                       patience=None, seed=0)

    return make


def logs(reporter: RecordingReporter) -> list[str]:
    return [e.message for e in reporter.events if e.kind == "log"]


def starts(reporter: RecordingReporter) -> list[str]:
    return [e.message for e in reporter.events if e.kind == "arm_start"]


def test_arm_checkpoint__damaged_state_file_starts_the_arm_over(tmp_path: Path):
    # given: an arm's state file that is not JSON
    from kdcore.engine.training import ArmCheckpoint

    checkpoint = ArmCheckpoint(tmp_path, "scratch")
    checkpoint.state_path.write_bytes(b"\x00{ torn")
    checkpoint.weights_path("last").write_bytes(b"stale")

    # when
    state = checkpoint.load()

    # then: a fresh state, the damaged file named and gone, its weights too
    assert state.epochs_done == 0 and not state.finished, f"the arm starts over: {state}"
    assert not checkpoint.state_path.exists() and not checkpoint.weights_path("last").exists(), "discarded"
    assert checkpoint.notes and str(checkpoint.state_path) in checkpoint.notes[0], f"named: {checkpoint.notes}"


@pytest.mark.timeout(120)
def test_train_arm__damaged_last_weights_go_back_to_the_best_epoch(arm, tmp_path: Path):
    # given: two epochs trained (the first the best), then the last epoch's weights file torn
    from kdcore.engine.training import ArmCheckpoint, train_arm

    train_arm(arm(2, [0.3, 0.4]), ArmCheckpoint(tmp_path, "scratch"), RecordingReporter(), tick_interval=1.0)
    checkpoint = ArmCheckpoint(tmp_path, "scratch")
    last = checkpoint.weights_path("last")
    last.write_bytes(last.read_bytes()[:100])

    # when: the run resumes with three epochs planned
    reporter = RecordingReporter()
    state = train_arm(arm(3, [0.35, 0.2]), checkpoint, reporter, tick_interval=1.0)

    # then: the damaged file is named in the log, the arm went back to epoch 1 and trained epochs 2 and 3
    assert any(str(last) in m and "damaged" in m for m in logs(reporter)), f"the file is named: {logs(reporter)}"
    assert starts(reporter) == [starts(reporter)[0]] and "resuming after epoch 1" in starts(reporter)[0], \
        f"resumes from the best epoch: {starts(reporter)}"
    assert state.epochs_done == 3 and [row["epoch"] for row in state.history] == [0, 1, 2], f"{state.history}"
    assert state.best_epoch == 2, f"the retrained epoch 3 is the best now: {state.best_epoch}"


@pytest.mark.timeout(120)
def test_train_arm__both_weights_damaged_trains_the_arm_again(arm, tmp_path: Path):
    # given: two epochs trained, then both weights files replaced by garbage
    from kdcore.engine.training import ArmCheckpoint, train_arm

    train_arm(arm(2, [0.3, 0.2]), ArmCheckpoint(tmp_path, "scratch"), RecordingReporter(), tick_interval=1.0)
    checkpoint = ArmCheckpoint(tmp_path, "scratch")
    for tag in ("last", "best"):
        checkpoint.weights_path(tag).write_bytes(b"not an HDF5 file")

    # when
    reporter = RecordingReporter()
    state = train_arm(arm(2, [0.5, 0.4]), checkpoint, reporter, tick_interval=1.0)

    # then: both files are named, and the arm trained from its first epoch
    assert len([m for m in logs(reporter) if "damaged" in m]) == 2, f"both files named: {logs(reporter)}"
    assert "starting" in starts(reporter)[0], f"the arm starts over: {starts(reporter)}"
    assert state.epochs_done == 2 and len(state.history) == 2, f"two epochs trained anew: {state.history}"
    assert np.isfinite(state.best_value), "a best epoch of the new training"
