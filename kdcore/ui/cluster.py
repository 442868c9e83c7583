"""The Ray cluster in the sidebar and where each arm trained on the Live page; read from the store only.

The web process never connects to Ray (nor imports it): the dispatcher publishes its view of
the cluster into the store every two seconds, and these helpers show that row.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from kdcore.arms import arm_label
from kdcore.store import RunStore
from kdcore.store.cluster_view import ClusterState, arm_places, cluster_state


def read_cluster(home: str | Path | None = None, now: float | None = None) -> ClusterState | None:
    """The cluster as the store last heard of it; None without a dispatcher (or a readable store)."""
    try:
        with RunStore(home) as store:
            snapshot = store.cluster()
    except Exception:  # noqa: BLE001 - the sidebar's worker line already says the store is unreadable
        return None
    return cluster_state(snapshot, time.time() if now is None else now)


def sidebar_cluster(state: ClusterState | None) -> None:
    """A line and an expander of nodes, only where a Ray dispatcher serves (or tried to serve) this home."""
    if state is None:
        return
    if not state.live and not state.rows:
        st.warning(state.headline, icon=":material/lan:")
        return
    with st.expander("Cluster", icon=":material/lan:", expanded=False):
        (st.caption if state.live else st.warning)(state.headline)
        if state.rows:
            st.dataframe(state.as_records(), hide_index=True, width="stretch")


def trained_on(placements: Sequence[Mapping[str, Any]]) -> str | None:
    """"Teacher on A · Distilled student on B (from epoch 3) ..." for the Live page; None if nothing was placed."""
    places = arm_places(placements)
    if not places:
        return None
    if len(set(places.values())) == 1:  # one place for all: the usual local worker
        return next(iter(places.values()))
    return " · ".join(f"{arm_label(arm)}: {where}" for arm, where in places.items())
