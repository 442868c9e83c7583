"""Benchmark of the run store: what metric streaming costs training, and how fast curves read.

    .venv/bin/python -m bench.bench_store [--pairs 3] [--runs 100] [--rows 200000]

(a) A tiny real run (teacher + distilled student on synthetic IMDB-shaped data), trained
    with the worker's StoreReporter writing to a store, and with a NullReporter, in
    interleaved pairs (ABBA order, after one warm-up run); median of the pairs. Wall-clock
    overhead on a shared machine is noisy, so the time spent inside the reporter's calls
    (report + should_stop, i.e. the writes and cancel checks made on the training thread)
    is measured too: that is the overhead proper.
(b) ``RunStore.curves(run_id)`` with ``--runs`` runs and ``--rows`` metric rows in total.

Prints a Markdown table and writes ``bench/results/store.json``. Goals: overhead < 2 %,
curves < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import cpu_model
from kdcore.progress import NullReporter, ProgressEvent
from kdcore.samples import tiny_config, write_synthetic_imdb  # the tests' tiny data and config
from kdcore.store import RunStore
from kdcore.worker.reporter import StoreReporter

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "store.json"


class Timed:
    """Wraps a reporter and adds up the seconds spent in its calls."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def report(self, event: ProgressEvent) -> None:
        started = time.perf_counter()
        self.inner.report(event)
        self.seconds += time.perf_counter() - started
        self.calls += 1

    def should_stop(self) -> bool:
        started = time.perf_counter()
        answer = self.inner.should_stop()
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return answer


def machine() -> dict:
    cpu = cpu_model()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average_at_start": os.getloadavg()}


def one_run(data: Path, work: Path, streaming: bool) -> dict:
    """Train a tiny run in a fresh home (so the teacher is trained every time)."""
    from kdcore.engine.pipeline import run_experiment

    home = Path(tempfile.mkdtemp(dir=work))
    config = tiny_config(data, "train.train_scratch=false", "train.teacher_epochs=1", "train.epochs=2",
                         "train.batch_size=16")
    if streaming:
        store = RunStore(home)
        run_id = store.create_run(config)
        store.claim_next("bench")
        reporter = Timed(StoreReporter(store, run_id, "bench"))
    else:
        reporter, run_id = Timed(NullReporter()), "bench-null"
    started = time.perf_counter()
    run_experiment(config, home / "runs" / run_id, reporter, home=home)
    if streaming:
        reporter.inner.flush()
    seconds = time.perf_counter() - started
    rows = len(store.curves(run_id)) if streaming else 0
    return {"seconds": seconds, "reporter_seconds": reporter.seconds, "reporter_calls": reporter.calls,
            "metric_rows": rows}


def bench_training(pairs: int, work: Path) -> dict:
    data = write_synthetic_imdb(work / "synthetic.npz", n_train=1500, n_test=200)
    one_run(data, work, streaming=True)  # warm-up: imports, first compilations
    results = {"with": [], "without": []}
    for i in range(pairs):
        order = (True, False) if i % 2 == 0 else (False, True)
        for streaming in order:
            r = one_run(data, work, streaming)
            results["with" if streaming else "without"].append(r)
            print(f"  pair {i + 1} {'with' if streaming else 'without'} streaming: {r['seconds']:.2f} s "
                  f"(reporter {r['reporter_seconds'] * 1000:.1f} ms in {r['reporter_calls']} calls)", flush=True)
    with_s = statistics.median(r["seconds"] for r in results["with"])
    without_s = statistics.median(r["seconds"] for r in results["without"])
    paired = [(w["seconds"] - n["seconds"]) / n["seconds"] for w, n in zip(results["with"], results["without"])]
    inband = [r["reporter_seconds"] / r["seconds"] for r in results["with"]]
    null_inband = [r["reporter_seconds"] / r["seconds"] for r in results["without"]]
    return {
        "pairs": pairs, "runs": results,
        "median_with_s": with_s, "median_without_s": without_s,
        "wall_overhead_median_of_pairs": statistics.median(paired),
        "wall_overhead_of_medians": (with_s - without_s) / without_s,
        "reporter_share_median": statistics.median(inband),
        "null_reporter_share_median": statistics.median(null_inband),
        "metric_rows_per_run": results["with"][0]["metric_rows"],
    }


def bench_curves(runs: int, rows: int, work: Path, repeats: int = 25) -> dict:
    home = Path(tempfile.mkdtemp(dir=work))
    store = RunStore(home)
    per_run = rows // runs
    ids = []
    arms, names = ("teacher", "student", "scratch"), ("loss", "accuracy", "samples_per_s", "hard_loss")
    for _ in range(runs):
        run_id = store.create_run(tiny_config(Path("x.npz")))
        ids.append(run_id)
        batch = []
        steps = 100
        i = 0
        while len(batch) < per_run:
            arm, name = arms[(i // steps) % 3], names[i % 4]
            epoch, step = i // (steps * 3), i % steps + 1
            batch.append((arm, "tick", epoch, step, steps, name, 1.0 / (i + 1), 1e9 + i))
            i += 1
        store.add_metrics(run_id, batch)
    total = store._conn().execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    store.curves(ids[0])  # warm-up (pandas import)
    timings = []
    for k in range(repeats):
        started = time.perf_counter()
        frame = store.curves(ids[(k * 37) % runs])
        timings.append(time.perf_counter() - started)
    return {"runs": runs, "metric_rows": total, "rows_per_curves_call": len(frame),
            "median_ms": statistics.median(timings) * 1000, "max_ms": max(timings) * 1000, "repeats": repeats,
            "db_bytes": store.path.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="interleaved with/without pairs (>= 3)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--skip-training", action="store_true", help="only (b)")
    args = parser.parse_args(argv)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, SQLite {info['sqlite']}, "
          f"load {info['load_average_at_start']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kdbench-") as tmp:
        work = Path(tmp)
        curves = bench_curves(args.runs, args.rows, work)
        training = None if args.skip_training else bench_training(args.pairs, work)
    lines = ["| measure | value | goal |", "| --- | --- | --- |",
             f"| curves(run_id), {curves['runs']} runs, {curves['metric_rows']:,} rows "
             f"({curves['rows_per_curves_call']:,} returned) | median {curves['median_ms']:.1f} ms, "
             f"max {curves['max_ms']:.1f} ms | < 50 ms |"]
    if training:
        lines += [
            f"| tiny run, with streaming (median of {training['pairs']}) | {training['median_with_s']:.2f} s | |",
            f"| tiny run, NullReporter (median of {training['pairs']}) | {training['median_without_s']:.2f} s | |",
            f"| wall-clock overhead (median of paired differences) | "
            f"{training['wall_overhead_median_of_pairs'] * 100:+.2f} % | < 2 % |",
            f"| time inside the store reporter / run time (median) | "
            f"{training['reporter_share_median'] * 100:.3f} % | < 2 % |",
            f"| metric rows written per run | {training['metric_rows_per_run']:,} | |",
        ]
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": info, "curves": curves, "training": training, "table": table},
                                  indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
