"""Worker processes on this machine: the app's local worker, one process per GPU, who is alive.

Nothing here imports the engine or the worker loop: the dashboard calls
:func:`ensure_local_worker` and :func:`alive_workers`, and must stay free of TensorFlow.
A worker is started as ``python -m kdcore worker``, a process of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from kdcore.store import DEFAULT_STALE_AFTER_S, RunStore, WorkerRecord

#: The app does not spawn a second local worker within this many seconds of the first,
#: even if the first has not registered yet (several browser tabs at once).
SPAWN_GRACE_S = 20.0
WORKER_LOG = "worker.log"


# -- several GPUs: one process each -------------------------------------------------------------


def serve_devices(devices: Sequence[str], child_args: Sequence[str], log: TextIO = sys.stdout) -> int:
    """Start one worker process per device, pinned with ``CUDA_VISIBLE_DEVICES``; wait for all.

    SIGTERM/SIGINT here are passed on to the children (each hands its run back and exits).
    """
    stop = threading.Event()
    children: list[subprocess.Popen] = []
    for device in devices:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device}
        cmd = [sys.executable, "-m", "kdcore", "worker", *child_args]
        children.append(subprocess.Popen(cmd, env=env))
        print(f"worker for device {device}: pid {children[-1].pid}", file=log, flush=True)
    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    forwarded = False
    try:
        while any(c.poll() is None for c in children):
            if stop.wait(0.2) and not forwarded:
                for c in children:
                    if c.poll() is None:
                        c.send_signal(signal.SIGTERM)
                forwarded = True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return max((c.returncode or 0) for c in children)


@contextmanager
def stop_signals(handler: Callable[..., None]) -> Iterator[None]:
    """SIGTERM and SIGINT call ``handler`` (which only sets a flag) while inside; the old handlers after.

    Signals reach only the main thread: elsewhere (a worker served from a test's thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


# -- liveness, and the app's local worker ----------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists here (another user's counts: signal 0 was refused, not missed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive_workers(store: RunStore, stale_after: float = DEFAULT_STALE_AFTER_S) -> list[WorkerRecord]:
    """Workers that heartbeated within ``stale_after`` seconds and have not stopped.

    A worker on this host whose process is gone counts as dead at once.
    """
    host = socket.gethostname()
    return [w for w in store.workers(alive_within_s=stale_after) if w.host != host or pid_alive(w.pid)]


_spawned: list[subprocess.Popen] = []


def ensure_local_worker(home: str | os.PathLike[str] | None = None, *, extra_args: Sequence[str] = ()) -> bool:
    """Start a detached local worker unless one is alive; True if this call started one.

    The worker runs in a new session (it survives the app's restart and Ctrl-C) and
    writes to ``<home>/worker.log``. A worker started by hand counts as alive too.
    """
    store = RunStore(home)
    try:
        if alive_workers(store):
            return False
        if not store.claim_meta("local_worker_spawned_at", SPAWN_GRACE_S):
            return False  # another caller just started one; it is still registering
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        with open(store.home / WORKER_LOG, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kdcore", "worker", "--home", str(store.home), *extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, close_fds=True,
            )
    finally:
        store.close()
    _spawned.append(proc)
    # Reap it when it exits, so it does not linger as a zombie of a long-lived app.
    threading.Thread(target=proc.wait, name="kdcore-reap-worker", daemon=True).start()
    return True
