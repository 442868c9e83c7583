"""The store's file as one process uses it: a connection per thread, all closed together.

A ``sqlite3`` connection must stay in the thread that opened it, and the worker writes from
its training thread and its heartbeat thread at once; so each thread opens its own,
lazily, and :meth:`StoreConnection.close` closes them all. How a connection opens and
how a write transaction runs is :mod:`kdcore.store.schema`'s; the queries are in the
subclasses (:mod:`kdcore.store.workers`, :mod:`kdcore.store.run_store`).

The file is also guarded as a file: a home that had a store (``STORE_MARKER`` says so; foreground
``kdcore run`` folders alone do not count) and whose ``runs/`` holds run folders but whose
database is gone is refused (an empty store created over it would hide every run, and
nothing would stop a run being trained twice), and :meth:`StoreConnection.file_changed`
tells a long-lived process (the worker) that the file it opened was removed or replaced
under it, since SQLite itself goes on writing to the old, unlinked file without a word.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

from kdcore import paths
from kdcore.store.schema import connect, ensure_schema, transaction

_Store = TypeVar("_Store", bound="StoreConnection")

#: Set to 1 to start a fresh, empty store in a home whose database is missing but whose runs remain.
NEW_STORE_ENV = "KDCORE_NEW_STORE"
#: A file beside the store, written once it exists: this home had a database, so a missing one was lost.
STORE_MARKER = ".store-created"


class StoreFileMissing(RuntimeError):
    """The database file is gone while run folders remain: refused rather than silently recreated empty."""


def _run_folders(runs: Path) -> list[str]:
    """Names of the folders under ``runs`` that look like runs (a stray file or odd name is not one)."""
    try:
        entries = list(runs.iterdir())
    except OSError:
        return []
    return sorted(e.name for e in entries if e.is_dir() and paths.RUN_ID_PATTERN.fullmatch(e.name))


def _refuse_missing_file(path: Path, runs: Path) -> None:
    folders = _run_folders(runs)
    if folders:
        shown = ", ".join(folders[:3]) + (f" and {len(folders) - 3} more" if len(folders) > 3 else "")
        raise StoreFileMissing(
            f"the run store {path} is missing, but {runs} holds {len(folders)} run folder(s) ({shown}): "
            f"the database was deleted or moved. Restore it (with its -wal file, if any) to see those runs; "
            f"or set {NEW_STORE_ENV}=1 to start a fresh, empty store beside them (their history is not recovered)."
        )


class StoreConnection:
    """The SQLite file under one kdcore home, its schema ensured; safe to share between threads."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, create: bool | None = None):
        """Open (or, in a new home, create) the store; ``create`` also starts a fresh one in a home whose
        database is missing but whose run folders remain (default: ``$KDCORE_NEW_STORE`` is 1)."""
        self.home: Path = paths.home_dir(home)
        self.path: Path = paths.store_path(self.home)
        runs = paths.runs_dir(self.home)
        if create is None:
            create = os.environ.get(NEW_STORE_ENV, "").strip() == "1"
        if not create and not self.path.exists() and (self.home / STORE_MARKER).exists():
            _refuse_missing_file(self.path, runs)
        self.home.mkdir(parents=True, exist_ok=True)
        runs.mkdir(exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        ensure_schema(self._conn(), self.path)
        self._identity = _file_identity(self.path)
        marker = self.home / STORE_MARKER
        if not marker.exists():
            try:
                marker.write_text(f"{self.path} was created or first opened here; if it goes missing, kdcore "
                                  f"refuses to start an empty one silently\n")
            except OSError:  # a read-only home still reads its store; it just cannot be guarded
                pass

    def file_changed(self) -> str | None:
        """Why the file this store opened is no longer at its path (removed, replaced), or None.

        Only a ``stat``: cheap enough for every heartbeat, and it works while the file is locked.
        """
        identity = _file_identity(self.path)
        if identity is None:
            return f"{self.path} was removed"
        if identity != self._identity:
            return f"{self.path} was replaced by another file"
        return None

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction on this thread's connection (see :func:`kdcore.store.schema.transaction`)."""
        return transaction(self._conn())

    def close_thread(self) -> None:
        """Close the calling thread's connection only: a thread that ends (a run's writer) frees its file handle."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino
