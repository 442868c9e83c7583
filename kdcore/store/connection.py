"""The store's file as one process uses it: a connection per thread, all closed together.

A ``sqlite3`` connection must stay in the thread that opened it, and the worker writes from
its training thread and its heartbeat thread at once; so each thread opens its own,
lazily, and :meth:`StoreConnection.close` closes them all. How a connection opens and
how a write transaction runs is :mod:`kdcore.store.schema`'s; the queries are in the
subclasses (:mod:`kdcore.store.workers`, :mod:`kdcore.store.run_store`).
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


class StoreConnection:
    """The SQLite file under one kdcore home, its schema ensured; safe to share between threads."""

    def __init__(self, home: str | os.PathLike[str] | None = None):
        self.home: Path = paths.home_dir(home)
        self.path: Path = paths.store_path(self.home)
        self.home.mkdir(parents=True, exist_ok=True)
        paths.runs_dir(self.home).mkdir(exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        ensure_schema(self._conn(), self.path)

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
