"""``kdcore.samples.simulated_run``: the TensorFlow-free stand-in a worker or a cluster is tried out with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdcore.config import RunConfig
from kdcore.progress import RecordingReporter, RunCancelled
from kdcore.samples import simulated_run
from kdcore.store import RunStore
from kdcore.worker.loop import Worker


def test_simulated_run__a_worker_serves_it_like_the_pipeline(kd_home: Path) -> None:
    # given: a run of 2 epochs of 3 batches
    store = RunStore(kd_home)
    run_id = store.create_run(RunConfig(name="steps=3 step_s=0.001", train={"epochs": 2}))
    # when
    Worker(kd_home, runner=simulated_run, exit_when_idle=True, poll_interval=0.05, heartbeat_interval=0.1,
           stale_after=2.0, log=open(os.devnull, "w")).serve()
    # then: teacher and student each reported every batch and every epoch end
    assert store.get_run(run_id).status == "succeeded", store.get_run(run_id).error
    curves = store.curves(run_id)
    for arm in ("teacher", "student"):
        ticks = curves[(curves.arm == arm) & (curves.kind == "tick")]
        epochs = curves[(curves.arm == arm) & (curves.kind == "epoch")]
        assert len(ticks) == 6 and sorted(epochs.epoch) == [0, 1], f"{arm}: {len(ticks)} ticks, epochs {epochs}"


class StopAfterTicks(RecordingReporter):
    def should_stop(self) -> bool:
        return sum(e.kind == "tick" for e in self.events) >= 3


def test_simulated_run__stops_between_batches_when_asked(tmp_path: Path) -> None:
    # given a reporter that says stop after three ticks
    reporter = StopAfterTicks()
    # when / then
    with pytest.raises(RunCancelled):
        simulated_run(RunConfig(name="steps=50 step_s=0.001"), tmp_path, reporter)
    assert sum(e.kind == "tick" for e in reporter.events) == 3, "stopped at the next batch"
