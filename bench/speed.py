"""Speed of kdcore against the notebook it replaces, side by side in one invocation.

    .venv/bin/python -m bench.speed [--train 4000] [--test 4000] [--epochs 1] [--pairs 3] [--set k=v ...]

Why it is built this way:
- Both sides get the same rows: ``kdcore.engine.data.load_splits`` with ``validate_on=test``, so
  kdcore trains on exactly the baseline's training slice (the notebook has no validation
  split) and *also* validates on the test slice after every epoch (extra work the notebook
  does not do; it is counted inside kdcore's fit phases). Everything else is kdcore's
  default config (logits once, its evaluation batch, keep-best, checkpoints, and XLA as
  ``train.jit_compile=auto`` decides: off on a CPU).
- Each side runs in a fresh subprocess, so peak RSS and TensorFlow's state are per side,
  and the sides alternate (baseline, kdcore, baseline, ...) on this shared machine; the
  figures are medians over the pairs. The load average before and after is recorded.
- One epoch per arm by default to fit a CPU time budget; XLA's compile time therefore weighs
  more than it would in a 3-epoch run, which the steady-state columns (median windowed
  samples/s after the first window) separate out.

Phases: teacher fit, teacher logits (kdcore only; the notebook runs the teacher inside every
distillation step), distillation fit, scratch fit, evaluation (test sets), and end to end
(data load to last result, in the process; TensorFlow's import excluded on both sides; the
parent's wall time per process is also recorded). kdcore's phases come from timestamps of
its own progress events plus timers wrapped around ``keras.Model.evaluate`` and the
pipeline's ``teacher_logits``: the real ``run_experiment``, measured from outside.

Writes ``bench/results/speed.json`` and ``bench/results/speed.md``. Goals on a 2-core CPU:
distillation >= 2x the baseline's samples/s, end to end >= 1.5x faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PHASES = ("teacher_fit", "teacher_logits", "distill_fit", "scratch_fit", "evaluation")
FIT_ARMS = {"teacher_fit": "teacher", "distill_fit": "student", "scratch_fit": "scratch"}
GOALS = {"distill_fit": 2.0, "end_to_end": 1.5}


# -- children -----------------------------------------------------------------------------------


def _data_config(args: argparse.Namespace) -> Any:
    from kdcore.config import DataConfig

    return DataConfig(train_limit=args.train, test_limit=args.test, maxlen=args.maxlen, validate_on="test")


def child_baseline(args: argparse.Namespace) -> dict[str, Any]:
    from bench.notebook_baseline import run_baseline
    from kdcore.engine.data import load_splits

    started = time.perf_counter()
    data = _data_config(args)
    splits = load_splits(data, seed=0)
    load_seconds = time.perf_counter() - started
    out = run_baseline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, epochs=args.epochs,
                       vocab_size=data.vocab_size, maxlen=data.maxlen)
    out["end_to_end"] = time.perf_counter() - started
    out["data_load"] = load_seconds
    return out


class _Clock:
    """Intervals of the calls we wrap, and the time of every progress event."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Any]] = []
        self.intervals: list[tuple[str, float, float]] = []

    def report(self, event: Any) -> None:
        self.events.append((time.perf_counter(), event))

    def should_stop(self) -> bool:
        return False

    def wrap(self, label: str, fn: Any) -> Any:
        def timed(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.intervals.append((label, started, time.perf_counter()))
        return timed

    def within(self, label: str, start: float, end: float) -> float:
        return sum(e - s for lab, s, e in self.intervals if lab == label and s >= start and e <= end)


def child_kdcore(args: argparse.Namespace) -> dict[str, Any]:
    import keras

    import kdcore.engine.pipeline as pipeline
    import kdcore.engine.teacher as teacher_step  # the step that calls teacher_logits
    from kdcore.config import RunConfig, TrainConfig, apply_overrides

    config = apply_overrides(RunConfig(data=_data_config(args), train=TrainConfig(epochs=args.epochs)), args.set)
    clock = _Clock()
    keras.Model.evaluate = clock.wrap("evaluate", keras.Model.evaluate)
    teacher_step.teacher_logits = clock.wrap("logits", teacher_step.teacher_logits)
    with tempfile.TemporaryDirectory(prefix="kdbench-") as home:  # fresh home: the teacher is trained
        started = time.perf_counter()
        summary = pipeline.run_experiment(config, Path(home) / "run", clock, home=Path(home), tick_interval=0.5)
        end_to_end = time.perf_counter() - started

    phases: dict[str, float] = {}
    validation: dict[str, float] = {}
    steady: dict[str, float | None] = {}
    evaluation = 0.0
    for phase, arm in FIT_ARMS.items():
        times = {kind: [t for t, e in clock.events if e.arm == arm and e.kind == kind]
                 for kind in ("arm_start", "epoch_end", "arm_end")}
        fit_start, fit_end, arm_end = times["arm_start"][0], times["epoch_end"][-1], times["arm_end"][0]
        phases[phase] = fit_end - fit_start
        validation[phase] = clock.within("evaluate", fit_start, fit_end)
        evaluation += clock.within("evaluate", fit_end, arm_end)
        ticks: list[float] = []
        for epoch in range(args.epochs):
            rates = [e.metrics["samples_per_s"] for _, e in clock.events
                     if e.arm == arm and e.kind == "tick" and e.epoch == epoch]
            ticks += rates[1:]  # the first window of an epoch holds tracing/XLA compilation
        steady[phase] = statistics.median(ticks) if ticks else None
    phases["teacher_logits"] = clock.within("logits", 0.0, float("inf"))
    phases["evaluation"] = evaluation
    n, n_test = summary["data"]["train"], summary["data"]["test"]
    return {
        "phases": phases,
        "validation_seconds_in_fit": validation,
        "steady_samples_per_s": steady,
        "samples": {"teacher_fit": n * args.epochs, "distill_fit": n * args.epochs, "scratch_fit": n * args.epochs,
                    "teacher_logits": n, "evaluation": 3 * n_test},
        "test_accuracy": {arm: summary["arms"][arm]["test_accuracy"] for arm in ("teacher", "student", "scratch")},
        "train_seconds": {arm: summary["arms"][arm]["train_seconds"] for arm in ("teacher", "student", "scratch")},
        "end_to_end": end_to_end,
        "run_experiment_total_seconds": summary["total_seconds"],
        "timeline": _timeline(clock, started),
        "config": json.loads(config.to_json()),
    }


def _timeline(clock: _Clock, started: float) -> list[tuple[float, str]]:
    """Seconds since the start of every event but ticks, and of every wrapped call: where time went."""
    rows = [(t - started, f"{e.kind} {e.arm}".strip()) for t, e in clock.events if e.kind != "tick"]
    rows += [(s - started, f"{label} {e - s:.2f}s") for label, s, e in clock.intervals]
    return [(round(t, 2), what) for t, what in sorted(rows)]


def run_child(args: argparse.Namespace) -> None:
    out = child_baseline(args) if args.child == "baseline" else child_kdcore(args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))


# -- parent ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = cpu_model()
    code = ("import json,sys,numpy,tensorflow,keras;print(json.dumps({'python':sys.version.split()[0],"
            "'tensorflow':tensorflow.__version__,'keras':keras.__version__,'numpy':numpy.__version__}))")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    versions = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                         env=env, check=True).stdout.strip().splitlines()[-1])
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), **versions}


def spawn(side: str, args: argparse.Namespace, workdir: Path, index: int) -> dict[str, Any]:
    out = workdir / f"{side}-{index}.json"
    cmd = [sys.executable, "-m", "bench.speed", "--child", side, "--out", str(out), "--train", str(args.train),
           "--test", str(args.test), "--maxlen", str(args.maxlen), "--epochs", str(args.epochs)]
    for item in args.set:
        cmd += ["--set", item]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)  # ROOT: where `bench` imports
    if proc.returncode != 0:
        raise RuntimeError(f"{side} run {index} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(out.read_text())
    result["process_seconds"] = time.perf_counter() - started
    result["load_before"] = load
    print(f"  {side:8s} pair {index + 1}: end to end {result['end_to_end']:.1f} s "
          f"(process {result['process_seconds']:.1f} s, load {load:.2f})", flush=True)
    return result


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over pairs of each phase's seconds, samples/s, end to end and RSS."""
    agg: dict[str, Any] = {"seconds": {}, "samples_per_s": {}, "steady_samples_per_s": {}}
    for phase in PHASES:
        agg["seconds"][phase] = _median([r["phases"][phase] for r in runs])
        samples = runs[0]["samples"][phase]
        agg["samples_per_s"][phase] = _median([samples / r["phases"][phase] if r["phases"][phase] else None
                                               for r in runs])
    for phase in FIT_ARMS:
        agg["steady_samples_per_s"][phase] = _median([r["steady_samples_per_s"].get(phase) for r in runs])
    for key in ("end_to_end", "process_seconds", "peak_rss_mb"):
        agg[key] = _median([r[key] for r in runs])
    agg["test_accuracy"] = {arm: _median([r["test_accuracy"][arm] for r in runs])
                            for arm in ("teacher", "student", "scratch")}
    return agg


def _f(value: float | None, fmt: str = "{:,.1f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _header(report: dict[str, Any]) -> list[str]:
    """What ran where: the machine, the slice and how the figures were taken, with the load beside them."""
    m, a = report["machine"], report["args"]
    return [
        "# Speed: kdcore vs the notebook's procedure",
        "",
        f"{report['date']} · {m['cpu']} ({m['cores']} cores) · Python {m['python']}, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, NumPy {m['numpy']}",
        f"IMDB slice: {a['train']:,} train / {a['test']:,} test, maxlen {a['maxlen']}, {a['epochs']} epoch(s) per arm, "
        f"notebook sizes, batch 32; median of {a['pairs']} interleaved pairs, each side in a fresh process.",
        f"Load average (1 min) before {report['load_before'][0]:.2f}, after {report['load_after'][0]:.2f} "
        f"(the machine was shared; per-run load is in speed.json).",
    ]


def _phase_table(b: dict[str, Any], k: dict[str, Any]) -> list[str]:
    """Whole phases as a user waits for them (compilation included), and the end-to-end speed-up."""
    lines = [
        "| phase | notebook s | kdcore s | notebook samples/s | kdcore samples/s | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in PHASES:
        bs, ks = b["seconds"][phase], k["seconds"][phase]
        speedup = f"{bs / ks:.2f}x" if bs and ks else "n/a"
        lines.append(f"| {phase.replace('_', ' ')} | {_f(bs)} | {_f(ks)} | {_f(b['samples_per_s'][phase], '{:,.0f}')}"
                     f" | {_f(k['samples_per_s'][phase], '{:,.0f}')} | {speedup} |")
    lines.append(f"| **end to end** | {_f(b['end_to_end'])} | {_f(k['end_to_end'])} | | | "
                 f"**{b['end_to_end'] / k['end_to_end']:.2f}x** |")
    return lines


def _steady_table(b: dict[str, Any], k: dict[str, Any]) -> list[str]:
    """Step speed without tracing and compilation, which the whole-phase table mixes in."""
    lines = [
        "Steady state (median samples/s over 0.5 s windows, first window of each epoch left out: it holds "
        "tracing and XLA compilation):",
        "",
        "| fit | notebook | kdcore | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for phase in FIT_ARMS:
        bs, ks = b["steady_samples_per_s"][phase], k["steady_samples_per_s"][phase]
        ratio = f"{ks / bs:.2f}x" if bs and ks else "n/a"
        lines.append(f"| {phase.replace('_', ' ')} | {_f(bs, '{:,.0f}')} | {_f(ks, '{:,.0f}')} | {ratio} |")
    return lines


def _goal_lines(report: dict[str, Any]) -> list[str]:
    lines = ["Goals:"]
    for key, goal in GOALS.items():
        got = report["speedups"][key]
        verdict = "met" if got >= goal else "NOT met"
        lines.append(f"- {key.replace('_', ' ')}: {got:.2f}x (goal >= {goal}x): {verdict}")
    return lines


def _footer(report: dict[str, Any]) -> list[str]:
    """Memory, wall time with the import, accuracy as a sanity check, and what each side's phases include."""
    b, k, a = report["baseline"], report["kdcore"], report["args"]
    bt, kt = b["test_accuracy"], k["test_accuracy"]
    return [
        f"Peak RSS: notebook {_f(b['peak_rss_mb'], '{:,.0f}')} MB, kdcore {_f(k['peak_rss_mb'], '{:,.0f}')} MB. "
        f"Process wall time (with TensorFlow's import): notebook {_f(b['process_seconds'])} s, "
        f"kdcore {_f(k['process_seconds'])} s.",
        f"Test accuracy (median; {a['epochs']} epoch(s), small slice, not an accuracy result): "
        f"notebook teacher/student/scratch {bt['teacher']:.3f} / {bt['student']:.3f} / {bt['scratch']:.3f}; "
        f"kdcore {kt['teacher']:.3f} / {kt['student']:.3f} / {kt['scratch']:.3f}.",
        "",
        "How to read it: kdcore's fit phases include its per-epoch validation on the test slice (batch "
        f"{report['runs']['kdcore'][0]['config']['train']['eval_batch_size']}) and "
        "its per-epoch checkpoints, which the notebook does not do; its evaluation phase is the three test "
        "evaluations, as the notebook's. kdcore computes the teacher's logits once (teacher logits row) instead "
        "of running the teacher in every distillation step. End to end includes data loading on both sides "
        "(kdcore's also model saving); TensorFlow's import is excluded. kdcore config overrides: "
        f"{', '.join(a['set']) or 'none'} (data.validate_on=test so both sides train on the same rows).",
    ]


def markdown(report: dict[str, Any]) -> str:
    """``speed.md``: the header, the two tables, the goals and how to read them, one blank line apart."""
    b, k = report["baseline"], report["kdcore"]
    sections = [_header(report), _phase_table(b, k), _steady_table(b, k), _goal_lines(report), _footer(report)]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=4000, help="training reviews (first N; default 4000)")
    parser.add_argument("--test", type=int, default=4000, help="test reviews (first N; default 4000)")
    parser.add_argument("--maxlen", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per arm (default 1)")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved baseline/kdcore pairs (default 3)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="kdcore config override, e.g. train.jit_compile=off (repeatable)")
    parser.add_argument("--name", default="speed", help="result file stem under bench/results (default speed)")
    parser.add_argument("--child", choices=("baseline", "kdcore"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args)
        return 0

    info = machine()
    load_before = os.getloadavg()
    print(f"{info['cpu']} ({info['cores']} cores), load {load_before[0]:.2f}; {args.pairs} pairs", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "kdcore": []}
    with tempfile.TemporaryDirectory(prefix="kdspeed-") as tmp:
        for index in range(args.pairs):
            for side in ("baseline", "kdcore"):
                runs[side].append(spawn(side, args, Path(tmp), index))
    b, k = aggregate(runs["baseline"]), aggregate(runs["kdcore"])
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": info, "args": vars(args) | {"child": None, "out": None},
        "load_before": load_before, "load_after": os.getloadavg(),
        "baseline": b, "kdcore": k,
        "speedups": {"distill_fit": b["seconds"]["distill_fit"] / k["seconds"]["distill_fit"],
                     "end_to_end": b["end_to_end"] / k["end_to_end"]},
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
