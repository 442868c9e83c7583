"""The head's side of a Ray cluster: claim queued runs, place each on a node with a free GPU, watch them.

The queue stays in the SQLite store (what the dashboard shows and cancels); Ray places and runs.
A run is claimed only when a node that sees the shared home has a free GPU, then submitted as
one Ray task with ``num_gpus`` (Ray picks the GPU and sets ``CUDA_VISIBLE_DEVICES``), a hard
node affinity (so it lands where the dispatcher counted a free GPU, and never on a node whose
probe failed) and ``max_calls=1`` (a fresh process per run: TensorFlow gives GPU memory back only
when its process exits).

Why Ray's own task retries are off (``max_retries=0``): a run lost with its node goes back to the
store's queue, counted as a crash, and is placed again like any queued run: on a node that sees
the shared home, under a new worker id, so the lost attempt (if its node comes back) can write
nothing more. The run's events say where each attempt trained, and the pipeline resumes from
the last finished epoch in the run folder.

Heartbeats: the dispatcher beats for every run it has in flight (Ray tells it within a second
or two when a task's node or process dies). If the dispatcher itself dies, Ray ends its tasks
with it; the beats stop, and the next dispatcher (or any worker, after ``stale_after``) puts
those runs back in the queue. Its worker ids carry its host and pid, so a dispatcher restarted
on the same head sees at once that they are orphans.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kdcore.paths import HOME_ENV, NODE_HOME_ENV, RAY_ENV
from kdcore.store import DEFAULT_MAX_CRASHES, DEFAULT_STALE_AFTER_S, TRANSIENT_STORE_ERRORS, RunRecord, RunStore
from kdcore.worker.cluster.connect import RayUnavailable, connect
from kdcore.worker.cluster.node_task import node_name, probe_node, run_on_node, seen_by_head, write_token
from kdcore.worker.cluster.store_service import StoreService
from kdcore.worker.loop import check_intervals, recover, work_pending
from kdcore.worker.processes import pid_alive, stop_signals

#: Seconds between looks at the cluster's nodes (new, gone, their probes) and snapshots for the dashboard.
NODES_INTERVAL_S = 2.0
#: A node whose probe failed is asked again after this many seconds (a mount may come up).
REPROBE_AFTER_S = 30.0
#: A cancelled run whose task has not stopped after this many seconds is killed (its process, so its GPU).
CANCEL_GRACE_S = 10.0
#: A JSON object merged over the runs' Ray runtime environment (:func:`default_runtime_env`).
RUNTIME_ENV_ENV = "KDCORE_RAY_RUNTIME_ENV"
#: Settings of the head that are not the nodes' (each finds its home; the address is the head's business).
NOT_FORWARDED = frozenset({HOME_ENV, RAY_ENV, NODE_HOME_ENV, RUNTIME_ENV_ENV})
#: Other settings of the head its runs get on the nodes.
FORWARDED = frozenset({"KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL"})
#: The exit code when Ray is missing or the cluster cannot be joined.
EXIT_NO_CLUSTER = 2


def dispatcher_id() -> str:
    return f"ray-{socket.gethostname()}-{os.getpid()}"


def default_runtime_env() -> dict[str, Any]:
    """What every run's process on a node gets: the head's kdcore and the head's kdcore settings.

    ``py_modules``: the head's kdcore travels to the nodes, so every node runs the code the head
    queues with (the nodes still need its dependencies, TensorFlow and the rest: ``pip install
    '.[ray]'``). ``env_vars``: the head's ``KDCORE_*`` settings (the IMDB file, the shared data
    folder; not the home, which each node finds itself) and ``KERAS_BACKEND``. ``$KDCORE_RAY_RUNTIME_ENV``,
    a JSON object, is merged over this (e.g. more ``env_vars``, or ``pip`` packages).
    """
    import json

    import kdcore

    forwarded = {k: v for k, v in os.environ.items()
                 if (k.startswith("KDCORE_") and k not in NOT_FORWARDED) or k in FORWARDED}
    env: dict[str, Any] = {"py_modules": [str(Path(kdcore.__file__).parent)], "env_vars": forwarded}
    extra_text = os.environ.get(RUNTIME_ENV_ENV, "").strip()
    if extra_text:
        try:
            extra = json.loads(extra_text)
        except ValueError as e:
            raise ValueError(f"${RUNTIME_ENV_ENV} must be a JSON object: {e}") from None
        if not isinstance(extra, dict):
            raise ValueError(f"${RUNTIME_ENV_ENV} must be a JSON object, got {type(extra).__name__}")
        env = {**env, **extra, "env_vars": {**forwarded, **(extra.get("env_vars") or {})}}
    return env


@dataclass
class Flight:
    """A run the dispatcher has placed: its Ray task, and where."""

    run_id: str
    worker_id: str
    node_id: str
    ref: Any
    submitted_at: float
    cancel_seen_at: float | None = None
    killed: bool = False


@dataclass
class NodeState:
    """What the dispatcher knows of a node: its resources, and whether it sees the shared home."""

    node_id: str
    host: str
    ip: str
    gpus: float
    cpus: float
    head: bool
    alive: bool = True
    probe: Any = None  # the probe task in flight
    probed_at: float = 0.0
    eligible: bool = False
    why_not: str | None = "checking that it sees the shared kdcore home"
    running: list[str] = field(default_factory=list)


class RayDispatcher:
    """Serves the store's queue on a Ray cluster until stopped (or idle, with ``exit_when_idle``)."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, address: str = "auto",
                 runner_spec: str | None = None, gpus_per_run: float = 1.0, cpus_per_run: float = 1.0,
                 poll_interval: float = 0.2, heartbeat_interval: float = 1.0,
                 stale_after: float = DEFAULT_STALE_AFTER_S, exit_when_idle: bool = False,
                 max_runs: int | None = None, max_crashes: int = DEFAULT_MAX_CRASHES, flush_interval: float = 0.5,
                 cancel_poll_interval: float = 0.2, cancel_grace: float = CANCEL_GRACE_S,
                 runtime_env: dict[str, Any] | None = None, worker_id: str | None = None, log: TextIO | None = None):
        if gpus_per_run < 0 or cpus_per_run < 0 or gpus_per_run == cpus_per_run == 0:
            raise ValueError(f"gpus_per_run and cpus_per_run must be >= 0 and not both 0, got {gpus_per_run:g} and "
                             f"{cpus_per_run:g}")
        check_intervals(stale_after, heartbeat_interval)
        self.store = RunStore(home)
        self.home = self.store.home
        self.address = address
        self.runner_spec = runner_spec
        self.gpus_per_run = gpus_per_run
        self.cpus_per_run = cpus_per_run
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.exit_when_idle = exit_when_idle
        self.max_runs = max_runs
        self.max_crashes = max_crashes
        self.cancel_grace = cancel_grace
        self.task_options = {"flush_interval": flush_interval, "cancel_poll_interval": cancel_poll_interval}
        self.runtime_env = runtime_env
        self.id = worker_id or dispatcher_id()
        self._log = log or sys.stdout
        self._stop = threading.Event()
        self.flights: dict[str, Flight] = {}
        self.nodes: dict[str, NodeState] = {}
        self.placed = 0  # runs submitted
        self.served = 0  # runs whose task ended
        self._seq = 0
        self.token = uuid.uuid4().hex
        self._ray: Any = None
        self._service: Any = None
        self._task: Any = None
        self._probe: Any = None
        self._nodes_at = float("-inf")
        self._beat_at = float("-inf")

    # -- flags and words --------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal handler and API: the loop hands its runs back to the queue and exits."""
        self._stop.set()

    def _say(self, text: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} dispatcher {self.id}: {text}", file=self._log, flush=True)


    # -- start and stop -------------------------------------------------------------------------------
    def serve(self) -> int:
        """Join the cluster and serve; the exit code (2, with the reason said and published, if no cluster)."""
        try:
            self._start()
        except RayUnavailable as e:
            self._say(str(e))
            self._publish_error(str(e))
            return EXIT_NO_CLUSTER
        try:
            with stop_signals(self.request_stop):
                while not self._stop.is_set() and self._step():
                    pass
        finally:
            self._shutdown()
        return 0

    def _start(self) -> None:
        try:
            runtime_env = self.runtime_env if self.runtime_env is not None else default_runtime_env()
        except ValueError as e:
            raise RayUnavailable(str(e)) from None
        ray = connect(self.address, namespace="kdcore", runtime_env=runtime_env, log_to_driver=False,
                      logging_level="WARNING", configure_logging=True)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        self._affinity = NodeAffinitySchedulingStrategy
        here = ray.get_runtime_context().get_node_id()
        service = ray.remote(StoreService).options(
            num_cpus=0, max_concurrency=32, max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
        self._service = service.remote(str(self.home))
        try:
            ray.get(self._service.ping.remote(), timeout=120)
        except Exception as e:  # noqa: BLE001 - said, then the cluster is left as found
            ray.shutdown()
            raise RayUnavailable(f"--ray {self.address}: the store service did not start on this node "
                                 f"({type(e).__name__}: {e})") from None
        self._task = ray.remote(max_calls=1, max_retries=0)(run_on_node)
        self._probe = ray.remote(probe_node)
        write_token(self.home, self.token)
        self.store.register_worker(self.id, devices=f"Ray cluster at {self.address}")
        self._say(f"serving {self.store.path} on the Ray cluster at {self.address} "
                  f"({self.gpus_per_run:g} GPU and {self.cpus_per_run:g} CPU per run)")

    def _shutdown(self) -> None:
        ray = self._ray
        for flight in list(self.flights.values()):  # stopping: each run goes back to the queue, to resume
            try:
                ray.cancel(flight.ref, force=True)
            except Exception:  # noqa: BLE001 - the task may have ended just now
                pass
            self._retrying(lambda f=flight: self.store.requeue(f.run_id, f.worker_id,
                                                                reason=f"dispatcher {self.id} was stopped"))
            self._say(f"run {flight.run_id}: stopped with the dispatcher; back in the queue")
        self.flights.clear()
        for node in self.nodes.values():
            node.running = []
        self._retrying(lambda: self.store.publish_cluster(self._snapshot(stopped=True)))
        self._retrying(lambda: self.store.stop_worker(self.id))
        try:
            ray.kill(self._service)
        except Exception:  # noqa: BLE001
            pass
        ray.shutdown()
        self._say(f"stopped after placing {self.placed} run(s)")

    def _publish_error(self, error: str) -> None:
        try:
            self.store.publish_cluster({"address": self.address, "dispatcher": self.id, "error": error, "nodes": [],
                                        "stopped": True})
        except TRANSIENT_STORE_ERRORS:
            pass

    def _retrying(self, call: Callable[[], Any], attempts: int = 20) -> Any:
        for i in range(attempts):
            try:
                return call()
            except TRANSIENT_STORE_ERRORS:
                time.sleep(min(0.1 * 2 ** i, 2.0))
        return None

    # -- the loop ------------------------------------------------------------------------------------
    def _step(self) -> bool:
        """One round: beats, ended tasks, nodes, cancels, new placements; False when the dispatcher should exit."""
        try:
            now = time.monotonic()
            if now - self._beat_at >= self.heartbeat_interval:
                self._beat_at = now
                self._heartbeat()
                self._recover()
                self._watch_cancels()
            self._collect(timeout=0)
            if now - self._nodes_at >= NODES_INTERVAL_S:
                self._nodes_at = now
                self._refresh_nodes()
            self._place()
            if self.exit_when_idle and not self.flights and not work_pending(self.store):
                return False
            if self.max_runs is not None and self.served >= self.max_runs and not self.flights:
                return False
        except TRANSIENT_STORE_ERRORS as e:
            self._say(f"the store is busy ({e}); trying again")
        self._collect(timeout=self.poll_interval)
        return True

    def _heartbeat(self) -> None:
        self.store.heartbeat_worker(self.id)
        for flight in list(self.flights.values()):
            if not self.store.heartbeat(flight.run_id, flight.worker_id) and not self._ended_by_itself(flight):
                self._say(f"run {flight.run_id}: no longer this dispatcher's; stopping its task")
                self._kill(flight)
                self._forget(flight)

    def _ended_by_itself(self, flight: Flight) -> bool:
        """The run is finished by its own task (which returns in a moment), not taken by another worker."""
        run = self.store.get_run(flight.run_id)
        return run is not None and run.worker_id == flight.worker_id and run.finished

    def _recover(self) -> None:
        """Runs of dead workers back to the queue: a dead dispatcher's on this host soon, others after stale_after."""
        for run_id in recover(self.store, self._orphans, self.stale_after, self.heartbeat_interval, self.max_crashes):
            self._say(f"run {run_id}: its worker went silent; recovered (it resumes from its last finished epoch)")

    def _orphans(self, silent: float) -> list[str]:
        """Running runs held by a dispatcher of this host (``ray-HOST-PID:N``) whose process is gone."""
        pattern = re.compile(rf"ray-{re.escape(socket.gethostname())}-(\d+)(?::\d+)?")
        ours = {f.worker_id for f in self.flights.values()}
        orphans = []
        for run in self.store.list_runs(["running"]):
            match = pattern.fullmatch(run.worker_id or "")
            if match and run.worker_id not in ours and int(match.group(1)) != os.getpid() \
                    and not pid_alive(int(match.group(1))):
                orphans.append(run.id)
        return orphans

    # -- nodes ---------------------------------------------------------------------------------------------
    def _refresh_nodes(self) -> None:
        ray = self._ray
        seen = set()
        for info in ray.nodes():
            node_id = info["NodeID"]
            if not info.get("Alive"):
                continue
            seen.add(node_id)
            resources = info.get("Resources") or {}
            node = self.nodes.get(node_id)
            if node is None or not node.alive:
                node = self.nodes[node_id] = NodeState(
                    node_id=node_id, host=info.get("NodeManagerHostname") or "?", ip=info.get("NodeManagerAddress", ""),
                    gpus=float(resources.get("GPU", 0)), cpus=float(resources.get("CPU", 0)),
                    head="node:__internal_head__" in resources)
                self._say(f"node {node_name(node_id, node.host)} joined: {node.gpus:g} GPU, {node.cpus:g} CPU")
            node.gpus, node.cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
            self._check_probe(node)
        for node_id, node in self.nodes.items():
            if node.alive and node_id not in seen:
                node.alive, node.eligible, node.why_not = False, False, "left the cluster"
                self._say(f"node {node_name(node_id, node.host)} left the cluster")
        self.store.publish_cluster(self._snapshot())

    def _check_probe(self, node: NodeState) -> None:
        ray = self._ray
        if node.probe is not None:
            ready, _ = ray.wait([node.probe], timeout=0)
            if not ready:
                return
            try:
                answer = ray.get(node.probe)
            except Exception as e:  # noqa: BLE001 - a probe that died says so
                answer = {"ok": False, "why": f"the check failed: {type(e).__name__}: {e}"}
            node.probe = None
            ok = bool(answer.get("ok")) and seen_by_head(self.home, node.node_id, self.token)
            why = answer.get("why") or (None if ok else f"the head cannot read what the node wrote under {self.home}")
            if ok != node.eligible or why != node.why_not:
                self._say(f"node {node_name(node.node_id, node.host)}: "
                          + ("sees the shared home; takes runs" if ok else f"gets no runs: {why}"))
            node.eligible, node.why_not = ok, why
            return
        if self.capacity(node) == 0:
            node.eligible = False
            node.why_not = f"has no GPU for a run ({self.gpus_per_run:g} each)" if self.gpus_per_run \
                else f"has too few CPUs for a run ({self.cpus_per_run:g} each)"
            return
        if not node.eligible \
                and time.monotonic() - node.probed_at >= (REPROBE_AFTER_S if node.probed_at else 0):
            node.probed_at = time.monotonic()
            node.probe = self._probe.options(num_cpus=0, max_retries=0, scheduling_strategy=self._affinity(
                node.node_id, soft=False)).remote(str(self.home), self.token)

    def capacity(self, node: NodeState) -> int:
        """Runs the node can hold at once: its GPUs over GPUs per run (CPUs when runs take no GPU)."""
        if self.gpus_per_run > 0:
            return int(math.floor(node.gpus / self.gpus_per_run + 1e-9))
        return int(math.floor(node.cpus / self.cpus_per_run + 1e-9))

    # -- placing and watching runs --------------------------------------------------------------------------
    def _place(self) -> None:
        queued_checked = False
        while not self._stop.is_set() and (self.max_runs is None or self.placed < self.max_runs):
            free = [(self.capacity(n) - len(n.running), n) for n in self.nodes.values() if n.alive and n.eligible]
            free = [(k, n) for k, n in free if k > 0]
            if not free:
                return  # a full cluster asks the store nothing
            if not queued_checked:  # a read first: claim_next takes the write lock
                if not self.store.queue_counts()["queued"]:
                    return
                queued_checked = True
            # the node with the most free GPUs, then the fewest runs: spread the runs (and their CPU, disk, network)
            _, node = max(free, key=lambda kn: (kn[0], -len(kn[1].running), kn[1].node_id))
            self._seq += 1
            worker_id = f"{self.id}:{self._seq}"
            run = self.store.claim_next(worker_id)
            if run is None:
                return
            self._submit(run, worker_id, node)

    def _submit(self, run: RunRecord, worker_id: str, node: NodeState) -> None:
        options: dict[str, Any] = {"num_cpus": self.cpus_per_run, "num_gpus": self.gpus_per_run,
                                   "name": f"kdcore-run-{run.id}",
                                   "scheduling_strategy": self._affinity(node.node_id, soft=False)}
        try:
            ref = self._task.options(**options).remote(run, worker_id, self._service, str(self.home), self.token,
                                                       self.runner_spec, self.task_options)
        except Exception as e:  # noqa: BLE001 - the run is not lost for it: back in the queue, said
            reason = f"could not place it: {type(e).__name__}: {e}"
            self._retrying(lambda: self.store.requeue(run.id, worker_id, reason=reason))
            raise
        self.flights[run.id] = Flight(run.id, worker_id, node.node_id, ref, time.time())
        node.running.append(run.id)
        self.placed += 1
        self._say(f"run {run.id} ({run.name or 'unnamed'}): placed on node {node_name(node.node_id, node.host)}, "
                  f"attempt {run.attempts}")

    def _collect(self, timeout: float) -> None:
        """Handle the tasks that ended (or wait up to ``timeout`` for one to)."""
        if not self.flights:
            if timeout:
                self._stop.wait(timeout)
            return
        by_ref = {f.ref: f for f in self.flights.values()}
        ready, _ = self._ray.wait(list(by_ref), num_returns=len(by_ref), timeout=timeout)
        for ref in ready:
            self._ended(by_ref[ref])

    def _ended(self, flight: Flight) -> None:
        ray = self._ray
        self._forget(flight)
        self.served += 1
        try:
            answer = ray.get(flight.ref)
        except ray.exceptions.RuntimeEnvSetupError as e:  # the node cannot start kdcore: retrying will not help
            self._fail(flight, e, "its node could not set up kdcore's environment (Ray's runtime_env; see "
                                  "$KDCORE_RAY_RUNTIME_ENV)")
            return
        except ray.exceptions.RayTaskError as e:  # our code failed on the node: the run fails, with the reason
            self._fail(flight, e, "on its node")
            return
        except Exception as e:  # noqa: BLE001 - the node, the process or the task is gone
            self._lost(flight, e)
            return
        status = answer.get("status")
        if status == "refused":
            self.store.requeue(flight.run_id, flight.worker_id,
                               reason=f"{answer.get('placement')} no longer sees the shared kdcore home")
            node = self.nodes.get(flight.node_id)
            if node is not None:
                node.eligible, node.why_not = False, "lost sight of the shared kdcore home"
        self._say(f"run {flight.run_id}: {status} on {answer.get('placement')}")

    def _fail(self, flight: Flight, error: BaseException, where: str) -> None:
        """The run fails with Ray's reason (its last line) and the whole remote traceback."""
        text = f"{where}: {_last_line(error)}"
        if self.store.finish(flight.run_id, "failed", error=text, traceback=str(error), worker_id=flight.worker_id):
            self._say(f"run {flight.run_id}: failed ({text})")

    def _lost(self, flight: Flight, error: BaseException) -> None:
        """The task ended without an answer: its node died, its process was killed, or we cancelled it.

        A node that died (or that Ray could no longer place on) gets no runs until a new probe
        passes, so the run is not sent back to it before Ray's node list catches up. A run that
        never started there is requeued without counting a crash.
        """
        exceptions = self._ray.exceptions
        node = self.nodes.get(flight.node_id)
        where = node_name(flight.node_id, node.host if node else None)
        unplaced = isinstance(error, exceptions.TaskUnschedulableError)
        node_gone = unplaced or isinstance(error, exceptions.NodeDiedError)
        if node is not None and node_gone:
            node.eligible, node.why_not, node.probed_at = False, "lost a run: checking it again", time.monotonic()
        if flight.killed:
            why = f"its task was stopped on node {where}"
        elif node_gone:
            why = f"node {where} was lost ({type(error).__name__})"
        else:
            why = f"its process on node {where} died ({type(error).__name__})"
        if flight.killed and self.store.cancel_requested(flight.run_id):
            done = self.store.finish(flight.run_id, "cancelled", worker_id=flight.worker_id)
            status = "cancelled" if done else None
        elif unplaced:
            status = "queued" if self.store.requeue(flight.run_id, flight.worker_id, reason=why) else None
        else:
            status = self.store.release_crashed(flight.run_id, flight.worker_id, why, max_crashes=self.max_crashes)
        if status is not None:
            self._say(f"run {flight.run_id}: {why}; {status}")

    def _watch_cancels(self) -> None:
        """A cancelled run stops by itself within a batch; one that does not within ``cancel_grace`` is killed."""
        now = time.time()
        for flight in list(self.flights.values()):
            if flight.killed:
                continue
            if flight.cancel_seen_at is None:
                if self.store.cancel_requested(flight.run_id):
                    flight.cancel_seen_at = now
            elif now - flight.cancel_seen_at >= self.cancel_grace:
                self._say(f"run {flight.run_id}: cancelled {self.cancel_grace:g} s ago and still running; "
                          f"killing its process (its GPU is freed)")
                self._kill(flight)

    def _kill(self, flight: Flight) -> None:
        flight.killed = True
        try:
            self._ray.cancel(flight.ref, force=True)
        except Exception:  # noqa: BLE001 - ended already
            pass

    def _forget(self, flight: Flight) -> None:
        self.flights.pop(flight.run_id, None)
        node = self.nodes.get(flight.node_id)
        if node is not None and flight.run_id in node.running:
            node.running.remove(flight.run_id)

    # -- what the dashboard sees ------------------------------------------------------------------------------
    def _snapshot(self, stopped: bool = False) -> dict[str, Any]:
        nodes = []
        for node in sorted(self.nodes.values(), key=lambda n: (not n.head, n.host, n.node_id)):
            runs = []
            for run_id in node.running:
                where = self.store.placements(run_id)
                runs.append({"run_id": run_id, "where": where[-1]["where"] if where else "starting"})
            nodes.append({"node_id": node.node_id, "name": node_name(node.node_id, node.host), "ip": node.ip,
                          "head": node.head, "alive": node.alive, "gpus": node.gpus, "cpus": node.cpus,
                          "slots": self.capacity(node), "eligible": node.eligible, "why_not": node.why_not,
                          "runs": runs})
        return {"address": self.address, "dispatcher": self.id, "pid": os.getpid(), "host": socket.gethostname(),
                "home": str(self.home), "gpus_per_run": self.gpus_per_run, "cpus_per_run": self.cpus_per_run,
                "error": None, "stopped": stopped, "nodes": nodes}


def _last_line(error: BaseException) -> str:
    """A Ray error's last line (its own message, after the remote traceback), never empty, never huge."""
    text = str(error).strip()
    return text.splitlines()[-1][:2000] if text else type(error).__name__


def run_dispatcher(home: str | os.PathLike[str] | None = None, *, address: str, **options: Any) -> int:
    """The ``kdcore worker --ray ADDRESS`` command."""
    return RayDispatcher(home, address=address, **options).serve()
