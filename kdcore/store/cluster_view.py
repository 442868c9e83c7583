"""What the Ray dispatcher's cluster snapshot and a run's placements mean to a person: pure functions.

The dispatcher writes its view of the cluster into the store (:meth:`WorkerTable.publish_cluster`);
the sidebar's Cluster view and ``kdcore cluster`` read it through here, so both say the same thing;
the Live page's "Trained on" line reads a run's placements through :func:`arm_places`. No Ray, no
TensorFlow, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: A snapshot older than this (the dispatcher writes one every 2 s) means the dispatcher is not running.
SNAPSHOT_STALE_S = 15.0


@dataclass(frozen=True)
class NodeRow:
    """One node, as a table row."""

    node: str
    role: str  # "head" or "worker"
    gpus: str  # "1 of 2 busy"
    runs: str  # "run-id (GPU 0), ..." or "-"
    state: str  # "takes runs", or why not


@dataclass(frozen=True)
class ClusterState:
    """The cluster in one line and a row per node; ``live`` while a dispatcher writes fresh snapshots."""

    live: bool
    headline: str
    rows: tuple[NodeRow, ...] = ()

    def as_records(self) -> list[dict[str, str]]:
        return [{"node": r.node, "role": r.role, "GPUs": r.gpus, "running": r.runs, "state": r.state}
                for r in self.rows]


def cluster_state(snapshot: Mapping[str, Any] | None, now: float) -> ClusterState | None:
    """None when no dispatcher ever wrote to this store (runs are served by local workers)."""
    if not snapshot:
        return None
    address = snapshot.get("address") or "?"
    age = now - float(snapshot.get("updated_at") or 0)
    if snapshot.get("error"):
        return ClusterState(False, f"Ray dispatcher for {address} could not start: {snapshot['error']}")
    rows = tuple(_node_row(node, float(snapshot.get("gpus_per_run") or 0)) for node in snapshot.get("nodes") or ())
    alive = [n for n in snapshot.get("nodes") or () if n.get("alive")]
    gpus = sum(float(n.get("gpus") or 0) for n in alive)
    busy = sum(len(n.get("runs") or ()) for n in alive)
    slots = sum(int(n.get("slots") or 0) for n in alive if n.get("eligible"))
    counts = (f"{len(alive)} node{'s' * (len(alive) != 1)}, {gpus:g} GPU{'s' * (gpus != 1)}, "
              f"{busy} of {slots} run slot{'s' * (slots != 1)} busy")
    if snapshot.get("stopped"):
        return ClusterState(False, f"Ray dispatcher for {address} stopped ({_ago(age)}); last seen: {counts}", rows)
    if age > SNAPSHOT_STALE_S:
        return ClusterState(False, f"Ray dispatcher for {address} silent since {_ago(age)} (not running?); "
                                   f"last seen: {counts}", rows)
    return ClusterState(True, f"Ray cluster at {address}: {counts}", rows)


def _node_row(node: Mapping[str, Any], gpus_per_run: float) -> NodeRow:
    runs = node.get("runs") or []
    gpus = float(node.get("gpus") or 0)
    busy_gpus = len(runs) * gpus_per_run
    if not node.get("alive"):
        state = "gone: " + (node.get("why_not") or "left the cluster")
    elif node.get("eligible"):
        state = "takes runs"
    else:
        state = "no runs: " + (node.get("why_not") or "not checked yet")
    run_text = ", ".join(f"{r.get('run_id')} ({_gpu_part(r.get('where') or '')})" for r in runs) or "-"
    return NodeRow(node=str(node.get("name") or (node.get("node_id") or "?")[:6]),
                   role="head" if node.get("head") else "worker",
                   gpus=f"{busy_gpus:g} of {gpus:g} busy" if gpus else "none", runs=run_text, state=state)


def _gpu_part(where: str) -> str:
    """'host [abc123], GPU 1' -> 'GPU 1'; 'starting' stays."""
    return where.rpartition(", ")[2] if ", " in where else where


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def arm_places(placements: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Arm -> where it trained, in words: ``"host [abc123], GPU 0"``, or, resumed elsewhere,
    ``"host [abc123], GPU 0 (epochs 1-2), host [def456], GPU 1 (from epoch 3)"``."""
    by_arm: dict[str, list[Mapping[str, Any]]] = {}
    for p in placements:
        by_arm.setdefault(str(p["arm"]), []).append(p)
    text: dict[str, str] = {}
    for arm, places in by_arm.items():
        merged: list[list[Any]] = []  # [where, first epoch], consecutive repeats folded
        for p in places:
            if not merged or merged[-1][0] != p["where"]:
                merged.append([p["where"], int(p.get("epoch") or 0)])
        if len(merged) == 1:
            text[arm] = str(merged[0][0])
            continue
        parts = []
        for i, (where, first) in enumerate(merged):
            if i + 1 < len(merged):
                last = merged[i + 1][1]
                span = f"epoch {first + 1}" if last - first <= 1 else f"epochs {first + 1}-{last}"
                parts.append(f"{where} ({span})" if last > first else f"{where} (no epoch finished)")
            else:
                parts.append(f"{where} (from epoch {first + 1})")
        text[arm] = ", ".join(parts)
    return text
