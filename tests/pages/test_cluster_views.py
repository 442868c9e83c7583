"""The Ray cluster in the app: the sidebar's Cluster expander (read from the store) and the Live page's "Trained on"."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore

WORKER_ID = "ray-head-1:1"
A0 = "gpu-a [aaaaaa], GPU 0"
B1 = "gpu-b [bbbbbb], GPU 1"


def live_snapshot() -> dict[str, Any]:
    """Two GPU nodes, one training a run on GPU 0."""
    def node(name: str, node_id: str, runs: list[dict[str, str]]) -> dict[str, Any]:
        return {"node_id": node_id, "name": f"{name} [{node_id[:6]}]", "ip": "10.0.0.2", "head": False,
                "alive": True, "gpus": 1.0, "cpus": 4.0, "slots": 1, "eligible": True, "why_not": None, "runs": runs}

    return {"address": "10.0.0.1:6379", "dispatcher": "ray-head-1", "error": None, "stopped": False,
            "gpus_per_run": 1.0, "cpus_per_run": 1.0,
            "nodes": [node("gpu-a", "aaaaaa01", [{"run_id": "run-one", "where": A0}]), node("gpu-b", "bbbbbb02", [])]}


def _expanders(at: AppTest, label: str) -> list[Any]:
    return [e for e in at.sidebar.expander if e.label == label]


def test_sidebar_cluster__live_snapshot_shows_an_expander_with_headline_and_nodes(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest]) -> None:
    # given a dispatcher that just published its view
    store.publish_cluster(live_snapshot())
    # when
    at = open_page()
    # then
    assert not at.exception, f"app raised: {at.exception}"
    found = _expanders(at, "Cluster")
    assert len(found) == 1, f"one Cluster expander in the sidebar: {[e.label for e in at.sidebar.expander]}"
    cluster = found[0]
    captions = " ".join(c.value for c in cluster.caption)
    assert "Ray cluster at 10.0.0.1:6379: 2 nodes, 2 GPUs, 1 of 2 run slots busy" in captions, captions
    assert len(cluster.dataframe) == 1, "the nodes are a table"
    table = cluster.dataframe[0].value
    assert list(table["node"]) == ["gpu-a [aaaaaa]", "gpu-b [bbbbbb]"], f"a row per node: {table}"
    assert list(table["running"]) == ["run-one (GPU 0)", "-"], f"what each node runs: {table}"


def test_sidebar_cluster__error_snapshot_is_a_sidebar_warning(kd_home: Path, store: RunStore,
                                                              open_page: Callable[..., AppTest]) -> None:
    # given what a dispatcher that could not join the cluster publishes
    error = "--ray 10.0.0.1:6379: no Ray head answers there (Connection refused)"
    store.publish_cluster({"address": "10.0.0.1:6379", "dispatcher": "ray-head-1", "error": error, "nodes": [],
                           "stopped": True})
    # when
    at = open_page()
    # then
    assert not at.exception, f"app raised: {at.exception}"
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert error in warnings and "could not start" in warnings, f"the sidebar says why: {warnings!r}"
    assert not _expanders(at, "Cluster"), "no nodes to list: no expander"


def test_sidebar_cluster__stale_snapshot_is_a_warning_inside_the_expander(kd_home: Path, store: RunStore,
                                                                          open_page: Callable[..., AppTest]) -> None:
    # given a snapshot a minute old (its dispatcher stopped beating)
    store.publish_cluster(live_snapshot())  # publishing stamps the time: age it by hand
    store._conn().execute("UPDATE meta SET value = json_set(value, '$.updated_at', ?) WHERE key = 'ray_cluster'",
                          (time.time() - 60,))
    # when
    at = open_page()
    # then
    assert not at.exception, f"app raised: {at.exception}"
    found = _expanders(at, "Cluster")
    assert len(found) == 1, "the last seen nodes are still listed"
    warnings = " ".join(w.value for w in found[0].warning)
    assert "silent since" in warnings and "not running?" in warnings, f"the headline warns: {warnings!r}"


def test_sidebar_cluster__no_snapshot_no_cluster_section(kd_home: Path, store: RunStore,
                                                         open_page: Callable[..., AppTest]) -> None:
    # given a home only local workers served
    assert store.cluster() is None
    # when
    at = open_page()
    # then
    assert not at.exception, f"app raised: {at.exception}"
    assert not _expanders(at, "Cluster"), "no Cluster expander without a dispatcher"
    assert not any("Ray" in w.value for w in at.sidebar.warning), "and no cluster warning"


def _arm(arm: str, t0: float, epochs: int = 2, steps: int = 2) -> list[tuple[float, ProgressEvent]]:
    events = [(t0, ProgressEvent("arm_start", arm, 0, 0, steps, epochs))]
    for epoch in range(epochs):
        events.append((t0 + epoch + 0.5, ProgressEvent("tick", arm, epoch, 1, steps, epochs, {"loss": 0.6})))
        events.append((t0 + epoch + 1, ProgressEvent("epoch_end", arm, epoch, steps, steps, epochs,
                                                     {"loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.7})))
    return events


def test_live__trained_on_caption_names_each_arms_place(kd_home: Path, store: RunStore,
                                                        open_page: Callable[..., AppTest],
                                                        texts: Callable[[AppTest], str]) -> None:
    # given a run whose teacher trained on node a and whose student trains on node b
    run_id = store.create_run(RunConfig(name="on two nodes"), run_id="run-placed")
    assert store.claim_next(WORKER_ID) is not None, "fixture: the run is claimed"
    assert store.record_events(run_id, _arm("teacher", 0.0), WORKER_ID, placement=A0)
    assert store.record_events(run_id, _arm("student", 10.0), WORKER_ID, placement=B1)
    # when
    at = open_page("pages/live.py", {"run": run_id})
    # then
    assert not at.exception, f"page raised: {at.exception}"
    captions = [c.value for c in at.caption if c.value.startswith("Trained on")]
    assert captions == [f"Trained on · Teacher: {A0} · Distilled student: {B1}"], \
        f"one caption naming both places: {captions}; page: {texts(at)[:2000]}"


def test_live__no_placements_no_trained_on_caption(kd_home: Path, store: RunStore,
                                                   open_page: Callable[..., AppTest]) -> None:
    # given a run trained by a writer that said nothing of where
    run_id = store.create_run(RunConfig(name="unplaced"), run_id="run-unplaced")
    assert store.claim_next(WORKER_ID) is not None, "fixture: the run is claimed"
    assert store.record_events(run_id, _arm("teacher", 0.0), WORKER_ID)
    # when
    at = open_page("pages/live.py", {"run": run_id})
    # then
    assert not at.exception, f"page raised: {at.exception}"
    assert not [c.value for c in at.caption if c.value.startswith("Trained on")], "nothing placed: no caption"
