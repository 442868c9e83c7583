"""The queue served by a Ray cluster: a head and three nodes on this machine, with logical GPUs.

One cluster for the module (``ray.cluster_utils.Cluster``: head without GPUs, node a with 1,
node b with 2, node blind with 1 but no sight of the shared home); each test starts its own
dispatcher process (``python -m kdcore worker --ray ADDRESS``) on its own home. Runs use the
worker tests' stand-in pipeline (``test_worker:fake_run``: events, stop checks, resume from the
run folder) except the last test, which trains the real pipeline. Every Ray process is stopped
at the end, and the module checks it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ray.cluster_utils import Cluster

from kdcore.config import RunConfig
from kdcore.samples import tiny_config
from kdcore.store import RunStore
from kdcore.store.cluster_view import cluster_state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
FAKE_RUNNER = "test_worker:fake_run"


@dataclass
class RayTestCluster:
    cluster: Cluster
    nodes: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, gpus: int, **args: Any) -> Any:
        self.nodes[name] = self.cluster.add_node(num_cpus=2, num_gpus=gpus, **args)
        self.cluster.wait_for_nodes()
        return self.nodes[name]

    def placed_on(self, where: str) -> tuple[str, Any]:
        """The node a placement ("host [abc123], GPU 0") names."""
        return next((name, n) for name, n in self.nodes.items() if f"[{n.node_id[:6]}]" in where)


def _ray_processes(session_dir: str) -> list[str]:
    """Processes of this cluster still alive (their command line names its session folder)."""
    alive = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if session_dir in cmdline:
            alive.append(f"{pid}: {cmdline[:120]}")
    return alive


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayTestCluster]:
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "num_gpus": 0, "include_dashboard": False,
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4}})
    test_cluster = RayTestCluster(cluster)
    session_dir = cluster.head_node.get_session_dir_path()
    try:
        test_cluster.add("a", 1)
        test_cluster.add("b", 2)
        test_cluster.add("blind", 1, env_vars={"KDCORE_CLUSTER_HOME": "/nonexistent/not-mounted"})
        yield test_cluster
    finally:
        cluster.shutdown()
    deadline = time.monotonic() + 20
    while _ray_processes(session_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes(session_dir), f"every Ray process is stopped: {_ray_processes(session_dir)}"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS / "worker"), str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["KDCORE_RAY_RUNTIME_ENV"] = json.dumps({"env_vars": {"PYTHONPATH": str(TESTS / "worker")}})
    return {**env, **extra}


@pytest.fixture
def dispatcher(ray_cluster: RayTestCluster, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``kdcore worker --ray`` processes on the module's cluster; stopped (SIGTERM, then kill) at teardown."""
    procs: list[subprocess.Popen] = []

    def start(home: Path, *extra: str, runner: str | None = FAKE_RUNNER, env: dict[str, str] | None = None
              ) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "kdcore", "worker", "--home", str(home), "--ray", ray_cluster.cluster.address,
               "--heartbeat-interval", "0.3", "--stale-after", "3", *extra]
        cmd += ["--runner", runner] if runner else []
        log = open(tmp_path / f"dispatcher-{len(procs)}.log", "w")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(**(env or {})),
                                      cwd=REPO_ROOT))
        log.close()
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("dispatcher-*.log")))


def fake(name: str, epochs: int = 2) -> RunConfig:
    return RunConfig(name=name, train={"epochs": epochs, "train_scratch": False})


def _no_duplicate_rows(store: RunStore, run_id: str, epochs: int, steps: int) -> None:
    curves = store.curves(run_id)
    ticks = curves[curves.kind == "tick"]
    keys = Counter(zip(ticks.arm, ticks.epoch, ticks.step, ticks.name))
    assert max(keys.values()) == 1, f"run {run_id}: a tick row written twice: {keys.most_common(2)}"
    for arm in ("teacher", "student"):
        epoch_rows = curves[(curves.kind == "epoch") & (curves.arm == arm) & (curves.name == "loss")]
        assert sorted(epoch_rows.epoch) == list(range(epochs)), f"{arm}: one epoch row per epoch: {epoch_rows}"
        arm_ticks = ticks[(ticks.arm == arm) & (ticks.name == "loss")]
        assert len(arm_ticks) == epochs * steps, f"{arm}: every batch once ({len(arm_ticks)} of {epochs * steps})"


def _attempt_intervals(store: RunStore, run_id: str) -> list[tuple[str, float, float]]:
    """(where, from, to) per attempt: from its first arm start to the next requeue, or the run's end."""
    run = store.get_run(run_id)
    places = store.placements(run_id)
    ends = [e["t"] for e in store.events(run_id, kinds=["requeue"])] + [run.finished_at]
    out, seen = [], set()
    for p in places:
        end = next(t for t in ends if t >= p["t"])
        if end not in seen:
            seen.add(end)
            out.append((p["where"], p["t"], end))
    return out


# -- tests ---------------------------------------------------------------------------------------------------


def test_ray__six_runs_each_once_one_per_gpu_with_its_own_devices(ray_cluster: RayTestCluster, dispatcher,
                                                                  tmp_path: Path) -> None:
    # given: six runs queued, three usable GPUs (a: 1, b: 2), one node blind to the shared home
    home = tmp_path / "home"
    store = RunStore(home)
    run_ids = [store.create_run(fake("steps=8 step_s=0.03")) for _ in range(6)]
    # when
    proc = dispatcher(home, "--exit-when-idle")
    busy = wait_for(lambda: (s := store.cluster()) and any("GPU" in r["where"] for n in s["nodes"] for r in n["runs"])
                    and s, 120, "the dashboard's view to show a run training on a node's GPU")
    code = proc.wait(timeout=180)
    # then: every run succeeded, once, in one attempt
    runs = [store.get_run(r) for r in run_ids]
    assert code == 0, _logs(tmp_path)
    assert [r.status for r in runs] == ["succeeded"] * 6, [(r.status, r.error) for r in runs]
    assert [r.attempts for r in runs] == [1] * 6
    pids = []
    for run in runs:
        calls = (home / "runs" / run.id / "calls.txt").read_text().splitlines()
        assert len(calls) == 1, f"run {run.id} was trained once: {calls}"
        pids.append(calls[0].split()[0])
        _no_duplicate_rows(store, run.id, epochs=2, steps=8)
    assert len(set(pids)) == 6, f"a fresh process per run (max_calls=1: GPU memory freed between runs): {pids}"
    # never two runs at a time on one logical GPU, and each saw its own CUDA_VISIBLE_DEVICES
    blind_id = ray_cluster.nodes["blind"].node_id
    by_gpu: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        (where, start, end), = _attempt_intervals(store, run.id)
        assert blind_id[:6] not in where, f"no run on the node that cannot see the shared home: {where}"
        assert where.endswith(f"GPU {run.summary['cuda_visible_devices']}"), (where, run.summary)
        by_gpu.setdefault(where, []).append((start, end))
    for where, spans in by_gpu.items():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"{where} ran two runs at once: {spans}"
    assert len(by_gpu) == 3, f"all three usable GPUs served: {sorted(by_gpu)}"
    # the dashboard's view of the nodes, as the sidebar and `kdcore cluster` show it
    state = cluster_state(busy, busy["updated_at"])
    rows = {r.node: r for r in state.rows}
    assert state.live and "4 nodes, 4 GPUs" in state.headline, state.headline
    blind = next(r for r in rows.values() if blind_id[:6] in r.node)
    assert "no runs: cannot read the shared kdcore home at /nonexistent/not-mounted" in blind.state, blind
    assert sum(r.runs != "-" for r in rows.values()) >= 1 and any("GPU" in r.runs for r in rows.values()), rows
    shown = subprocess.run([sys.executable, "-m", "kdcore", "cluster", "--home", str(home)], capture_output=True,
                           text=True, env=_env(), cwd=REPO_ROOT, timeout=60)
    assert shown.returncode == 0 and "stopped" in shown.stdout and blind_id[:6] in shown.stdout, shown


def test_ray__a_node_lost_mid_run_resumes_elsewhere_and_finishes_once(ray_cluster: RayTestCluster, dispatcher,
                                                                    tmp_path: Path) -> None:
    # given: one run of 3 epochs, its first epoch finished on some node
    home = tmp_path / "home"
    store = RunStore(home)
    run_id = store.create_run(fake("steps=20 step_s=0.05 slow=teacher", epochs=3))
    proc = dispatcher(home, "--exit-when-idle")
    wait_for(lambda: store.events(run_id, kinds=["epoch_end"]) or None, 120, "the first epoch's end")
    name, node = ray_cluster.placed_on(store.placements(run_id)[-1]["where"])
    node_id = node.node_id
    # when: that node is removed from the cluster (its processes killed)
    ray_cluster.cluster.remove_node(node, allow_graceful=False)
    del ray_cluster.nodes[name]
    try:
        code = proc.wait(timeout=180)
    finally:
        ray_cluster.add(name, 1 if name == "a" else 2)  # the next tests get the same cluster
    # then: placed again on another node, resumed from its last finished epoch, finished once
    run = store.get_run(run_id)
    assert code == 0 and run.status == "succeeded", (run.status, run.error, _logs(tmp_path))
    assert run.attempts == 2, run.attempts
    attempts = _attempt_intervals(store, run_id)
    assert len(attempts) == 2 and node_id[:6] in attempts[0][0] and node_id[:6] not in attempts[1][0], attempts
    resumed = [p for p in store.placements(run_id) if p["where"] == attempts[1][0] and p["arm"] == "teacher"]
    assert resumed and resumed[0]["epoch"] >= 1, f"the teacher resumed after its finished epoch: {resumed}"
    assert len((home / "runs" / run_id / "calls.txt").read_text().splitlines()) == 2
    _no_duplicate_rows(store, run_id, epochs=3, steps=20)
    assert f"[{node_id[:6]}] was lost" in store.logs(run_id), store.logs(run_id)


def test_ray__cancel_stops_a_remote_run_within_seconds_and_frees_its_gpu(dispatcher, tmp_path: Path) -> None:
    # given: a long run training on a node, and one that ignores the cancel flag (a step of 60 s)
    home = tmp_path / "home"
    store = RunStore(home)
    polite = store.create_run(fake("steps=2000 step_s=0.05", epochs=1))
    deaf = store.create_run(fake("steps=3 step_s=60", epochs=1))
    dispatcher(home, "--cancel-grace", "2")
    wait_for(lambda: len(store.curves(polite)) > 3 or None, 120, "the first run's first ticks")
    wait_for(lambda: store.placements(deaf) or None, 120, "the second run's start")
    # when
    asked = time.time()
    store.request_cancel(polite)
    store.request_cancel(deaf)
    # then: the first stops at its next batch, the second is killed after the grace; both GPUs freed
    wait_for(lambda: store.get_run(polite).status == "cancelled", 10, "the polite run to be cancelled")
    polite_s = store.get_run(polite).finished_at - asked
    wait_for(lambda: store.get_run(deaf).status == "cancelled", 20, "the deaf run to be killed and cancelled")
    assert polite_s < 5, f"cancelled {polite_s:.1f} s after the request"
    assert (home / "runs" / polite / "stopped.json").exists(), "the pipeline stopped between batches"
    wait_for(lambda: all(not n["runs"] for n in store.cluster()["nodes"]) and store.cluster()["updated_at"] > asked + 1,
             10, "the cluster view to show every GPU free again")
    assert "killing its process" in _logs(tmp_path)


def test_ray__a_dispatcher_restarted_mid_run_loses_and_doubles_nothing(dispatcher, tmp_path: Path) -> None:
    # given: a run past its first epoch under a dispatcher that is then killed outright
    home = tmp_path / "home"
    store = RunStore(home)
    run_id = store.create_run(fake("steps=20 step_s=0.05 slow=teacher", epochs=3))
    first = dispatcher(home)
    wait_for(lambda: store.events(run_id, kinds=["epoch_end"]) or None, 120, "the first epoch's end")
    first.kill()
    first.wait(timeout=10)
    # when: another dispatcher starts on the same home
    second = dispatcher(home, "--exit-when-idle")
    code = second.wait(timeout=180)
    # then
    run = store.get_run(run_id)
    assert code == 0 and run.status == "succeeded", (run.status, run.error, _logs(tmp_path))
    assert run.attempts == 2, run.attempts
    resumed = [p for p in store.placements(run_id) if p["arm"] == "teacher"]
    assert len(resumed) == 2 and resumed[1]["epoch"] >= 1, resumed
    _no_duplicate_rows(store, run_id, epochs=3, steps=20)


def test_ray__a_runtime_environment_that_cannot_be_built_stops_the_dispatcher_and_leaves_the_queue(
        dispatcher, tmp_path: Path) -> None:
    # given: a runtime environment no node can build (a conda env, and no conda)
    home = tmp_path / "home"
    store = RunStore(home)
    run_id = store.create_run(fake("steps=2 step_s=0.01"))
    extra = json.dumps({"env_vars": {"PYTHONPATH": str(TESTS / "worker")}, "conda": "kdcore-no-such-env"})
    # when
    code = dispatcher(home, env={"KDCORE_RAY_RUNTIME_ENV": extra}).wait(timeout=120)
    # then: one clear sentence, exit 2, published for the sidebar; the run still queued, never attempted
    run = store.get_run(run_id)
    assert code == 2 and "the store service did not start" in _logs(tmp_path), _logs(tmp_path)
    assert run.status == "queued" and run.attempts == 0, (run.status, run.attempts)
    assert "did not start" in store.cluster()["error"]


def test_ray__the_real_pipeline_reuses_a_teacher_cached_by_another_node(dispatcher, synthetic_imdb: Path,
                                                                       tmp_path: Path) -> None:
    # given: a sweep of two points sharing one teacher, on the shared home
    home = tmp_path / "home"
    store = RunStore(home)
    base = tiny_config(synthetic_imdb, "train.epochs=1").model_dump(mode="json")
    sweep_id = store.create_sweep({"base": base, "grid": {"distill.alpha": [0.1, 0.9]}})
    # when
    code = dispatcher(home, "--exit-when-idle", runner=None).wait(timeout=220)
    # then: both trained, the teacher once; the second run was placed on another node and read the cache
    runs = store.sweep_runs(sweep_id)
    assert code == 0 and [r.status for r in runs] == ["succeeded"] * 2, ([r.error for r in runs], _logs(tmp_path))
    sources = sorted(r.summary["teacher_source"] for r in runs)
    assert sources[1] == "trained" and sources[0].startswith("cache "), sources
    nodes = {store.placements(r.id)[0]["where"].split(",")[0] for r in runs}
    assert len(nodes) == 2, f"the two runs trained on two nodes: {nodes}"
    assert all((home / "runs" / r.id / "summary.json").exists() for r in runs), "artifacts on the shared home"
