"""The store's SQLite file: table definitions, migrations, and how a connection opens and writes.

WAL mode lets readers see a consistent snapshot while a writer commits, so the dashboard
never waits on training and training never waits on the dashboard. Every write goes
through :func:`transaction`, a ``BEGIN IMMEDIATE`` transaction: it takes the write lock
up front, so two workers claiming the queue at once serialise instead of both reading
the same "next run". Table definitions are constants; the queries live in
:mod:`kdcore.store`, whose :class:`~kdcore.store.RunStore` is what the rest of kdcore uses.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = frozenset({"succeeded", "failed", "cancelled"})

#: Bump when the DDL below changes, and say in MIGRATIONS how an older file catches up.
SCHEMA_VERSION = 3
#: How long a connection waits for another writer's lock before "database is locked".
BUSY_TIMEOUT_S = 30.0
#: Errors that say the file is busy or briefly unwritable (locked, I/O): worth a retry, never a failed run.
TRANSIENT_STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError,)

_STATUS_LIST = ", ".join(f"'{s}'" for s in RUN_STATUSES)

RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS runs (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ({_STATUS_LIST})),
    config           TEXT NOT NULL,
    created_at       REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    worker_id        TEXT,
    heartbeat_at     REAL,
    arm              TEXT,
    epoch            INTEGER,
    step             INTEGER,
    steps            INTEGER,
    epochs           INTEGER,
    samples_per_s    REAL,
    device           TEXT,
    error            TEXT,
    traceback        TEXT,
    summary          TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    crashes          INTEGER NOT NULL DEFAULT 0,
    sweep_id         TEXT,
    point            TEXT,
    teacher_key      TEXT
)"""
RUNS_QUEUE_INDEX_DDL = "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at)"
RUNS_SWEEP_INDEX_DDL = "CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep_id)"

#: A sweep: its spec as the user gave it; its runs point to it (``runs.sweep_id``), each with its grid ``point``.
SWEEPS_DDL = """
CREATE TABLE IF NOT EXISTS sweeps (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    spec       TEXT NOT NULL,
    created_at REAL NOT NULL
)"""

#: One row per (metric, tick) and per (metric, epoch end). ``fraction`` is the shared x axis.
METRICS_DDL = """
CREATE TABLE IF NOT EXISTS metrics (
    run_id   TEXT NOT NULL,
    arm      TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('tick', 'epoch')),
    epoch    INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    fraction REAL NOT NULL,
    name     TEXT NOT NULL,
    value    REAL,
    t        REAL NOT NULL
)"""
METRICS_RUN_INDEX_DDL = "CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id, arm, epoch)"
#: An epoch-end metric exists once per (run, arm, epoch, name): a resumed epoch overwrites it.
METRICS_EPOCH_UNIQUE_DDL = (
    "CREATE UNIQUE INDEX IF NOT EXISTS metrics_epoch_once ON metrics (run_id, arm, epoch, name) "
    "WHERE kind = 'epoch'"
)

#: The run's log and notable events (arm start/end, epoch ends, printed lines, requeues).
EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    t      REAL NOT NULL,
    kind   TEXT NOT NULL,
    arm    TEXT,
    epoch  INTEGER,
    text   TEXT NOT NULL
)"""
EVENTS_RUN_INDEX_DDL = "CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id)"

WORKERS_DDL = """
CREATE TABLE IF NOT EXISTS workers (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    devices      TEXT,
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    stopped_at   REAL,
    run_id       TEXT
)"""

#: Small key/value facts, e.g. when the app last spawned a local worker.
META_DDL = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

#: Statements that bring a store from version ``v - 1`` to ``v`` (new files get the DDL above).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE runs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0",),
    3: ("ALTER TABLE runs ADD COLUMN sweep_id TEXT", "ALTER TABLE runs ADD COLUMN point TEXT",
        "ALTER TABLE runs ADD COLUMN teacher_key TEXT"),
}

SCHEMA = (RUNS_DDL, RUNS_QUEUE_INDEX_DDL, RUNS_SWEEP_INDEX_DDL, SWEEPS_DDL,
          METRICS_DDL, METRICS_RUN_INDEX_DDL, METRICS_EPOCH_UNIQUE_DDL,
          EVENTS_DDL, EVENTS_RUN_INDEX_DDL, WORKERS_DDL, META_DDL)


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection to the store file, waiting up to BUSY_TIMEOUT_S for another writer's lock."""
    # isolation_level=None: no implicit transactions; transaction() says BEGIN IMMEDIATE itself.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: the write lock is taken at BEGIN, commit or roll back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (busy, I/O) leaves the transaction open: close it, so the
            # caller's retry starts clean instead of failing on "transaction within a transaction".
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def ensure_schema(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """Create the tables of a new file, or migrate an older one; a file from a newer kdcore is refused."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    conn.execute("PRAGMA journal_mode = WAL")  # persistent: a property of the file
    with transaction(conn) as tx:
        version = tx.execute("PRAGMA user_version").fetchone()[0]  # again, under the write lock
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{path} was written by a newer kdcore (schema {version}); upgrade kdcore")
        if version:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS.get(step, ()):
                    tx.execute(sql)
        for ddl in SCHEMA:
            tx.execute(ddl)
        tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
