"""The queue on a Ray cluster against one local worker: dispatch overhead, metric lag, a sweep over 4 GPUs.

    .venv/bin/python -m bench.ray_cluster                 # about 6 minutes on 2 CPU cores
    .venv/bin/python -m bench.ray_cluster --repeats 5 --sweep-runs 12

Everything runs on this machine: ``ray.cluster_utils.Cluster`` starts a head (no GPU) and two
nodes declaring 2 logical GPUs each, so Ray places and isolates runs as on a real cluster, but
all processes share this machine's cores. Three measurements:

1. Dispatch overhead: queue to first training batch of a real tiny run (the pipeline, TensorFlow
   imported), ``--repeats`` runs one after another, under a local worker and under the Ray
   dispatcher. The local worker imports TensorFlow once and keeps it; each Ray run is a fresh
   process (``max_calls=1``, so its GPU memory is freed), which pays the import every time.
2. Metric lag: for every training tick of those runs, when this process first saw its row in the
   store, minus when the training thread reported it (the same clock: one machine).
3. A simulated sweep: ``--sweep-runs`` runs whose batches sleep (a GPU's time, no CPU) through one
   local worker, then over the cluster's 4 logical GPUs; the wall-time ratio, and what bounds it.
Writes ``bench/results/ray-cluster.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.machine import machine_line, write_results
from kdcore.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
SIMULATED = "kdcore.samples:simulated_run"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["KDCORE_RAY_RUNTIME_ENV"] = json.dumps({"env_vars": {"PYTHONPATH": str(ROOT)}})
    return env


def start_server(home: Path, address: str | None, log: Path, *extra: str) -> subprocess.Popen:
    """A local worker (``address`` None) or a Ray dispatcher on ``home``."""
    cmd = [sys.executable, "-m", "kdcore", "worker", "--home", str(home), *extra]
    cmd += ["--ray", address] if address else []
    with open(log, "w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)


class LagWatch(threading.Thread):
    """Polls the store every 50 ms; for each new tick row, the delay between its report and its sight here."""

    def __init__(self, home: Path):
        super().__init__(daemon=True)
        from kdcore.store import RunStore

        self.store = RunStore(home)
        self.lags: list[float] = []
        self.first_tick: dict[str, float] = {}
        self.done = threading.Event()
        self._seen = 0

    def run(self) -> None:
        while not self.done.wait(0.05):
            rows = self.store._conn().execute(
                "SELECT rowid, run_id, t FROM metrics WHERE kind = 'tick' AND rowid > ? ORDER BY rowid",
                (self._seen,)).fetchall()
            now = time.time()
            for rowid, run_id, t in rows:
                self._seen = max(self._seen, rowid)
                self.lags.append(now - t)
                self.first_tick.setdefault(run_id, t)
        self.store.close_thread()

    def stop(self) -> None:
        self.done.set()
        self.join(5)


def dispatch_and_lag(home: Path, address: str | None, config: RunConfig, repeats: int, log: Path) -> dict[str, Any]:
    """``repeats`` real runs one after another on one server: queue-to-first-tick and tick lags.

    The first tick is reported after half a second of batches (the engine's tick interval) on both
    servers alike, so the difference between the two is the dispatch overhead.
    """
    from kdcore.store import RunStore

    store = RunStore(home)
    server = start_server(home, address, log)
    watch = LagWatch(home)
    watch.start()
    overheads = []
    try:
        for _ in range(repeats):
            run_id = store.create_run(config)
            queued = store.get_run(run_id).created_at
            deadline = time.monotonic() + 600
            while store.get_run(run_id).status in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.2)
            run = store.get_run(run_id)
            if run.status != "succeeded":
                raise RuntimeError(f"run {run_id} {run.status}: {run.error} (see {log})")
            time.sleep(0.3)
            if run_id not in watch.first_tick:
                raise RuntimeError(f"run {run_id} reported no training tick (see {log})")
            overheads.append(watch.first_tick[run_id] - queued)
    finally:
        watch.stop()
        server.terminate()
        server.wait(60)
    return {"queue_to_first_batch_s": overheads, "median_s": statistics.median(overheads),
            "lag_median_s": statistics.median(watch.lags), "lag_p95_s": _quantile(watch.lags, 0.95),
            "lag_max_s": max(watch.lags), "ticks": len(watch.lags)}


def sweep(home: Path, address: str | None, runs: int, name: str, log: Path) -> float:
    """Wall seconds, first claim to last finish, of ``runs`` simulated runs on one server."""
    from kdcore.store import RunStore

    store = RunStore(home)
    ids = [store.create_run(RunConfig(name=name, train={"epochs": 2, "train_scratch": False})) for _ in range(runs)]
    server = start_server(home, address, log, "--exit-when-idle", "--runner", SIMULATED, "--poll-interval", "0.2")
    server.wait(1200)
    done = [store.get_run(i) for i in ids]
    bad = [(r.id, r.status, r.error) for r in done if r.status != "succeeded"]
    if bad:
        raise RuntimeError(f"sweep runs did not succeed: {bad[:3]} (see {log})")
    return max(r.finished_at for r in done) - min(r.started_at for r in done)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def markdown(report: dict[str, Any]) -> str:
    local, remote = report["local"], report["ray"]
    lines = ["# The queue on a Ray cluster against one local worker", "",
             f"{report['date']} · {report['machine']} · Ray {report['ray_version']} · {report['cluster']}", "",
             f"## Dispatch overhead and metric lag ({report['repeats']} real tiny runs, one after another)", "",
             "| server | queue to first tick, median (s) | each run (s) | tick lag median (ms) | p95 (ms) "
             "| max (ms) |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for label, side in (("local worker", local), ("Ray dispatcher", remote)):
        each = ", ".join(f"{s:.1f}" for s in side["queue_to_first_batch_s"])
        lines.append(f"| {label} | {side['median_s']:.1f} | {each} | {side['lag_median_s'] * 1000:.0f} | "
                     f"{side['lag_p95_s'] * 1000:.0f} | {side['lag_max_s'] * 1000:.0f} |")
    s = report["sweep"]
    lines += ["", f"Ray adds **{remote['median_s'] - local['median_s']:.1f} s** per run from queue to first tick "
              "(median): each run is a new process that imports TensorFlow (the local worker imported it once, for "
              "its first run) plus Ray's task start. The first tick comes after the first batch (which builds and "
              "traces the model: seconds on a CPU) and half a second more of batches, alike on both servers, so "
              "the difference is the dispatch overhead. Runs 2 and 3 reuse the teacher and scratch student cached "
              "by run 1. The tick lag is from the training thread's report to the row's first sight in the store, "
              "read every 50 ms.", "",
              f"## A simulated sweep: {s['runs']} runs, batches that sleep {s['step_s']} s (2 arms x 2 epochs x "
              f"{s['steps']} steps, {s['gpu_s_per_run']:.0f} s of GPU time each)", "",
              "| server | wall time (s) |", "| --- | ---: |",
              f"| one local worker | {s['local_s']:.0f} |", f"| Ray, 4 logical GPUs on 2 nodes | {s['ray_s']:.0f} |",
              "", f"Wall-time ratio: **{s['ratio']:.2f}x** (4x is the bound of 4 GPUs). What holds it below 4x here: "
              "each Ray run starts a process and imports kdcore on a machine of 2 cores that all nodes share, and "
              f"{s['runs']} runs over 4 GPUs is {s['waves']} waves; with real training on these CPUs the cores, not "
              "the GPUs, would be the limit (2 cores: at most 2x). Rerun: `.venv/bin/python -m bench.ray_cluster`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="Real tiny runs per server for overhead and lag.")
    parser.add_argument("--sweep-runs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=20, help="Batches per epoch of a simulated run.")
    parser.add_argument("--step-s", type=float, default=0.1, help="Seconds a simulated batch sleeps.")
    args = parser.parse_args(argv)
    import ray
    from ray.cluster_utils import Cluster

    from kdcore.samples import tiny_config, write_synthetic_imdb

    root = Path(tempfile.mkdtemp(prefix="kd-ray-bench-"))
    data = write_synthetic_imdb(root / "synthetic_imdb.npz", n_train=1600, n_test=400)
    # batches of 8 and 1,600 reviews: epochs of a few seconds, so ticks (every 0.5 s of batches) come
    config = tiny_config(data, "train.epochs=1", "train.batch_size=8")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0, "include_dashboard": False})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=2, num_gpus=2)
        cluster.wait_for_nodes()
        report: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_line(),
                                  "ray_version": ray.__version__, "repeats": args.repeats,
                                  "cluster": "head (0 GPU) + 2 nodes x 2 logical GPUs, all on this machine"}
        for label, address in (("local", None), ("ray", cluster.address)):
            report[label] = dispatch_and_lag(root / f"{label}-real", address, config, args.repeats,
                                             root / f"{label}-real.log")
        name = f"steps={args.steps} step_s={args.step_s}"
        local_s = sweep(root / "local-sweep", None, args.sweep_runs, name, root / "local-sweep.log")
        ray_s = sweep(root / "ray-sweep", cluster.address, args.sweep_runs, name, root / "ray-sweep.log")
        report["sweep"] = {"runs": args.sweep_runs, "steps": args.steps, "step_s": args.step_s,
                           "gpu_s_per_run": 2 * 2 * args.steps * args.step_s, "local_s": local_s, "ray_s": ray_s,
                           "ratio": local_s / ray_s, "waves": -(-args.sweep_runs // 4)}
    finally:
        cluster.shutdown()
    write_results("ray-cluster", report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
