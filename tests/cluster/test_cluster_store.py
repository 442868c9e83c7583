"""The store's side of a Ray cluster: the cluster snapshot, placements, a crashed run's release, the store service."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore
from kdcore.store.workers import CLUSTER_KEY
from kdcore.worker.cluster.store_service import PROXIED, StoreProxy, StoreService

CONFIG = RunConfig(name="unit")
WHERE = "host [abc123], GPU 0"


def _arm(arm: str, epoch: int = 0, t: float = 1000.0) -> list[tuple[float, ProgressEvent]]:
    return [(t, ProgressEvent("arm_start", arm, epoch, 0, 10, 2, message="starting")),
            (t + 1, ProgressEvent("tick", arm, epoch, 1, 10, 2, {"loss": 0.5}))]


def _crashes(store: RunStore, run_id: str) -> int:
    return store._conn().execute("SELECT crashes FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


# -- the cluster snapshot ------------------------------------------------------------------------------


def test_publish_cluster__round_trip_adds_updated_at(store: RunStore) -> None:
    # given
    snapshot = {"address": "auto", "error": None, "nodes": [{"name": "a [abc123]", "gpus": 2.0}]}
    before = time.time()
    # when
    store.publish_cluster(snapshot)
    read = store.cluster()
    # then
    assert read is not None, "the snapshot is read back"
    assert read["address"] == "auto" and read["nodes"] == snapshot["nodes"], f"the snapshot as written: {read}"
    assert before <= read["updated_at"] <= time.time(), f"the time it was written is added: {read['updated_at']}"


def test_publish_cluster__a_later_snapshot_replaces_the_first(store: RunStore) -> None:
    # given
    store.publish_cluster({"address": "auto", "nodes": []})
    # when
    store.publish_cluster({"address": "10.0.0.5:6379", "nodes": []})
    # then
    read = store.cluster()
    assert read is not None and read["address"] == "10.0.0.5:6379", f"only the last snapshot is kept: {read}"


def test_cluster__none_without_a_snapshot(store: RunStore) -> None:
    # given / when / then
    assert store.cluster() is None, "no dispatcher ever wrote: None"


@pytest.mark.parametrize("damaged", ["{not json", "[1, 2]"])
def test_cluster__damaged_meta_value_is_none(store: RunStore, damaged: str) -> None:
    # given
    store._conn().execute("INSERT INTO meta (key, value) VALUES (?, ?)", (CLUSTER_KEY, damaged))
    # when
    read = store.cluster()
    # then
    assert read is None, f"a damaged snapshot ({damaged!r}) reads as none, not an error"


# -- placements ------------------------------------------------------------------------------------------


def test_record_events__placement_writes_a_place_per_arm_start(store: RunStore, running: str) -> None:
    # given a teacher started, then resumed at epoch 2, and a student started
    batch = _arm("teacher") + _arm("teacher", epoch=1, t=1010.0) + _arm("student", t=1020.0)
    # when
    ok = store.record_events(running, batch, worker_id="w1", placement=WHERE)
    # then
    assert ok, "the holder's events are written"
    places = store.placements(running)
    assert [(p["arm"], p["epoch"], p["where"]) for p in places] == [
        ("teacher", 0, WHERE), ("teacher", 1, WHERE), ("student", 0, WHERE)], f"one place per arm start: {places}"
    assert places[0]["t"] == 1000.0, "the place carries the arm start's time"
    assert "== teacher: on host [abc123], GPU 0" in store.logs(running), store.logs(running)


def test_record_events__without_placement_records_no_place(store: RunStore, running: str) -> None:
    # given / when
    store.record_events(running, _arm("teacher"), worker_id="w1")
    # then
    assert store.placements(running) == [], "a writer that does not say where it trains places nothing"
    assert ": on " not in store.logs(running), store.logs(running)


def test_record_events__placement_refused_for_another_worker(store: RunStore, running: str) -> None:
    # given / when
    ok = store.record_events(running, _arm("teacher"), worker_id="w2", placement=WHERE)
    # then
    assert not ok and store.placements(running) == [], "a worker that does not hold the run places nothing"


# -- release_crashed -------------------------------------------------------------------------------------


def test_release_crashed__queues_the_run_with_a_crash_counted(store: RunStore, running: str) -> None:
    # when
    status = store.release_crashed(running, "w1", "node a was lost (NodeDiedError)")
    # then
    assert status == "queued", f"a run whose worker died goes back to the queue: {status}"
    run = store.get_run(running)
    assert run.status == "queued" and run.worker_id is None, f"queued and held by nobody: {run.status}"
    assert _crashes(store, running) == 1, "the crash is counted"
    assert "node a was lost" in store.logs(running), "the reason is in the log"


def test_release_crashed__cancel_requested_becomes_cancelled(store: RunStore, running: str) -> None:
    # given
    store.request_cancel(running)
    # when
    status = store.release_crashed(running, "w1", "its process died")
    # then
    assert status == "cancelled", f"a run asked to stop is not retried: {status}"
    assert store.get_run(running).status == "cancelled"


def test_release_crashed__fails_at_max_crashes(store: RunStore, running: str) -> None:
    # given a run that already crashed twice
    store._conn().execute("UPDATE runs SET crashes = 2 WHERE id = ?", (running,))
    # when
    status = store.release_crashed(running, "w1", "its process died", max_crashes=3)
    # then
    assert status == "failed", f"the third crash fails the run: {status}"
    run = store.get_run(running)
    assert run.status == "failed" and "3 times" in (run.error or ""), f"the error says why: {run.error}"
    assert _crashes(store, running) == 3


def test_release_crashed__none_when_another_worker_holds_it(store: RunStore, running: str) -> None:
    # when
    status = store.release_crashed(running, "w-other", "its process died")
    # then
    assert status is None, "only the holder's death releases the run"
    assert store.get_run(running).status == "running" and _crashes(store, running) == 0, "the run is untouched"


# -- the store service and its proxy ---------------------------------------------------------------------


def test_store_service__call_runs_a_proxied_store_method(kd_home: Path, store: RunStore, running: str) -> None:
    # given
    service = StoreService(str(kd_home))
    # when
    ok, value = service.call("holds", (running, "w1"), {})
    # then
    assert ok and value == (True, False), f"the store's answer, as a value: {ok}, {value}"
    assert service.ping() == str(store.path), "ping names the store file"


def test_store_service__busy_store_is_a_value_not_an_error(kd_home: Path, running: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    service = StoreService(str(kd_home))

    def locked(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(service.store, "heartbeat", locked)
    # when
    ok, value = service.call("heartbeat", (running, "w1"), {})
    # then
    assert not ok and value == "database is locked", f"a busy store comes back retryable: {ok}, {value}"


def test_store_service__refuses_a_name_it_does_not_serve(kd_home: Path) -> None:
    # given
    service = StoreService(str(kd_home))
    assert "delete_run" not in PROXIED, "deleting is not a node's business"
    # when / then
    with pytest.raises(AttributeError, match="delete_run"):
        service.call("delete_run", ("x",), {})


class FakeService:
    """An actor handle: ``.call.remote(...)`` returns what ``ray.get`` (patched) hands back."""

    def __init__(self, answer: tuple[bool, Any]):
        self.answer = answer
        self.sent: list[tuple[str, tuple, dict]] = []
        self.call = SimpleNamespace(remote=self._remote)

    def _remote(self, name: str, args: tuple, kwargs: dict) -> tuple[bool, Any]:
        self.sent.append((name, args, kwargs))
        return self.answer


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """A ``ray`` module whose ``get`` returns its argument; records the timeouts."""
    timeouts: list[float | None] = []

    def get(ref: Any, timeout: float | None = None) -> Any:
        timeouts.append(timeout)
        return ref

    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(get=get))
    return timeouts


def test_store_proxy__returns_the_service_answer(fake_ray: list[float | None], tmp_path: Path) -> None:
    # given
    service = FakeService((True, (True, False)))
    proxy = StoreProxy(service, tmp_path, timeout=7.0)
    # when
    answer = proxy.holds("run-1", "w1")
    # then
    assert answer == (True, False), f"the store's answer: {answer}"
    assert service.sent == [("holds", ("run-1", "w1"), {})], f"the call as sent: {service.sent}"
    assert fake_ray == [7.0], "the proxy waits at most its timeout"
    assert proxy.file_changed() is None and proxy.home == tmp_path


def test_store_proxy__busy_answer_raises_operational_error(fake_ray: list[float | None], tmp_path: Path) -> None:
    # given
    proxy = StoreProxy(FakeService((False, "database is locked")), tmp_path)
    # when / then: the node's reporter retries sqlite3.OperationalError
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        proxy.record_events("run-1", [], worker_id="w1", placement=WHERE)


def test_store_proxy__unproxied_name_is_an_attribute_error(tmp_path: Path) -> None:
    # given
    service = FakeService((True, None))
    proxy = StoreProxy(service, tmp_path)
    # when / then
    with pytest.raises(AttributeError, match="delete_run"):
        proxy.delete_run("run-1")
    assert service.sent == [], "nothing is sent for a refused name"
