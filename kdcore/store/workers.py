"""The workers table: who serves the queue, from which host and process, and whether it still beats.

A worker registers when it starts, heartbeats from a thread of its own and marks itself
stopped when it exits; a worker killed outright just stops beating. The dashboard reads
this table to decide whether to start a local worker, and workers read it to recover the
runs of a dead one on their own host sooner than the heartbeat timeout
(:meth:`WorkerTable.local_runs`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from kdcore.store.connection import StoreConnection
from kdcore.store.records import WorkerRecord

#: The meta key that holds the Ray dispatcher's view of its cluster.
CLUSTER_KEY = "ray_cluster"


class WorkerTable(StoreConnection):
    """The queries on the ``workers`` and ``meta`` tables; :class:`~kdcore.store.RunStore` has them all."""

    def register_worker(self, worker_id: str, *, devices: str | None = None, pid: int | None = None) -> None:
        now = time.time()
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO workers (id, host, pid, devices, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
                (worker_id, socket.gethostname(), pid if pid is not None else os.getpid(), devices, now, now),
            )

    def heartbeat_worker(self, worker_id: str) -> None:
        self._conn().execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?", (time.time(), worker_id))

    def stop_worker(self, worker_id: str) -> None:
        now = time.time()
        self._conn().execute("UPDATE workers SET stopped_at = ?, heartbeat_at = ?, run_id = NULL WHERE id = ?",
                             (now, now, worker_id))

    def workers(self, alive_within_s: float | None = None) -> list[WorkerRecord]:
        """Registered workers, newest first; with ``alive_within_s``, only running ones that
        heartbeated within that many seconds."""
        sql = "SELECT id, host, pid, devices, started_at, heartbeat_at, stopped_at, run_id FROM workers"
        params: tuple = ()
        if alive_within_s is not None:
            sql += " WHERE stopped_at IS NULL AND heartbeat_at >= ?"
            params = (time.time() - alive_within_s,)
        rows = self._conn().execute(sql + " ORDER BY started_at DESC", params).fetchall()
        return [WorkerRecord(*r) for r in rows]

    def local_runs(self, host: str, silent_for_s: float) -> list[tuple[str, int]]:
        """(run id, worker pid) of running runs held by workers on ``host`` that have not
        heartbeated for ``silent_for_s`` seconds: the caller checks whether those pids live."""
        rows = self._conn().execute(
            "SELECT runs.id, workers.pid FROM runs JOIN workers ON runs.worker_id = workers.id "
            "WHERE runs.status = 'running' AND workers.host = ? AND COALESCE(runs.heartbeat_at, 0) < ?",
            (host, time.time() - silent_for_s)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def publish_cluster(self, snapshot: dict[str, Any]) -> None:
        """Store what the Ray dispatcher sees of its cluster (nodes, GPUs, who runs what), with the time.

        The dashboard and ``kdcore cluster`` read this row, not Ray: the store stays the one
        source they read, and the web process never connects to the cluster.
        """
        value = json.dumps({**snapshot, "updated_at": time.time()}, default=str)
        self._conn().execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                             "excluded.value", (CLUSTER_KEY, value))

    def cluster(self) -> dict[str, Any] | None:
        """The last :meth:`publish_cluster` snapshot (with ``updated_at``), None if no dispatcher ever wrote one."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (CLUSTER_KEY,)).fetchone()
        if row is None:
            return None
        try:
            snapshot = json.loads(row[0])
        except ValueError:
            return None
        return snapshot if isinstance(snapshot, dict) else None

    def claim_meta(self, key: str, fresh_within_s: float) -> bool:
        """Set ``key`` to now unless it was set within ``fresh_within_s``; True if this call set it.

        A cross-process "only one of us does this" (e.g. spawning the local worker).
        """
        now = time.time()
        with self._tx() as tx:
            row = tx.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None and now - float(row[0]) < fresh_within_s:
                return False
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                       "excluded.value", (key, repr(now)))
        return True
