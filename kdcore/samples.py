"""Small learnable data and tiny configs: a first run without IMDB, the tests and the benchmarks.

Everything here trains in seconds on a CPU, so a test, a benchmark of the store or a user
trying the pipeline out needs neither the 80 MB IMDB file nor minutes of training.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kdcore.config import RunConfig, apply_overrides
from kdcore.progress import ProgressEvent, RecordingReporter, Reporter, RunCancelled


def write_synthetic_imdb(path: Path, n_train: int = 400, n_test: int = 200, seed: int = 0) -> Path:
    """Write an npz in Keras' IMDB layout whose labels a tiny model can learn.

    Reviews are lists of word ranks (no offsets applied, as in Keras' file). Positive
    reviews carry several of ranks 10-19, negative ones several of ranks 20-29, both
    mixed with common filler words, so sentiment is a function of the tokens.
    """
    rng = np.random.default_rng(seed)

    def reviews(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2, size=n)
        xs = []
        for label in labels:
            length = int(rng.integers(15, 40))
            filler = rng.integers(30, 200, size=length)
            cue = rng.integers(10, 20, size=6) if label else rng.integers(20, 30, size=6)
            where = rng.choice(length, size=6, replace=False)
            filler[where] = cue
            xs.append([int(v) for v in filler])
        x = np.empty(n, dtype=object)
        x[:] = xs
        return x, labels.astype(np.int64)

    x_train, y_train = reviews(n_train)
    x_test, y_test = reviews(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def tiny_config(data_path: Path, *extra: str) -> RunConfig:
    """A config that trains all three arms on synthetic data in seconds on a CPU.

    The compression report is off (``report.enabled=true`` among ``extra`` turns it on): its exports and its
    timing process cost far more than such a run trains. ``extra`` overrides come last; one that picks the teacher
    (``teacher=tiny-ngram``) replaces
    the small recurrent teacher's sizes, one that picks the student (``student=tiny-conv``) the tiny one.
    """
    other_teacher = any(item.startswith(("teacher=", "teacher.family=")) for item in extra)
    teacher = [] if other_teacher else ["teacher.embedding_dim=16", "teacher.lstm_units=8", "teacher.gru_units=8"]
    student = [] if any(item.startswith(("student=", "student.family=")) for item in extra) else ["student=tiny"]
    return apply_overrides(
        RunConfig(),
        [
            f"data.path={data_path}",
            "data.vocab_size=200",
            "data.maxlen=40",
            *teacher,
            *student,
            "train.epochs=2",
            "train.batch_size=32",
            "train.learning_rate=0.01",
            "train.teacher_learning_rate=null",  # the teacher learns at the same fast rate, not the recipe's
            "train.jit_compile=off",
            "report.enabled=false",  # costs tens of seconds; tests/engine/test_deploy.py turns it on
            *extra,
        ],
    )


class StopAt(RecordingReporter):
    """Asks to stop at the first tick of ``arm`` in epoch ``epoch`` (a run cancelled mid-arm)."""

    def __init__(self, arm: str, epoch: int):
        super().__init__()
        self.arm, self.epoch = arm, epoch

    def should_stop(self) -> bool:
        return any(e.kind == "tick" and e.arm == self.arm and e.epoch == self.epoch for e in self.events)


def simulated_run(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None) -> dict:
    """A stand-in for the pipeline whose batches only sleep: what a GPU-bound run asks of the host, no TensorFlow.

    ``python -m kdcore worker --runner kdcore.samples:simulated_run`` tries a worker or a cluster
    (``--ray``) out in seconds, and the cluster benchmark times dispatch with it. The teacher and
    the student each train ``train.epochs`` epochs of ``steps`` batches that sleep ``step_s``
    seconds, both read from the run's name (``"steps=20 step_s=0.1"``); it stops when asked.
    """
    opts = dict(part.split("=", 1) for part in config.name.split() if "=" in part)
    steps, step_s = int(opts.get("steps", 20)), float(opts.get("step_s", 0.1))
    epochs = config.train.epochs
    for arm in ("teacher", "student"):
        reporter.report(ProgressEvent("arm_start", arm, 0, 0, steps, epochs))
        for epoch in range(epochs):
            for step in range(1, steps + 1):
                time.sleep(step_s)
                if reporter.should_stop():
                    raise RunCancelled(f"{arm}: stopped")
                reporter.report(ProgressEvent("tick", arm, epoch, step, steps, epochs, {"loss": 1.0 / step}))
            reporter.report(ProgressEvent("epoch_end", arm, epoch, steps, steps, epochs, {"loss": 0.5}))
        reporter.report(ProgressEvent("arm_end", arm, epochs, 0, 0, epochs, {"test_accuracy": 0.5}))
    return {"arms": {}}
