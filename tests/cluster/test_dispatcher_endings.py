"""How the dispatcher reads the end of a run's Ray task: each Ray error leads to one store outcome.

No cluster: the dispatcher's Ray module is replaced by one whose ``get`` raises the error under
test (Ray's own exception classes), for a run claimed in a real store as a placement would claim it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import ray.exceptions

from kdcore.config import RunConfig
from kdcore.store import RunStore
from kdcore.worker.cluster.dispatcher import Flight, NodeState, RayDispatcher


def _placed(home: Path, error: BaseException) -> tuple[RayDispatcher, Flight, NodeState]:
    dispatcher = RayDispatcher(home, log=open(os.devnull, "w"))
    run_id = dispatcher.store.create_run(RunConfig(name="unit"))
    worker_id = f"{dispatcher.id}:1"
    assert dispatcher.store.claim_next(worker_id) is not None

    def get(ref: object) -> None:
        raise error

    dispatcher._ray = SimpleNamespace(get=get, exceptions=ray.exceptions)
    node = NodeState("n1" * 10, "gpu-1", "10.0.0.2", gpus=1, cpus=4, head=False, eligible=True, why_not=None)
    dispatcher.nodes[node.node_id] = node
    flight = Flight(run_id, worker_id, node.node_id, ref=object(), submitted_at=0.0)
    dispatcher.flights[run_id] = flight
    node.running.append(run_id)
    return dispatcher, flight, node


def _crashes(store: RunStore, run_id: str) -> int:
    return store._conn().execute("SELECT crashes FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


@pytest.mark.parametrize(("error", "status", "crashes", "benched"), [
    (ray.exceptions.NodeDiedError("node gone"), "queued", 1, True),
    (ray.exceptions.TaskUnschedulableError("no such node"), "queued", 0, True),
    (ray.exceptions.WorkerCrashedError(), "queued", 1, False),
    (ray.exceptions.RuntimeEnvSetupError("pip could not install nope"), "failed", 0, False),
])
def test_dispatcher_ended__each_ray_error_has_one_outcome(kd_home: Path, error: BaseException, status: str,
                                                        crashes: int, benched: bool) -> None:
    # given a placed run whose task ended with ``error``
    dispatcher, flight, node = _placed(kd_home, error)
    # when
    dispatcher._ended(flight)
    # then: requeued (a crash counted unless it never started) or failed at once; the node benched if it is gone
    run = dispatcher.store.get_run(flight.run_id)
    assert run.status == status, (run.status, run.error)
    assert _crashes(dispatcher.store, run.id) == crashes
    assert node.eligible is not benched, node.why_not
    assert flight.run_id not in dispatcher.flights and not node.running, "the GPU slot is free again"
    if status == "failed":
        assert "could not set up kdcore's environment" in run.error and "pip could not install nope" in run.error


def test_dispatcher_ended__a_killed_task_of_a_cancelled_run_is_cancelled(kd_home: Path) -> None:
    # given a run whose cancel was asked, and whose task the dispatcher killed after the grace
    dispatcher, flight, _ = _placed(kd_home, ray.exceptions.TaskCancelledError())
    dispatcher.store.request_cancel(flight.run_id)
    flight.killed = True
    # when
    dispatcher._ended(flight)
    # then
    assert dispatcher.store.get_run(flight.run_id).status == "cancelled"
