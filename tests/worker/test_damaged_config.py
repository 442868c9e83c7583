"""A queued run whose stored config is not JSON fails with a message; the worker lives on and serves the next run."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from kdcore.config import RunConfig
from kdcore.store import RunStore
from kdcore.worker.loop import Worker


def quick_run(config: RunConfig, run_dir: Path, reporter: Any, home: Any = None) -> dict[str, Any]:
    """A stand-in for the pipeline that succeeds at once."""
    return {"arms": {}}


def test_worker__damaged_config_fails_the_run_not_the_worker(kd_home: Path) -> None:
    # given: a damaged run queued before a healthy one
    store = RunStore(kd_home)
    damaged = store.create_run(RunConfig(name="damaged"))
    healthy = store.create_run(RunConfig(name="healthy"))
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET config = ? WHERE id = ?", ('{"train": {"epochs": 2', damaged))

    # when
    code = Worker(kd_home, runner=quick_run, describe_device=lambda: "fake device", poll_interval=0.05,
                  heartbeat_interval=0.1, stale_after=2.0, exit_when_idle=True, log=open(os.devnull, "w")).serve()

    # then
    run = store.get_run(damaged)
    assert code == 0, "the worker exits normally once the queue is empty"
    assert run.status == "failed" and "not valid JSON" in (run.error or ""), f"named: {run.status} {run.error!r}"
    assert store.get_run(healthy).status == "succeeded", "the worker goes on to the next run"
