"""Sweeps through the worker: one teacher for the whole sweep with two workers, successive halving in the queue.

The halving test drives an in-process worker with a stand-in pipeline that reports chosen
validation accuracies and asks the reporter, as the engine does, whether to stop; the slow test
trains a real tiny sweep with two worker processes and checks that the teacher was trained once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent, Reporter, prune_reason
from kdcore.samples import tiny_config
from kdcore.store import RunStore
from kdcore.worker.loop import Worker

REPO_ROOT = Path(__file__).resolve().parents[2]


def halving_fake(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None) -> dict[str, Any]:
    """A student whose validation accuracy is its alpha: it trains until the reporter says stop."""
    epochs_done = 0
    for epoch in range(config.train.epochs):
        metrics = {"val_accuracy": config.distill.alpha, "loss": 0.5}
        reporter.report(ProgressEvent("epoch_end", "student", epoch, 4, 4, config.train.epochs, metrics))
        epochs_done = epoch + 1
        reason = prune_reason(reporter, "student", epoch, metrics) if epoch + 1 < config.train.epochs else None
        if reason:
            reporter.report(ProgressEvent("log", "student", epoch, message=reason))  # as the engine does
            break
    return {"arms": {"student": {"epochs_trained": epochs_done}}}


def test_worker__successive_halving_stops_runs_below_the_best_at_each_rung(kd_home: Path) -> None:
    # given: four points, each worse than the one before, four epochs (rungs after epochs 1 and 2)
    store = RunStore(kd_home)
    sweep_id = store.create_sweep({"base": {"train": {"epochs": 4}}, "grid": {"distill.alpha": [0.8, 0.6, 0.4, 0.9]},
                                   "halving": {"enabled": True, "eta": 2}})
    # when
    Worker(kd_home, runner=halving_fake, exit_when_idle=True, poll_interval=0.05, heartbeat_interval=0.2,
           stale_after=2.0).serve()
    # then
    runs = store.sweep_runs(sweep_id)
    epochs = [r.summary["arms"]["student"]["epochs_trained"] for r in runs]
    assert epochs == [4, 1, 1, 4], f"the first and the best go on, the worse stop at the first rung: {epochs}"
    assert all(r.status == "succeeded" for r in runs), "a stopped point still finishes (tested, recorded)"
    assert "stopped by successive halving after epoch 1" in store.logs(runs[1].id), "the log says why it stopped"


def test_worker__halving_off_trains_every_epoch(kd_home: Path) -> None:
    # given
    store = RunStore(kd_home)
    sweep_id = store.create_sweep({"base": {"train": {"epochs": 3}}, "grid": {"distill.alpha": [0.8, 0.2]}})
    # when
    Worker(kd_home, runner=halving_fake, exit_when_idle=True, poll_interval=0.05, heartbeat_interval=0.2,
           stale_after=2.0).serve()
    # then
    epochs = [r.summary["arms"]["student"]["epochs_trained"] for r in store.sweep_runs(sweep_id)]
    assert epochs == [3, 3], f"without halving every point trains to the end: {epochs}"


@pytest.mark.slow
def test_sweep__two_workers_train_the_teacher_once(kd_home: Path, synthetic_imdb: Path, tmp_path: Path) -> None:
    # given: a sweep of 3 points sharing one teacher, served by two worker processes
    base = tiny_config(synthetic_imdb, "train.epochs=1").model_dump(mode="json")
    store = RunStore(kd_home)
    sweep_id = store.create_sweep({"base": base, "grid": {"distill.alpha": [0.1, 0.5, 0.9]}})
    cmd = [sys.executable, "-m", "kdcore", "worker", "--home", str(kd_home), "--poll-interval", "0.2",
           "--heartbeat-interval", "0.5", "--exit-when-idle"]
    logs = [open(tmp_path / f"worker-{i}.log", "w") for i in range(2)]
    workers = [subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT) for log in logs]
    try:
        codes = [w.wait(timeout=240) for w in workers]
    finally:
        for w in workers:
            w.kill()
        for log in logs:
            log.close()
    # then
    runs = store.sweep_runs(sweep_id)
    assert codes == [0, 0], f"both workers exit 0: {codes}"
    assert [r.status for r in runs] == ["succeeded"] * 3, f"every point finished: {[r.error for r in runs]}"
    sources = [r.summary["teacher_source"] for r in runs]
    assert sources.count("trained") == 1, f"the teacher was trained once, the others reused it: {sources}"
    assert all(s.startswith("cache ") for s in sources if s != "trained"), f"reused from the cache: {sources}"
    assert len({r.worker_id for r in runs}) == 2, "both workers served runs of the sweep"
