"""How the app is entered: deep links routed through app.py, and the local worker it starts.

``kdcore.worker`` and ``kdcore.store`` are only imported where they are used, so a page can
still explain a broken install instead of dying on import; no TensorFlow either way (the
web process must stay light; see docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Session-state key app.py sets on its first run in a session (and the worker check done).
ENTRY_FLAG = "worker_checked"
#: Query parameter that carries a deep link's page through app.py.
ENTRY_PAGE_PARAM = "page"


def entry_params(page: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters that send a page opened before app.py ran back through app.py.

    Streamlit runs a file in ``pages/`` on its own when a link to it is the first request a
    fresh server sees (before app.py's ``st.navigation`` has run once), skipping the page
    set-up and the worker start; the page redirects to app.py with these parameters.
    """
    return {**dict(query), ENTRY_PAGE_PARAM: page}


def entry_target(query: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(page name, the other parameters) when app.py was reached by :func:`entry_params`."""
    params = dict(query)
    return params.pop(ENTRY_PAGE_PARAM, None), params


def start_local_worker(home: str | Path | None = None) -> str | None:
    """Make sure a local worker runs; return a sentence for the user when it could not.

    With ``$KDCORE_RAY`` set, that worker is a Ray dispatcher serving the cluster at that address
    (docs/cluster.md); if it cannot join the cluster it says why in the sidebar's Cluster line and
    exits, and the queue waits, untouched. ``ensure_local_worker`` returns whether it spawned one
    (False: one is alive already);
    either way a worker exists. Any failure is turned into words: the dashboard still shows
    runs without a worker, and queued runs wait until one is started by hand.
    """
    try:
        from kdcore.paths import RAY_ENV
        from kdcore.worker import processes

        address = os.environ.get(RAY_ENV)
        if address:
            processes.ensure_local_worker(home, extra_args=("--ray", address))
        else:
            processes.ensure_local_worker(home)
        return None
    except Exception as e:  # noqa: BLE001 - shown to the user instead of a traceback
        return (f"Could not start a local worker ({type(e).__name__}: {e}). Queued runs wait until one runs: "
                "`python -m kdcore worker`.")


def worker_status(home: str | Path | None = None) -> str:
    """One line for the sidebar: live workers and the queue, so a stuck queue is explained."""
    try:
        from kdcore.store import RunStore
        from kdcore.worker import processes

        store = RunStore(home)
        try:
            alive = len(processes.alive_workers(store))
            counts = store.queue_counts()
        finally:
            store.close()
    except Exception as e:  # noqa: BLE001
        return f"Store not readable: {e}"
    workers = f"{alive} worker{'s' * (alive != 1)} alive" if alive else "no worker alive"
    return f"{workers} · {counts['running']} running · {counts['queued']} queued"
