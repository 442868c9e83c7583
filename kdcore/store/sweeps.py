"""The sweeps table and the queries on a sweep's runs: queue them all at once, read them, cancel them.

A sweep is queued in one transaction: all of its runs or none, so a refused point never
leaves half a sweep in the queue, and a worker that claims the first run sees the others as
they will be. Each run keeps its grid ``point`` and its ``teacher_key``; the queue uses the key
so that a teacher shared by many runs is trained by one worker only
(:meth:`kdcore.store.RunStore.claim_next`). Successive halving reads the other runs' epoch
metrics through :meth:`SweepTable.rung_values`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from kdcore.config import ConfigError
from kdcore.config.sweep import SweepPoint, SweepSpec, expand, parse_spec, trained_teacher_key
from kdcore.store.connection import StoreConnection
from kdcore.store.records import SELECT_RUN, RunRecord, SweepRecord, new_run_id
from kdcore.store.rows import INSERT_EVENT

#: ``sweep-20261201-170000-a1b2c3``: sorts by time, never mistaken for a run id's folder.
SWEEP_ID_PREFIX = "sweep-"


def new_sweep_id(now: float | None = None) -> str:
    return SWEEP_ID_PREFIX + new_run_id(now)


class SweepTable(StoreConnection):
    """The queries on sweeps; :class:`~kdcore.store.RunStore` has them all."""

    def create_sweep(self, spec: SweepSpec | dict, points: Sequence[SweepPoint] | None = None) -> str:
        """Queue every run of ``spec`` (expanded and validated here unless ``points`` are given); the sweep's id."""
        spec = parse_spec(spec)
        points = list(points) if points is not None else expand(spec)
        if not points:
            raise ConfigError(["grid: the sweep makes no runs"])
        now = time.time()
        sweep_id = new_sweep_id(now)
        with self._tx() as tx:
            tx.execute("INSERT INTO sweeps (id, name, spec, created_at) VALUES (?, ?, ?, ?)",
                       (sweep_id, spec.name, spec.model_dump_json(), now))
            for index, point in enumerate(points):
                run_id = f"{new_run_id(now)}-{index:03d}"
                # created_at keeps the grid's order in the queue (claim_next takes the oldest first)
                tx.execute(
                    "INSERT INTO runs (id, name, status, config, created_at, sweep_id, point, teacher_key) "
                    "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                    (run_id, point.config.name, point.config.model_dump_json(), now + index * 1e-6, sweep_id,
                     json.dumps(point.point), trained_teacher_key(point.config)))
                tx.execute(INSERT_EVENT, (run_id, now, "queued", None, None, f"queued by sweep {sweep_id}"))
        return sweep_id

    def get_sweep(self, sweep_id: str) -> SweepRecord | None:
        row = self._conn().execute("SELECT id, name, spec, created_at FROM sweeps WHERE id = ?",
                                   (sweep_id,)).fetchone()
        return _sweep(row) if row else None

    def list_sweeps(self) -> list[SweepRecord]:
        """Sweeps, newest first."""
        rows = self._conn().execute(
            "SELECT id, name, spec, created_at FROM sweeps ORDER BY created_at DESC, rowid DESC").fetchall()
        return [_sweep(row) for row in rows]

    def sweep_runs(self, sweep_id: str) -> list[RunRecord]:
        """The sweep's runs in grid order."""
        rows = self._conn().execute(f"{SELECT_RUN} WHERE sweep_id = ? ORDER BY created_at, rowid",
                                    (sweep_id,)).fetchall()
        return [RunRecord._from_row(row) for row in rows]

    def cancel_sweep(self, sweep_id: str) -> list[str]:
        """Cancel every queued or running run of the sweep (running ones stop at their next batch); their ids."""
        now = time.time()
        with self._tx() as tx:
            rows = tx.execute("SELECT id, status FROM runs WHERE sweep_id = ? AND status IN ('queued', 'running')",
                              (sweep_id,)).fetchall()
            for run_id, status in rows:
                if status == "queued":
                    tx.execute("UPDATE runs SET status = 'cancelled', finished_at = ?, cancel_requested = 1 "
                               "WHERE id = ?", (now, run_id))
                    tx.execute(INSERT_EVENT, (run_id, now, "cancelled", None, None,
                                               f"run cancelled with sweep {sweep_id} before it started"))
                else:
                    tx.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
                    tx.execute(INSERT_EVENT, (run_id, now, "cancel", None, None,
                                               f"cancel requested with sweep {sweep_id}"))
        return [row[0] for row in rows]

    def rung_values(self, sweep_id: str, arm: str, epoch: int, name: str, *, exclude: str) -> list[float]:
        """The epoch-end ``name`` of ``arm`` at ``epoch`` (0-based) of the sweep's other runs that reached it."""
        rows = self._conn().execute(
            "SELECT m.value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.sweep_id = ? AND r.id != ? "
            "AND m.arm = ? AND m.kind = 'epoch' AND m.epoch = ? AND m.name = ? AND m.value IS NOT NULL",
            (sweep_id, exclude, arm, epoch, name)).fetchall()
        return [float(row[0]) for row in rows]


def _sweep(row: Sequence) -> SweepRecord:
    try:
        spec = json.loads(row[2])
    except (TypeError, ValueError):
        spec = {}
    return SweepRecord(id=row[0], name=row[1], spec=spec if isinstance(spec, dict) else {}, created_at=row[3])
