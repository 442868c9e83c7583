"""Scratch students shared between runs: one trained is reused by every later run that would train the same one.

A scratch student sees no teacher, so runs that differ only in distillation settings (a
sweep over alpha or temperature) would train the identical baseline again and again. Its
key is the config's scratch key plus where and with what it trains (device, Keras and
backend, XLA, :data:`BASELINE_FORMAT`): another device or Keras is another result. A
reused arm's curves are replayed as progress events, so its charts and log read as if it
had trained in this run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import keras

from kdcore.engine.context import SAVED_ARMS, RunContext, arm_end_event
from kdcore.engine.files import publish_folder
from kdcore.engine.training import ArmCheckpoint, ArmState
from kdcore.paths import baselines_dir
from kdcore.progress import ProgressEvent

#: Bump when what a scratch arm does or stores changes, so cached baselines are not reused. 2: its result carries
#: the per-class figures (macro-F1, confusion matrix), which a baseline cached before cannot give.
BASELINE_FORMAT = 2


class ScratchBaselines:
    """Reuses and publishes the finished scratch students of one run's seeds."""

    def __init__(self, run: RunContext):
        self.run = run
        #: Arms this run took from the cache instead of training them.
        self.reused: list[str] = []

    def folder(self, seed_index: int) -> Path:
        """The config's scratch key plus where and with what it trains: another device or Keras is another result."""
        run = self.run
        where = json.dumps([run.device, keras.__version__, keras.backend.backend(), str(run.jit), BASELINE_FORMAT])
        return baselines_dir(run.home) / (run.config.scratch_key(seed_index) + "-" +
                                          hashlib.sha256(where.encode()).hexdigest()[:8])

    def reuse(self, seed_index: int, arm: str, checkpoint: ArmCheckpoint) -> bool:
        """Take an identical scratch student's result from an earlier run; its curves are replayed."""
        folder = self.folder(seed_index)
        if not (folder / "scratch.json").exists():  # (not ArmCheckpoint: it would create the folder)
            return False
        state = ArmState(**json.loads((folder / "scratch.json").read_text()))
        if not state.finished:
            return False
        if arm in SAVED_ARMS:
            model_file = folder / "scratch.keras"
            if not model_file.exists():
                return False
            shutil.copyfile(model_file, self.run.folder / f"{arm}.keras")
        self.run.log(f"{arm}: reused the identical scratch student of an earlier run (same student, data, seed, "
                     f"training settings and device; {folder.name}).")
        checkpoint.clear_weights()  # an interrupted attempt at this arm leaves nothing behind
        self._replay(arm, state)
        checkpoint.save_state(state)
        self.run.reporter.report(arm_end_event(arm, state))
        self.reused.append(arm)
        return True

    def publish(self, seed_index: int, arm: str, checkpoint: ArmCheckpoint) -> None:
        """Offer a finished scratch student to later runs that would train the same one."""

        def fill(folder: Path) -> None:
            shutil.copyfile(checkpoint.state_path, folder / "scratch.json")
            if arm in SAVED_ARMS:
                shutil.copyfile(self.run.folder / f"{arm}.keras", folder / "scratch.keras")

        publish_folder(self.folder(seed_index), fill)

    def _replay(self, arm: str, state: ArmState) -> None:
        """The reused arm's start and epoch ends, as the store and the charts expect them from a trained one."""
        report = self.run.reporter.report
        report(ProgressEvent("arm_start", arm, 0, 1, 1, state.epochs_done,
                             message="reused from an identical earlier run, not trained"))
        for row in state.history:
            epoch = int(row["epoch"])
            report(ProgressEvent("epoch_end", arm, epoch, 1, 1, state.epochs_done,
                                 {k: v for k, v in row.items() if k != "epoch"}))
