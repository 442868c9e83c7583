"""Runs, their live metrics and logs, in one SQLite file that a worker writes while pages read.

The file itself (tables, migrations, WAL mode, ``BEGIN IMMEDIATE`` write transactions) is
:mod:`kdcore.store.schema`'s job, what a row means :mod:`kdcore.store.records`'s, and how a
progress event becomes rows :mod:`kdcore.store.rows`'; this module holds the queries on runs,
metrics and events, behind :class:`RunStore`, which also carries the per-thread connections
(:mod:`kdcore.store.connection`) and the workers table's queries (:mod:`kdcore.store.workers`).
SQL uses ``?`` parameters only. ``RUN_STATUSES`` and ``FINISHED`` are defined with the table
they constrain and importable from here.

This module must not import TensorFlow (the pages and the shell commands import it);
pandas is imported only by :meth:`RunStore.curves`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kdcore import paths
from kdcore.config import RunConfig, config_from_dict
from kdcore.progress import ProgressEvent
from kdcore.store.records import SELECT_RUN, RunRecord, WorkerRecord, new_run_id
from kdcore.store.rows import INSERT_EVENT, INSERT_METRIC, event_log_line, finite, metric_row
from kdcore.store.schema import FINISHED, RUN_STATUSES
from kdcore.store.sweeps import SweepTable
from kdcore.store.workers import WorkerTable

#: Importable from here, where they always were: records, row helpers and the schema's statuses.
__all__ = ["DEFAULT_MAX_CRASHES", "DEFAULT_STALE_AFTER_S", "FINISHED", "RUN_STATUSES", "RunRecord", "RunStore",
           "WorkerRecord", "event_log_line", "new_run_id"]

if TYPE_CHECKING:  # pragma: no cover
    import pandas

#: The event kind that says where an arm (re)started training; its text is the place.
PLACED = "placed"
#: A worker whose heartbeat is older than this is presumed dead (overridable per call).
DEFAULT_STALE_AFTER_S = 30.0
#: A run whose worker died this many times fails instead of going back to the queue
#: (a run that kills its worker, e.g. the kernel's OOM killer, must not loop forever).
DEFAULT_MAX_CRASHES = 3

CURVE_COLUMNS = ("arm", "kind", "epoch", "step", "fraction", "name", "value", "t")
_CURVE_DTYPES = {"arm": object, "kind": object, "epoch": "int64", "step": "int64", "fraction": "float64",
                 "name": object, "value": "float64", "t": "float64"}


class RunStore(SweepTable, WorkerTable):
    """The queue, progress, metrics and logs of every run under one kdcore home.

    Safe to share between threads (each thread gets its own connection) and between
    processes (SQLite locking). Cheap to create: the schema is written once per file.
    """

    # -- submitting and reading runs ----------------------------------------------------
    def create_run(self, config: RunConfig | dict, run_id: str | None = None) -> str:
        """Queue a run of ``config`` and return its id. Writes only to the database."""
        if not isinstance(config, RunConfig):
            config = config_from_dict(config)
        now = time.time()
        run_id = paths.validate_run_id(run_id if run_id is not None else new_run_id(now))
        try:
            with self._tx() as tx:
                tx.execute(
                    "INSERT INTO runs (id, name, status, config, created_at) VALUES (?, ?, 'queued', ?, ?)",
                    (run_id, config.name, config.model_dump_json(), now),
                )
                tx.execute(INSERT_EVENT, (run_id, now, "queued", None, None, "queued"))
        except sqlite3.IntegrityError as e:
            raise ValueError(f"run id {run_id!r} already exists") from e
        return run_id

    def get_run(self, run_id: str) -> RunRecord | None:
        paths.validate_run_id(run_id)
        row = self._conn().execute(f"{SELECT_RUN} WHERE id = ?", (run_id,)).fetchone()
        return RunRecord._from_row(row) if row else None

    def list_runs(self, statuses: Iterable[str] | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally only those in ``statuses``."""
        sql, params = SELECT_RUN, ()
        if statuses is not None:
            wanted = tuple(statuses)
            unknown = [s for s in wanted if s not in RUN_STATUSES]
            if unknown:
                raise ValueError(f"unknown run status {unknown[0]!r}; allowed: {', '.join(RUN_STATUSES)}")
            if not wanted:
                return []
            sql += f" WHERE status IN ({', '.join('?' * len(wanted))})"
            params = wanted
        rows = self._conn().execute(sql + " ORDER BY created_at DESC, rowid DESC", params).fetchall()
        return [RunRecord._from_row(row) for row in rows]

    def curves(self, run_id: str) -> pandas.DataFrame:
        """Every tick and epoch-end metric of a run, long format, sorted by arm and x."""
        import numpy as np
        import pandas as pd

        paths.validate_run_id(run_id)
        rows = self._conn().execute(
            f"SELECT {', '.join(CURVE_COLUMNS)} FROM metrics WHERE run_id = ? ORDER BY arm, fraction, rowid",
            (run_id,),
        ).fetchall()
        # Column by column: several times faster than DataFrame.from_records + astype.
        columns = list(zip(*rows)) if rows else [()] * len(CURVE_COLUMNS)
        return pd.DataFrame({name: np.array(values, dtype=_CURVE_DTYPES[name])
                             for name, values in zip(CURVE_COLUMNS, columns)})

    def logs(self, run_id: str) -> str:
        """The run's log: what training printed and a line per arm start (and where it trains), epoch end and
        arm end."""
        paths.validate_run_id(run_id)
        rows = self._conn().execute(
            "SELECT kind, arm, text FROM events WHERE run_id = ? AND kind != 'queued' ORDER BY t, rowid", (run_id,)
        ).fetchall()
        lines = [f"== {arm}: on {text}" if kind == PLACED else text for kind, arm, text in rows]
        return "\n".join(lines) + ("\n" if lines else "")

    def placements(self, run_id: str) -> list[dict[str, Any]]:
        """Where each arm trained, oldest first: ``{"t", "arm", "epoch", "where"}`` per arm start.

        An arm resumed by another worker (a node lost, a worker stopped) has one entry per attempt,
        from the epoch that attempt started at, so the Live page can say "epochs 1-2 on node a,
        from epoch 3 on node b".
        """
        rows = self._conn().execute(
            "SELECT t, arm, epoch, text FROM events WHERE run_id = ? AND kind = ? ORDER BY t, rowid",
            (paths.validate_run_id(run_id), PLACED)).fetchall()
        return [dict(zip(("t", "arm", "epoch", "where"), r)) for r in rows]

    def events(self, run_id: str, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The run's events as dicts (t, kind, arm, epoch, text), oldest first."""
        paths.validate_run_id(run_id)
        sql, params = "SELECT t, kind, arm, epoch, text FROM events WHERE run_id = ?", [run_id]
        if kinds is not None:
            wanted = list(kinds)
            sql += f" AND kind IN ({', '.join('?' * len(wanted))})"
            params += wanted
        rows = self._conn().execute(sql + " ORDER BY t, rowid", params).fetchall()
        return [dict(zip(("t", "kind", "arm", "epoch", "text"), r)) for r in rows]

    def request_cancel(self, run_id: str) -> str:
        """Ask a run to stop; returns its status afterwards.

        A queued run is cancelled at once; a running one gets the flag its worker reads
        between batches and stays ``running`` until the worker stops it; a finished run
        is left as it is. Unknown ids raise ``KeyError``.
        """
        paths.validate_run_id(run_id)
        now = time.time()
        with self._tx() as tx:
            row = tx.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run with id {run_id!r}")
            status = row[0]
            if status == "queued":
                tx.execute("UPDATE runs SET status = 'cancelled', cancel_requested = 1, finished_at = ? "
                           "WHERE id = ?", (now, run_id))
                tx.execute(INSERT_EVENT, (run_id, now, "cancel", None, None, "cancelled before it started"))
                return "cancelled"
            if status == "running":
                tx.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
                tx.execute(INSERT_EVENT, (run_id, now, "cancel", None, None, "cancel requested"))
            return status

    def delete_run(self, run_id: str) -> None:
        """Remove a run's rows and its artifact folder; a running run must be cancelled first."""
        folder = paths.run_dir(run_id, self.home)
        with self._tx() as tx:
            row = tx.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None and row[0] == "running":
                raise ValueError(f"run {run_id} is running; cancel it and wait for it to stop before deleting it")
            for table in ("metrics", "events"):
                tx.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            tx.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if folder.exists():
            shutil.rmtree(folder)

    def queue_counts(self) -> dict[str, int]:
        """How many runs are in each status (every status present, zero if none)."""
        counts = dict.fromkeys(RUN_STATUSES, 0)
        for status, n in self._conn().execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            counts[status] = n
        return counts

    def active_datasets(self) -> dict[str, list[str]]:
        """Dataset id -> ids of the queued or running runs whose config uses it (what may not be deleted)."""
        used: dict[str, list[str]] = {}
        rows = self._conn().execute(
            "SELECT id, config FROM runs WHERE status IN ('queued', 'running') ORDER BY created_at, rowid")
        for run_id, config in rows:
            try:
                dataset = (json.loads(config).get("data") or {}).get("dataset", "imdb")
            except (ValueError, AttributeError, TypeError):  # a damaged row: it cannot name its data
                continue
            if isinstance(dataset, str) and dataset != "imdb":
                used.setdefault(dataset, []).append(run_id)
        return used

    # -- the worker's side ----------------------------------------------------------------
    def claim_next(self, worker_id: str) -> RunRecord | None:
        """Atomically take the oldest queued run that may start now for ``worker_id`` (None if there is none).

        A run of a sweep waits while another worker trains the teacher it needs (same teacher key,
        not in the cache yet): it would train the same teacher again. Once that teacher is in the
        cache the run starts and reuses it, so a sweep's teacher is trained once however many
        workers serve. (Runs queued one by one carry no key and start as before.)
        """
        now = time.time()
        with self._tx() as tx:
            run_id = self._first_startable(tx)
            if run_id is None:
                return None
            tx.execute(
                "UPDATE runs SET status = 'running', worker_id = ?, heartbeat_at = ?, "
                "started_at = COALESCE(started_at, ?), attempts = attempts + 1, "
                "error = NULL, traceback = NULL WHERE id = ?",
                (worker_id, now, now, run_id),
            )
            tx.execute("UPDATE workers SET run_id = ?, heartbeat_at = ? WHERE id = ?", (run_id, now, worker_id))
            attempt = tx.execute("SELECT attempts FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            text = f"worker {worker_id} took the run" + (f" (attempt {attempt})" if attempt > 1 else "")
            tx.execute(INSERT_EVENT, (run_id, now, "claim", None, None, text))
            return RunRecord._from_row(tx.execute(f"{SELECT_RUN} WHERE id = ?", (run_id,)).fetchone())

    def _first_startable(self, tx: sqlite3.Connection) -> str | None:
        training = {key for (key,) in tx.execute(
            "SELECT DISTINCT teacher_key FROM runs WHERE status = 'running' AND teacher_key IS NOT NULL")
            if not (paths.teachers_dir(self.home) / key / "teacher.keras").exists()}
        for run_id, key in tx.execute("SELECT id, teacher_key FROM runs WHERE status = 'queued' "
                                      "ORDER BY created_at, rowid"):
            if key is None or key not in training:
                return run_id
        return None

    def heartbeat(self, run_id: str, worker_id: str) -> bool:
        """Say the run is alive; False if the run is no longer this worker's (requeued, deleted)."""
        cur = self._conn().execute(
            "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND worker_id = ? AND status = 'running'",
            (time.time(), run_id, worker_id),
        )
        return cur.rowcount == 1

    def holds(self, run_id: str, worker_id: str) -> tuple[bool, bool]:
        """(the worker still holds the run, cancel was requested): the cheap between-batch check."""
        row = self._conn().execute(
            "SELECT status = 'running' AND worker_id = ?, cancel_requested FROM runs WHERE id = ?",
            (worker_id, run_id),
        ).fetchone()
        if row is None:
            return False, True
        return bool(row[0]), bool(row[1])

    def cancel_requested(self, run_id: str) -> bool:
        row = self._conn().execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row[0]) if row else True

    def set_device(self, run_id: str, device: str) -> None:
        self._conn().execute("UPDATE runs SET device = ? WHERE id = ?", (device, run_id))

    def add_metrics(self, run_id: str, rows: Iterable[tuple[str, str, int, int, int, str, float, float]]) -> None:
        """Insert ``(arm, kind, epoch, step, steps, name, value, t)`` rows; epoch rows upsert."""
        with self._tx() as tx:
            tx.executemany(INSERT_METRIC, [metric_row(run_id, *row) for row in rows])

    def record_events(self, run_id: str, events: Sequence[tuple[float, ProgressEvent]],
                      worker_id: str | None = None, placement: str | None = None) -> bool:
        """Write a batch of timestamped progress events in one transaction.

        ``arm_start`` at epoch E first drops that arm's rows at epochs >= E (left by an
        attempt that died mid-epoch), so a resumed run has no duplicate or out-of-order
        ticks; epoch-end rows upsert. Ticks move the run's progress columns. With
        ``placement`` (where the writer trains: host or node, GPU), each arm start also
        records it (:meth:`placements`). Returns False, writing nothing, when ``worker_id``
        no longer holds the run.
        """
        if not events:
            return True
        with self._tx() as tx:
            if worker_id is not None:
                row = tx.execute("SELECT status, worker_id FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None or row[0] != "running" or row[1] != worker_id:
                    return False
            progress: tuple | None = None
            metric_rows: list[tuple] = []
            for t, event in events:
                if event.kind == "arm_start":
                    # Flush earlier rows first so the delete sees them in order.
                    tx.executemany(INSERT_METRIC, metric_rows)
                    metric_rows = []
                    tx.execute("DELETE FROM metrics WHERE run_id = ? AND arm = ? AND epoch >= ?",
                               (run_id, event.arm, event.epoch))
                    if placement:
                        tx.execute(INSERT_EVENT, (run_id, t, PLACED, event.arm, event.epoch, placement))
                if event.kind in ("tick", "epoch_end"):
                    kind = "tick" if event.kind == "tick" else "epoch"
                    step = event.step if kind == "tick" else (event.steps or event.step)
                    metric_rows.extend(
                        metric_row(run_id, event.arm, kind, event.epoch, step, event.steps, name, value, t)
                        for name, value in event.metrics.items()
                    )
                if event.kind not in ("log", "phase"):  # a phase names what runs, not how far
                    speed = event.metrics.get("samples_per_s") if event.kind == "tick" else None
                    progress = (event.arm, event.epoch, event.step, event.steps, event.epochs, speed)
                line = event_log_line(event)
                if line is not None:
                    tx.execute(INSERT_EVENT, (run_id, t, event.kind, event.arm or None,
                                               event.epoch if event.kind != "log" else None, line))
            tx.executemany(INSERT_METRIC, metric_rows)
            if progress is not None:
                arm, epoch, step, steps, epochs, speed = progress
                tx.execute(
                    "UPDATE runs SET arm = ?, epoch = ?, step = ?, steps = ?, epochs = ?, "
                    "samples_per_s = COALESCE(?, samples_per_s) WHERE id = ?",
                    (arm, epoch, step, steps, epochs, finite(speed) if speed is not None else None, run_id),
                )
        return True

    def finish(self, run_id: str, status: str, error: str | None = None, traceback: str | None = None,
               summary: dict | None = None, *, worker_id: str | None = None) -> bool:
        """Mark a run finished; with ``worker_id``, only if that worker still holds it."""
        if status not in FINISHED:
            raise ValueError(f"finish status must be one of {', '.join(sorted(FINISHED))}, got {status!r}")
        now = time.time()
        with self._tx() as tx:
            sql = ("UPDATE runs SET status = ?, finished_at = ?, heartbeat_at = ?, error = ?, traceback = ?, "
                   "summary = COALESCE(?, summary) WHERE id = ?")
            params: tuple = (status, now, now, error, traceback,
                             json.dumps(summary, default=str) if summary is not None else None, run_id)
            if worker_id is not None:
                sql += " AND worker_id = ? AND status = 'running'"
                params += (worker_id,)
            if tx.execute(sql, params).rowcount != 1:
                return False
            text = f"run {status}" + (f": {error}" if error else "")
            tx.execute(INSERT_EVENT, (run_id, now, status, None, None, text))
            if worker_id is not None:
                tx.execute("UPDATE workers SET run_id = NULL WHERE id = ?", (worker_id,))
        return True

    def requeue(self, run_id: str, worker_id: str, reason: str) -> bool:
        """Give a running run back to the queue (a worker stopping); it resumes elsewhere."""
        now = time.time()
        with self._tx() as tx:
            cur = tx.execute(
                "UPDATE runs SET status = 'queued', worker_id = NULL WHERE id = ? AND worker_id = ? "
                "AND status = 'running'", (run_id, worker_id))
            if cur.rowcount != 1:
                return False
            tx.execute(INSERT_EVENT, (run_id, now, "requeue", None, None, f"back in the queue: {reason}"))
            tx.execute("UPDATE workers SET run_id = NULL WHERE id = ?", (worker_id,))
        return True

    def requeue_stale(self, stale_after_s: float = DEFAULT_STALE_AFTER_S,
                      max_crashes: int = DEFAULT_MAX_CRASHES, run_ids: Iterable[str] | None = None) -> list[str]:
        """Runs whose worker stopped heartbeating go back to the queue; returns their ids.

        A run asked to cancel becomes ``cancelled`` instead, and one whose worker died
        ``max_crashes`` times becomes ``failed``. ``run_ids`` limits the sweep to those runs.
        """
        cutoff = time.time() - stale_after_s
        with self._tx() as tx:
            rows = tx.execute(
                "SELECT id, worker_id, cancel_requested, crashes + 1 FROM runs WHERE status = 'running' "
                "AND COALESCE(heartbeat_at, 0) < ?", (cutoff,)).fetchall()
            if run_ids is not None:
                wanted = set(run_ids)
                rows = [r for r in rows if r[0] in wanted]
            for run_id, worker_id, cancel, crashes in rows:
                _release(tx, run_id, cancel, crashes, max_crashes,
                         f"worker {worker_id} stopped heartbeating for over {stale_after_s:g} s")
        return [r[0] for r in rows]

    def release_crashed(self, run_id: str, worker_id: str, reason: str,
                        max_crashes: int = DEFAULT_MAX_CRASHES) -> str | None:
        """A run whose worker died under it (its node lost, its process killed), said by whoever saw it die.

        As :meth:`requeue_stale` would, but at once: back in the queue to resume (a crash counted),
        ``cancelled`` if a cancel was asked, ``failed`` after ``max_crashes``. Returns the new
        status, or None if ``worker_id`` no longer holds the run.
        """
        with self._tx() as tx:
            row = tx.execute("SELECT cancel_requested, crashes + 1 FROM runs WHERE id = ? AND status = 'running' "
                             "AND worker_id = ?", (run_id, worker_id)).fetchone()
            if row is None:
                return None
            return _release(tx, run_id, row[0], row[1], max_crashes, reason)


def _release(tx: sqlite3.Connection, run_id: str, cancel: int, crashes: int, max_crashes: int, why: str) -> str:
    """Take a running run from its dead worker: queued (it will resume), cancelled, or failed; the new status."""
    now = time.time()
    if cancel:
        status, text = "cancelled", f"{why}; run cancelled"
    elif crashes >= max_crashes:
        status = "failed"
        text = (f"the worker died {crashes} times while training this run (killed, out of memory, "
                f"or the machine stopped); not retrying")
    else:
        status, text = "queued", f"{why}; back in the queue, it will resume"
    if status == "queued":
        tx.execute("UPDATE runs SET status = 'queued', worker_id = NULL, crashes = ? WHERE id = ?",
                   (crashes, run_id))
    else:
        tx.execute("UPDATE runs SET status = ?, finished_at = ?, crashes = ?, error = ? WHERE id = ?",
                   (status, now, crashes, text if status == "failed" else None, run_id))
    tx.execute(INSERT_EVENT, (run_id, now, "requeue" if status == "queued" else status, None, None, text))
    return status
