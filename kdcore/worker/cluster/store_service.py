"""The head's store, served to the nodes: an actor that owns the SQLite file, and the proxy a node uses.

Why an actor and not the file on shared storage: SQLite's locking is not safe over NFS, and the
store is the dashboard's single source of truth, so only processes on the head open it. A node's
worker gets a :class:`StoreProxy` where a local worker gets a :class:`~kdcore.store.RunStore`:
the same calls (the reporter's batched ``record_events``, the cancel check ``holds``, the run's
end), each a Ray call to :class:`StoreService`. The actor is threaded (``max_concurrency``), each
thread with its own SQLite connection, so one slow write does not hold up the other nodes.

A store that is only busy must stay retryable on the node (the reporter and the worker retry
:data:`~kdcore.store.TRANSIENT_STORE_ERRORS`, never failing a run for it): the service returns
such an error as a value, and the proxy raises it again as :class:`sqlite3.OperationalError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdcore.store import TRANSIENT_STORE_ERRORS, RunStore

#: The store calls a node's worker makes (and nothing else: a node cannot delete runs or sweeps).
PROXIED = frozenset({
    "record_events", "holds", "heartbeat", "set_device", "finish", "requeue", "cancel_requested",
    "get_run", "get_sweep", "rung_values",
})


class StoreService:
    """Runs :data:`PROXIED` store calls for the nodes, in the head's process that owns the file."""

    def __init__(self, home: str):
        self.store = RunStore(home)

    def ping(self) -> str:
        return str(self.store.path)

    def call(self, name: str, args: tuple, kwargs: dict) -> tuple[bool, Any]:
        """(True, result), or (False, message) for a store that is only busy; other errors propagate."""
        if name not in PROXIED:
            raise AttributeError(f"the store service does not serve {name!r}")
        try:
            return True, getattr(self.store, name)(*args, **kwargs)
        except TRANSIENT_STORE_ERRORS as e:
            return False, str(e)


class StoreProxy:
    """What a node's :class:`~kdcore.worker.loop.Worker` uses as its store: each call goes to the head."""

    def __init__(self, service: Any, home: str | Path, *, timeout: float = 60.0):
        self._service = service
        self.home = Path(home)
        self.timeout = timeout

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        import ray

        ok, value = ray.get(self._service.call.remote(name, args, kwargs), timeout=self.timeout)
        if not ok:
            raise sqlite3.OperationalError(value)
        return value

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in PROXIED:
            raise AttributeError(f"{name!r} is not served to the nodes (kdcore.worker.cluster.store_service.PROXIED)")
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)

    def close_thread(self) -> None:
        """Nothing to close here: the connections are the head's."""

    def file_changed(self) -> str | None:
        """The head's dispatcher watches the file; a node has none of its own."""
        return None
