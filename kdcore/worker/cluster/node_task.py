"""What runs on a node: the shared-storage check, and one claimed run trained by a :class:`Worker`.

Artifacts travel through a folder shared by every node (NFS or similar; docs/cluster.md): the
run's folder with its per-epoch checkpoints, the teacher and scratch caches and the datasets all
live under the kdcore home, which each node mounts, at the same path as the head or at the path
in its ``KDCORE_CLUSTER_HOME``. So a run resumed on another node finds its checkpoints, and a
teacher cached by one node is reused by runs on any node. Only the SQLite file is the head's
alone (:mod:`~kdcore.worker.cluster.store_service`).

Why a probe: a node that does not see the shared folder would train into a folder nobody reads
and resume from nothing. The dispatcher writes a fresh token under the home at start; a node
gets runs only once :func:`probe_node` has read that token back and written one the head can
read (both directions of the mount work).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from kdcore.paths import NODE_HOME_ENV
from kdcore.store import RunRecord

#: The folder under the home the probe files live in.
PROBE_DIR = "cluster"
TOKEN_FILE = "token"


def node_home(head_home: str) -> Path:
    """Where this node sees the shared home: ``$KDCORE_CLUSTER_HOME``, else the head's path."""
    return Path(os.environ.get(NODE_HOME_ENV) or head_home)


def node_name(node_id: str, host: str | None = None) -> str:
    """How a node is named to people: its host name and the start of Ray's node id (hosts may repeat)."""
    return f"{host or socket.gethostname()} [{node_id[:6]}]"


def write_token(home: Path, token: str) -> None:
    folder = home / PROBE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{TOKEN_FILE}.{os.getpid()}"
    tmp.write_text(token)
    tmp.replace(folder / TOKEN_FILE)


def probe_node(head_home: str, token: str) -> dict[str, Any]:
    """On a node: does it see the shared home? ``{"ok", "why", "home", "host", "node_id"}``.

    Reads the dispatcher's token and writes ``cluster/seen-<node id>`` holding it, which the
    head then reads (:func:`seen_by_head`).
    """
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    home = node_home(head_home)
    where = f"{home}" + (f" (from ${NODE_HOME_ENV})" if os.environ.get(NODE_HOME_ENV) else "")
    answer: dict[str, Any] = {"ok": False, "why": None, "home": str(home), "host": socket.gethostname(),
                              "node_id": node_id}
    try:
        seen = (home / PROBE_DIR / TOKEN_FILE).read_text()
    except OSError as e:
        answer["why"] = f"cannot read the shared kdcore home at {where}: {e.strerror or e}"
        return answer
    if seen != token:
        answer["why"] = (f"{where} is not the head's kdcore home (another folder, or a stale copy): mount the "
                         f"shared folder there, or set ${NODE_HOME_ENV} to where it is mounted")
        return answer
    try:
        (home / PROBE_DIR / f"seen-{node_id}").write_text(token)
    except OSError as e:
        answer["why"] = f"cannot write to the shared kdcore home at {where}: {e.strerror or e}"
        return answer
    answer["ok"] = True
    return answer


def seen_by_head(home: Path, node_id: str, token: str) -> bool:
    """On the head: did the node's write come through?"""
    return _holds(home / PROBE_DIR / f"seen-{node_id}", token)


def run_on_node(run: RunRecord, worker_id: str, service: Any, head_home: str, token: str,
                runner_spec: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Train one claimed run here, as ``worker_id``; the store is the head's, through ``service``.

    Everything a local worker does holds: progress batched to the store, the cancel flag read
    between batches, resume from the run folder's last finished epoch, a failure recorded as the
    run's error. Returns the run's status as this worker left it, and where it trained.
    """
    import ray

    from kdcore.worker.cluster.store_service import StoreProxy
    from kdcore.worker.loop import Worker
    from kdcore.worker.runner import load_runner, pipeline_device, pipeline_runner

    home = node_home(head_home)
    node_id = ray.get_runtime_context().get_node_id()
    gpus = ",".join(str(g) for g in ray.get_gpu_ids())
    placement = node_name(node_id) + (f", GPU {gpus}" if gpus else ", no GPU")
    answer = {"status": None, "placement": placement, "pid": os.getpid(), "node_id": node_id,
              "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    if not seen_token(home, token):  # the mount went away since the probe: leave the run to the head
        answer["status"] = "refused"
        return answer
    runner, describe = load_runner(runner_spec) if runner_spec else (pipeline_runner, pipeline_device)
    worker = Worker(home, store=StoreProxy(service, home), worker_id=worker_id, runner=runner,
                    describe_device=lambda: f"{placement}: {describe()}", placement=placement,
                    log=sys.stdout, **options)
    started = time.time()
    answer["status"] = worker.execute(run)
    answer["seconds"] = time.time() - started
    return answer


def seen_token(home: Path, token: str) -> bool:
    """On a node: is the dispatcher's token still there (the shared home still mounted)?"""
    return _holds(home / PROBE_DIR / TOKEN_FILE, token)


def _holds(path: Path, token: str) -> bool:
    try:
        return path.read_text() == token
    except OSError:
        return False
