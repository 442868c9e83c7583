"""What the dispatcher's snapshot and a run's placements say to a person: cluster_state, arm_places, trained_on."""

from __future__ import annotations

from typing import Any

from kdcore.arms import arm_label
from kdcore.store.cluster_view import SNAPSHOT_STALE_S, ClusterState, NodeRow, arm_places, cluster_state
from kdcore.ui.cluster import trained_on

NOW = 1_000_000.0
ADDRESS = "10.0.0.5:6379"


def _node(name: str, node_id: str, *, gpus: float, slots: int, eligible: bool, alive: bool = True,
          head: bool = False, why_not: str | None = None, runs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "name": f"{name} [{node_id[:6]}]", "ip": "10.0.0.1", "head": head, "alive": alive,
            "gpus": gpus, "cpus": 4.0, "slots": slots, "eligible": eligible, "why_not": why_not, "runs": runs or []}


def snapshot(*, age: float = 1.0, **fields: Any) -> dict[str, Any]:
    """A head without GPUs, node a (2 GPUs, one run on GPU 1), a blind node and a node that left."""
    nodes = [
        _node("head", "aaaaaa0001", gpus=0, slots=0, eligible=False, head=True,
              why_not="has no GPU for a run (1 each)"),
        _node("a", "bbbbbb0002", gpus=2, slots=2, eligible=True,
              runs=[{"run_id": "run-one", "where": "a [bbbbbb], GPU 1"}]),
        _node("blind", "cccccc0003", gpus=1, slots=1, eligible=False,
              why_not="cannot read the shared kdcore home at /shared: No such file or directory"),
        _node("dead", "dddddd0004", gpus=1, slots=1, eligible=False, alive=False, why_not="left the cluster"),
    ]
    return {"address": ADDRESS, "dispatcher": "ray-head-1", "error": None, "stopped": False, "gpus_per_run": 1.0,
            "cpus_per_run": 1.0, "nodes": nodes, "updated_at": NOW - age, **fields}


def _row(state: ClusterState, node: str) -> NodeRow:
    return next(r for r in state.rows if r.node.startswith(f"{node} ["))


# -- cluster_state ----------------------------------------------------------------------------------------


def test_cluster_state__no_snapshot_is_none() -> None:
    # given / when
    state = cluster_state(None, NOW)
    # then
    assert state is None, "without a dispatcher there is no cluster to show"


def test_cluster_state__error_snapshot_says_why_it_could_not_start() -> None:
    # given what a dispatcher that could not join publishes
    error = f"--ray {ADDRESS}: no Ray head answers there (Connection refused)"
    published = {"address": ADDRESS, "dispatcher": "ray-head-1", "error": error, "nodes": [], "stopped": True,
                 "updated_at": NOW - 1}
    # when
    state = cluster_state(published, NOW)
    # then
    assert state is not None and not state.live, "an error is not a live cluster"
    assert "could not start" in state.headline and error in state.headline, f"the error is said: {state.headline}"
    assert ADDRESS in state.headline, "the address is named"
    assert state.rows == (), "an error snapshot has no node rows"


def test_cluster_state__stopped_dispatcher_says_stopped_with_the_last_counts() -> None:
    # given
    published = snapshot(stopped=True, age=3.0)
    # when
    state = cluster_state(published, NOW)
    # then
    assert state is not None and not state.live, "a stopped dispatcher is not live"
    assert "stopped" in state.headline and "last seen: 3 nodes" in state.headline, state.headline
    assert len(state.rows) == 4, "the last seen nodes are still listed"


def test_cluster_state__stale_snapshot_says_silent() -> None:
    # given a snapshot written a minute ago (the dispatcher writes one every 2 s)
    published = snapshot(age=60.0)
    assert 60.0 > SNAPSHOT_STALE_S, "the test's age must be past the staleness limit"
    # when
    state = cluster_state(published, NOW)
    # then
    assert state is not None and not state.live, "a silent dispatcher is not live"
    assert "silent since" in state.headline and "60 s" in state.headline, f"how long it is silent: {state.headline}"
    assert "not running?" in state.headline and "last seen:" in state.headline, state.headline


def test_cluster_state__live_headline_counts_alive_nodes_gpus_and_slots() -> None:
    # given
    published = snapshot(age=1.0)
    # when
    state = cluster_state(published, NOW)
    # then: the dead node is not counted; slots only on nodes that take runs
    assert state is not None and state.live, "a fresh snapshot is live"
    assert state.headline == f"Ray cluster at {ADDRESS}: 3 nodes, 3 GPUs, 1 of 2 run slots busy", state.headline


def test_cluster_state__live_rows_say_gpus_runs_and_state() -> None:
    # given
    published = snapshot(age=1.0)
    # when
    state = cluster_state(published, NOW)
    # then
    assert state is not None
    head, a, blind, dead = (_row(state, n) for n in ("head", "a", "blind", "dead"))
    assert head.role == "head" and a.role == "worker", "the head is marked"
    assert head.gpus == "none", f"a node without GPUs says none: {head.gpus}"
    assert a.gpus == "1 of 2 busy", f"one run of one GPU on a 2-GPU node: {a.gpus}"
    assert a.runs == "run-one (GPU 1)", f"the run and its GPU: {a.runs}"
    assert a.state == "takes runs", a.state
    assert blind.state.startswith("no runs: cannot read the shared kdcore home"), blind.state
    assert blind.runs == "-", "a node without runs shows a dash"
    assert dead.state == "gone: left the cluster", dead.state


def test_cluster_state__as_records_has_one_dict_per_node() -> None:
    # given
    state = cluster_state(snapshot(), NOW)
    assert state is not None
    # when
    records = state.as_records()
    # then
    assert [r["node"] for r in records] == [r.node for r in state.rows], "one record per row, in order"
    assert set(records[0]) == {"node", "role", "GPUs", "running", "state"}, f"the table's columns: {records[0]}"
    assert records[1]["GPUs"] == "1 of 2 busy" and records[1]["running"] == "run-one (GPU 1)", records[1]


def test_cluster_state__one_node_one_gpu_is_singular() -> None:
    # given
    published = snapshot(nodes=[_node("a", "bbbbbb0002", gpus=1, slots=1, eligible=True)])
    # when
    state = cluster_state(published, NOW)
    # then
    assert state is not None
    assert state.headline.endswith(": 1 node, 1 GPU, 0 of 1 run slot busy"), state.headline


# -- arm_places and trained_on ----------------------------------------------------------------------------

A0 = "a [bbbbbb], GPU 0"
B1 = "b [eeeeee], GPU 1"


def _placed(arm: str, epoch: int, where: str, t: float) -> dict[str, Any]:
    return {"t": t, "arm": arm, "epoch": epoch, "where": where}


def test_arm_places__one_place_per_arm_is_just_the_place() -> None:
    # given
    placements = [_placed("teacher", 0, A0, 1.0), _placed("student", 0, A0, 2.0)]
    # when
    places = arm_places(placements)
    # then
    assert places == {"teacher": A0, "student": A0}, places


def test_arm_places__resumed_elsewhere_says_the_epochs_of_each_place() -> None:
    # given a teacher that trained epochs 1-2 on a, then resumed at epoch 3 (index 2) on b
    placements = [_placed("teacher", 0, A0, 1.0), _placed("teacher", 2, B1, 2.0)]
    # when
    places = arm_places(placements)
    # then
    assert places["teacher"] == f"{A0} (epochs 1-2), {B1} (from epoch 3)", places["teacher"]


def test_arm_places__same_place_repeated_is_folded() -> None:
    # given a run restarted twice on the same GPU
    placements = [_placed("student", 0, A0, 1.0), _placed("student", 1, A0, 2.0), _placed("student", 3, A0, 3.0)]
    # when
    places = arm_places(placements)
    # then
    assert places == {"student": A0}, f"repeats of one place fold into it: {places}"


def test_arm_places__nothing_placed_is_empty() -> None:
    # given / when / then
    assert arm_places([]) == {}, "no placements, no places"
    assert trained_on([]) is None, "nothing placed: no caption"


def test_trained_on__one_place_for_all_arms_is_just_the_place() -> None:
    # given
    placements = [_placed(arm, 0, A0, float(i)) for i, arm in enumerate(("teacher", "student", "scratch"))]
    # when
    text = trained_on(placements)
    # then
    assert text == A0, f"one place for every arm is said once: {text}"


def test_trained_on__different_places_are_said_per_arm_label() -> None:
    # given
    placements = [_placed("teacher", 0, A0, 1.0), _placed("student", 0, B1, 2.0)]
    # when
    text = trained_on(placements)
    # then
    assert text == f"{arm_label('teacher')}: {A0} · {arm_label('student')}: {B1}", text
    assert text.startswith("Teacher: ") and "Distilled student: " in text, text
