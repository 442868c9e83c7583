"""Successive halving against the full grid: the same sweep twice, side by side, each in a home of its own.

    .venv/bin/python -m bench.sweep_halving                     # 12 points (alpha x T), 4 epochs, reduced slice
    .venv/bin/python -m bench.sweep_halving --train-limit 0     # the full training set (hours on 2 CPU cores)

Why side by side: these machines are shared and noisy, so the two sweeps run at the same time,
one worker each, and see the same load. Each home trains its own teacher and scratch twin, so
each wall time is a whole sweep's. Wall time runs from the first claim to the last finish;
CPU seconds are the worker process's own (user + system), which the other sweep cannot inflate.
The best point is the one with the highest validation accuracy of its distilled student (what a
user would pick without touching the test set); the halving sweep should find the same one. The
compression report is off in both (a fixed cost per run, unrelated to training; a stopped point
gets none anyway).
Writes ``bench/results/sweep-halving.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import machine_line, write_results

ALPHAS = (0.1, 0.5, 0.9)
TEMPERATURES = (1, 2, 5, 10)


def spec(args: argparse.Namespace, halving: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"vocab_size": 10000, "maxlen": args.maxlen}
    if args.imdb:
        data["path"] = args.imdb
    for field, limit in (("train_limit", args.train_limit), ("test_limit", args.test_limit)):
        if limit:
            data[field] = limit
    return {"name": f"halving {'on' if halving else 'off'}",
            "base": {"teacher": "tiny", "student": {"embedding_dim": 16, "lstm_units": 8, "gru_units": 8},
                     "data": data, "train": {"epochs": args.epochs, "teacher_epochs": 2, "batch_size": 64},
                     "report": {"enabled": False}},
            "grid": {"distill.alpha": list(ALPHAS), "distill.temperature": list(TEMPERATURES)},
            "halving": {"enabled": halving, "eta": 2, "min_epochs": args.min_epochs}}


def start_worker(home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "KDCORE_HOME": str(home)}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "kdcore", "worker", "--exit-when-idle", "--home", str(home)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_cpu(proc: subprocess.Popen) -> float:
    """Wait for the worker; its own CPU seconds (user + system), from the kernel's account of the child."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def side(store: Any, sweep_id: str, cpu: float) -> dict[str, Any]:
    runs = store.sweep_runs(sweep_id)
    rows = []
    for run in runs:
        student = ((run.summary or {}).get("arms") or {}).get("student") or {}
        rows.append({"point": run.point, "status": run.status, "val_accuracy": student.get("val_accuracy"),
                     "test_accuracy": student.get("test_accuracy"), "epochs": student.get("epochs_trained"),
                     "pruned": bool(student.get("pruned"))})
    wall = max(r.finished_at or 0 for r in runs) - min(r.started_at or time.time() for r in runs)
    finished = [r for r in rows if r["val_accuracy"] is not None]
    best = max(finished, key=lambda r: r["val_accuracy"]) if finished else None
    return {"wall_s": wall, "cpu_s": cpu, "student_epochs": sum(r["epochs"] or 0 for r in rows),
            "pruned": sum(r["pruned"] for r in rows), "best": best, "runs": rows}


def markdown(report: dict[str, Any]) -> str:
    on, off = report["halving"], report["full"]
    lines = [f"# Sweep: successive halving against the full grid ({len(off['runs'])} points)", "",
             f"{report['date']} · {report['machine']} · {report['data']}", "",
             "| sweep | wall time (s) | worker CPU (s) | student epochs | stopped early | best point (val acc) |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, side_ in (("full grid", off), ("halving (eta 2)", on)):
        best = side_["best"] or {}
        lines.append(f"| {name} | {side_['wall_s']:.0f} | {side_['cpu_s']:.0f} | {side_['student_epochs']} | "
                     f"{side_['pruned']} | {best.get('point')} ({(best.get('val_accuracy') or 0) * 100:.2f}%) |")
    lines += ["", f"Wall-time ratio full/halving: **{report['wall_ratio']:.2f}x**; CPU-time ratio: "
              f"**{report['cpu_ratio']:.2f}x**. Same best point: **{report['same_best']}**.", "",
              "Both sweeps ran at once, one worker each, in homes of their own (each trains its teacher and its "
              "scratch twin). Rerun: `.venv/bin/python -m bench.sweep_halving`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imdb", default=os.environ.get("KDCORE_IMDB_PATH"), help="IMDB npz (Keras' layout).")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument("--maxlen", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--min-epochs", type=int, default=2, help="Epochs before the first rung (rungs: 2, 4).")
    args = parser.parse_args(argv)
    from kdcore.store import RunStore

    root = Path(tempfile.mkdtemp(prefix="kd-halving-"))
    sweeps, workers = {}, {}
    for name, halving in (("full", False), ("halving", True)):
        home = root / name
        home.mkdir()
        sweeps[name] = (RunStore(home), RunStore(home).create_sweep(spec(args, halving)))
        workers[name] = start_worker(home, root / f"{name}.log")
    cpu = {name: wait_cpu(proc) for name, proc in workers.items()}
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_line(),
        "data": f"IMDB, {args.train_limit or 'all'} train / {args.test_limit or 'all'} test reviews, "
                f"maxlen {args.maxlen}, {args.epochs} student epochs (rungs from {args.min_epochs}, eta 2), "
                "tiny recurrent teacher, no compression report",
        **{name: side(store, sweep_id, cpu[name]) for name, (store, sweep_id) in sweeps.items()}}
    report["wall_ratio"] = report["full"]["wall_s"] / report["halving"]["wall_s"]
    report["cpu_ratio"] = report["full"]["cpu_s"] / report["halving"]["cpu_s"]
    best = [(report[name]["best"] or {}).get("point") for name in ("full", "halving")]
    report["same_best"] = best[0] == best[1]
    write_results("sweep-halving", report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
