"""The size/accuracy frontier on full IMDB: six recurrent students from 10k to 1.3M parameters, one n-gram teacher.

    .venv/bin/python -m bench.frontier queue  --home H   # queue the two sweeps (needs $KDCORE_IMDB_PATH)
    .venv/bin/python -m kdcore worker --home H --exit-when-idle   # train them (hours on 2 CPU cores)
    .venv/bin/python -m bench.frontier report --home H   # bench/results/frontier.json and .md

Why through sweeps: this is what a user's sweep does, so the figures are the product's own:
one n-gram teacher (its recipe: 400 tokens, 4 epochs, LazyAdam) trained once for both sweeps,
six student sizes (vocabulary 10,000, so that the smallest, one embedding dimension wide, has
about 10k parameters), a distilled and a scratch student at each, and a second sweep of 3 seeds
for two small sizes. The recipe's augmented transfer set is turned off (it runs the teacher on
every student batch, which on two CPU cores would cost hours more), and each student trains 3
epochs at batch 128 (keep-best on validation): a small recurrent model's step costs about what a
big one's does on a CPU (200 sequential steps), so batches of 32 would take 4x as long. The
cost line compares what the sweep trained (one teacher, N students, N scratch) with N separate
runs that would each train their own teacher.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.machine import cpu_model, write_results
from kdcore import paths

SIZES = [(1, 2, 2), (4, 4, 4), (16, 8, 8), (32, 16, 16), (64, 32, 32), (128, 32, 32)]
SEEDED_SIZES = [(1, 2, 2), (16, 8, 8)]
BASE = {"teacher": "ngram", "data": {"vocab_size": 10000, "maxlen": 200},
        "distill": {"augment_window": 0.0, "augment_mask": 0.0},
        "train": {"epochs": 3, "batch_size": 128, "teacher_batch_size": 32}}
WITHIN_POINTS = 1.0


def size(e: int, lstm: int, gru: int) -> dict[str, int]:
    return {"embedding_dim": e, "lstm_units": lstm, "gru_units": gru}


def specs(imdb: str | None) -> list[dict[str, Any]]:
    base = json.loads(json.dumps(BASE))
    if imdb:
        base["data"]["path"] = imdb
    seeded = json.loads(json.dumps(base))
    seeded["train"]["seeds"] = 3
    return [{"name": "frontier full IMDB", "base": base, "grid": {"student": [size(*s) for s in SIZES]}},
            {"name": "frontier full IMDB, 3 seeds", "base": seeded,
             "grid": {"student": [size(*s) for s in SEEDED_SIZES]}}]


def arm(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return (summary.get("arms") or {}).get(name) or {}


def latency(summary: dict[str, Any], name: str) -> float | None:
    return (((summary.get("deployment") or {}).get("latency") or {}).get(name) or {}).get("batch1_median_ms")


def pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def point_row(run: Any) -> dict[str, Any]:
    s = run.summary or {}
    student, scratch, teacher = arm(s, "student"), arm(s, "scratch"), arm(s, "teacher")
    return {"run_id": run.id, "status": run.status, "student_size": run.point.get("student"),
            "params": student.get("params"), "teacher_params": teacher.get("params"),
            "teacher": pct(teacher.get("test_accuracy")), "student": pct(student.get("test_accuracy")),
            "scratch": pct(scratch.get("test_accuracy")), "gain": pct(student.get("gain_over_scratch")),
            "gain_low": pct(student.get("gain_low")), "gain_high": pct(student.get("gain_high")),
            "student_s": student.get("train_seconds"), "scratch_s": scratch.get("train_seconds"),
            "teacher_s": teacher.get("train_seconds"), "teacher_source": s.get("teacher_source"),
            "scratch_reused": s.get("scratch_reused"), "student_ms": latency(s, "student"),
            "teacher_ms": latency(s, "teacher"), "seeds": s.get("seeds")}


def smallest_within(rows: list[dict[str, Any]], teacher: float) -> dict[str, Any] | None:
    close = [r for r in rows if r["student"] is not None and r["student"] >= teacher - WITHIN_POINTS]
    return min(close, key=lambda r: r["params"]) if close else None


def cost(rows: list[dict[str, Any]], home: Path) -> dict[str, float]:
    """Seconds of training the sweep spent, against N runs that each train their own teacher and scratch.

    The teacher's seconds are its own run's, or, when every run reused it from the cache (trained
    by an earlier sweep on this home), the cache's record of its training.
    """
    teacher = next((r["teacher_s"] for r in rows if r["teacher_source"] == "trained"), None)
    if teacher is None and rows:
        key = str(rows[0]["teacher_source"]).removeprefix("cache ")
        record = paths.teachers_dir(home) / key / "teacher.json"
        teacher = json.loads(record.read_text()).get("train_seconds") if record.exists() else None
    teacher = teacher or 0.0
    students = sum(r["student_s"] or 0.0 for r in rows)
    scratch = sum(r["scratch_s"] or 0.0 for r in rows if not r["scratch_reused"])
    separate = len(rows) * teacher + students + sum(r["scratch_s"] or 0.0 for r in rows)
    return {"teacher_s": teacher, "students_s": students, "scratch_s": scratch, "sweep_s": teacher + students + scratch,
            "separate_runs_s": separate, "ratio": separate / (teacher + students + scratch) if students else 0.0}


def seed_rows(store: Any, sweep_id: str) -> list[dict[str, Any]]:
    out = []
    for run in store.sweep_runs(sweep_id):
        seeds = (run.summary or {}).get("seeds") or {}
        student, scratch, gain = seeds.get("student") or {}, seeds.get("scratch") or {}, seeds.get("gain") or {}
        out.append({"student_size": run.point.get("student"), "params": arm(run.summary or {}, "student").get("params"),
                    "student": student, "scratch": scratch, "gain": gain})
    return out


def markdown(report: dict[str, Any]) -> str:
    rows, teacher = report["rows"], report["teacher"]
    lines = [f"# Frontier: {len(rows)} student sizes on full IMDB, one n-gram teacher", "",
             f"{report['date']} · {report['machine']} · {report['data']}", "",
             f"Teacher (n-gram, {rows[0]['teacher_params']:,} parameters): **{teacher:.2f}%** test accuracy.", "",
             "| student (emb/lstm/gru) | parameters | distilled (%) | scratch (%) | gain (points, 95% interval) | "
             "student latency (ms) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        s = r["student_size"] or {}
        ms = f"{r['student_ms']:.2f}" if r["student_ms"] is not None else "-"
        lines.append(f"| {s.get('embedding_dim')}/{s.get('lstm_units')}/{s.get('gru_units')} | {r['params']:,} | "
                     f"{r['student']:.2f} | {r['scratch']:.2f} | {r['gain']:+.2f} ({r['gain_low']:+.2f}..."
                     f"{r['gain_high']:+.2f}) | {ms} |")
    best = report["smallest_within"]
    lines.append("")
    if best:
        ratio = best["teacher_params"] / best["params"]
        lines.append(f"Smallest student within {WITHIN_POINTS:g} point of the teacher: "
                     f"**{best['params']:,} parameters** ({best['student']:.2f}%), {ratio:,.0f}x fewer parameters "
                     f"than the teacher; distillation added {best['gain']:+.2f} points there.")
    else:
        top = max(rows, key=lambda r: r["student"])
        lines.append(f"No student came within {WITHIN_POINTS:g} point of the teacher: the best, {top['params']:,} "
                     f"parameters, reached {top['student']:.2f}% ({top['student'] - teacher:+.2f} points).")
    lines += ["", "## 3 seeds", "", "| parameters | distilled (mean ± std, %) | scratch (mean ± std, %) | "
              "paired gain (points, mean ± std) |", "| ---: | ---: | ---: | ---: |"]
    for r in report["seed_rows"]:
        st, sc, g = r["student"], r["scratch"], r["gain"]
        if st.get("mean") is None:
            continue
        lines.append(f"| {r['params']:,} | {100 * st['mean']:.2f} ± {100 * (st.get('std') or 0):.2f} | "
                     f"{100 * sc['mean']:.2f} ± {100 * (sc.get('std') or 0):.2f} | "
                     f"{100 * g['mean']:+.2f} ± {100 * (g.get('std') or 0):.2f} |")
    c = report["cost"]
    lines += ["", "## What the sweep cost", "",
              f"Training seconds (fit only): teacher {c['teacher_s']:.0f} (once), {len(rows)} distilled students "
              f"{c['students_s']:.0f}, scratch students {c['scratch_s']:.0f}: **{c['sweep_s']:.0f} s**. "
              f"{len(rows)} separate runs, each training its own teacher, would spend {c['separate_runs_s']:.0f} s: "
              f"**{c['ratio']:.2f}x** the sweep.", "",
              "Rerun: `python -m bench.frontier queue --home H`, a worker on H, then `python -m bench.frontier "
              "report --home H`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("queue", "report"))
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--imdb", default=os.environ.get("KDCORE_IMDB_PATH"))
    args = parser.parse_args(argv)
    from kdcore.store import RunStore

    store = RunStore(args.home)
    if args.action == "queue":
        for spec in specs(args.imdb):
            print(store.create_sweep(spec))
        return 0
    sweeps = {s.name: s.id for s in reversed(store.list_sweeps())}  # the newest of a name wins
    main_id, seeded_id = sweeps["frontier full IMDB"], sweeps.get("frontier full IMDB, 3 seeds")
    rows = [point_row(r) for r in store.sweep_runs(main_id) if r.status == "succeeded"]
    rows.sort(key=lambda r: r["params"])
    teacher = statistics.median(r["teacher"] for r in rows)
    device = next(((r.summary or {}).get("device") for r in store.sweep_runs(main_id) if r.summary), "")
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("tensorflow", "keras"))
    machine = f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {versions}"
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
              "data": f"IMDB 22,500 train / 2,500 validation / 25,000 test; device {device}", "teacher": teacher,
              "rows": rows, "smallest_within": smallest_within(rows, teacher), "cost": cost(rows, args.home),
              "seed_rows": seed_rows(store, seeded_id) if seeded_id else []}
    write_results("frontier", report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
