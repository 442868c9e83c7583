"""Own data: registering files, the CSV path against IMDB's npz, and a 3-class dataset over seeds.

    .venv/bin/python -m bench.datasets register  # time to register the IMDB CSV; preview of a ~100 MB file
    .venv/bin/python -m bench.datasets paths     # the same experiment through imdb.npz and through the CSV
    .venv/bin/python -m bench.datasets tweets    # teacher / distilled / scratch on the tweets, 3 seeds

Why: the registry must be quick enough to use on real files (targets: the IMDB CSV registered
in under 30 s, the preview of a 100 MB file in under 5 s), and a dataset that comes in as raw
text must train as well as Keras' own token ids: the CSV path tokenises with a
``TextVectorization`` fitted on the training split (punctuation stripped, apostrophes too),
the npz was tokenised by the IMDB authors, so the two land near each other, not on the same
figure. Shared files come from ``--data`` (default: the folder two above $KDCORE_IMDB_PATH).
Writes ``bench/results/datasets-<what>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import write_results

#: The experiment both IMDB paths run: notebook-size student, n-gram teacher with its recipe, 3 epochs.
PATHS_SETTINGS = ["teacher=ngram", "train.epochs=3", "data.maxlen=200", "data.vocab_size=20000"]
#: The tweets run: the form's default recipe, at a length that holds every post (36 words at most).
TWEETS_SETTINGS = ["teacher=ngram", "data.maxlen=40", "train.seeds=3"]


def shared_data(given: str | None) -> Path:
    if given:
        return Path(given)
    imdb = os.environ.get("KDCORE_IMDB_PATH")
    if not imdb:
        sys.exit("bench.datasets: give --data (the shared data folder) or set $KDCORE_IMDB_PATH")
    return Path(imdb).resolve().parents[1]


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_register(args: argparse.Namespace) -> None:
    """Seconds to register the IMDB CSV (3 times, fresh homes: median) and to preview a 100 MB CSV."""
    from kdcore.datasets import ReadOptions, preview, register

    csv_gz = shared_data(args.data) / "imdb" / "imdb_reviews.csv.gz"
    options = ReadOptions(split_column="split", text_column="text", label_column="label")
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            home = Path(tmp) / f"home{i}"
            manifest, took = timed(register, home, csv_gz, options, name="imdb csv")
            seconds.append(took)
        big = Path(tmp) / "big.csv"
        with gzip.open(csv_gz, "rb") as src, open(big, "wb") as out:
            shutil.copyfileobj(src, out)
        with open(big, "rb") as f:
            body = f.read().split(b"\n", 1)[1]
        with open(big, "ab") as out:
            while big.stat().st_size < 100 * 2**20:
                out.write(body)
        size_mb = big.stat().st_size / 2**20
        shown, preview_s = timed(preview, big, ReadOptions(text_column="text", label_column="label"))
    seconds.sort()
    report = {"register_seconds": seconds, "register_median_s": seconds[len(seconds) // 2],
              "rows": manifest.rows, "splits": manifest.split_sizes, "preview_mb": size_mb,
              "preview_seconds": preview_s, "preview_sampled": shown.sampled, "machine": machine()}
    md = (f"# Registering files\n\n{report['machine']}\n\n"
          f"- IMDB CSV ({manifest.rows:,} reviews, gzip): register in {report['register_median_s']:.1f} s "
          f"(median of {len(seconds)}: {', '.join(f'{s:.1f}' for s in seconds)}); target < 30 s\n"
          f"- preview of a {size_mb:.0f} MB CSV: {preview_s:.2f} s (sampled: {shown.sampled}); target < 5 s\n")
    write_results("datasets-register", report, md)


def run(config: Any, home: Path, name: str) -> dict[str, Any]:
    from kdcore.engine.pipeline import run_experiment
    from kdcore.progress import PrintReporter

    folder = home / "runs" / name
    return run_experiment(config, folder, PrintReporter(), home=home, tick_interval=30.0)


def arm_line(summary: dict[str, Any], arm: str) -> str:
    result = summary["arms"].get(arm, {})
    f1 = result.get("macro_f1")
    return (f"{result.get('test_accuracy', float('nan')) * 100:.2f}%"
            + ("" if f1 is None else f" (macro-F1 {f1 * 100:.2f})"))


def gain_line(summary: dict[str, Any]) -> str:
    student = summary["arms"].get("student", {})
    low, high = student.get("gain_low"), student.get("gain_high")
    gain = student.get("gain_over_scratch")
    if gain is None:
        return "n/a"
    interval = "" if low is None else f" (95% paired interval {low * 100:+.2f} to {high * 100:+.2f})"
    return f"{gain * 100:+.2f}{interval}"


def bench_paths(args: argparse.Namespace) -> None:
    """One experiment through imdb.npz and through the registered IMDB CSV, same sizes, slice and epochs."""
    from kdcore.config import RunConfig, apply_overrides
    from kdcore.datasets import ReadOptions, register

    data = shared_data(args.data)
    home = Path(args.home).expanduser()
    limits = [f"data.train_limit={args.train_limit}", f"data.test_limit={args.test_limit}"]
    manifest = register(home, data / "imdb" / "imdb_reviews.csv.gz",
                        ReadOptions(split_column="split", text_column="text", label_column="label"), name="imdb csv")
    base = apply_overrides(RunConfig(name="bench datasets paths"), PATHS_SETTINGS + limits + args.set)
    npz = run(apply_overrides(base, [f"data.path={data / 'imdb' / 'imdb.npz'}"]), home, "paths-npz")
    csv = run(apply_overrides(base, [f"data.dataset={manifest.id}"]), home, "paths-csv")
    report = {"settings": PATHS_SETTINGS + limits + args.set, "npz": npz, "csv": csv, "machine": machine()}
    rows = "\n".join(f"| {arm} | {arm_line(npz, arm)} | {arm_line(csv, arm)} |" for arm in ("teacher", "student",
                                                                                             "scratch"))
    md = (f"# IMDB through the npz and through the CSV\n\n{report['machine']}\n\nSettings: "
          f"`{' '.join(report['settings'])}`\n\n| arm | npz | CSV |\n| --- | --- | --- |\n{rows}\n\n"
          f"Gain over scratch: npz {gain_line(npz)}; CSV {gain_line(csv)}\n")
    write_results("datasets-paths", report, md)


def bench_tweets(args: argparse.Namespace) -> None:
    """Teacher, distilled and scratch on the 3-class tweets, 3 seeds, accuracy and macro-F1."""
    from kdcore.config import RunConfig, apply_overrides
    from kdcore.datasets import ReadOptions, register

    home = Path(args.home).expanduser()
    manifest = register(home, shared_data(args.data) / "tweets" / "tweets_3class.csv",
                        ReadOptions(text_column="text", label_column="sentiment"), name="tweets")
    config = apply_overrides(RunConfig(name="bench tweets"), TWEETS_SETTINGS + [f"data.dataset={manifest.id}"]
                             + args.set)
    summary = run(config, home, "tweets")
    report = {"settings": TWEETS_SETTINGS + args.set, "splits": manifest.split_sizes, "summary": summary,
              "machine": machine()}
    seeds = summary.get("seeds", {})
    md = (f"# Tweets, 3 classes, 3 seeds\n\n{report['machine']}\n\nSettings: `{' '.join(report['settings'])}`; "
          f"splits {manifest.split_sizes}\n\n"
          + "\n".join(f"- {arm}: {arm_line(summary, arm)}" for arm in ("teacher", "student", "scratch"))
          + f"\n- first seed's gain over scratch: {gain_line(summary)}\n- over seeds: `{seeds}`\n"
          + f"\nVerdict: {summary.get('verdict', '')}\n")
    write_results("datasets-tweets", report, md)


def machine() -> str:
    from bench.machine import machine_line

    return machine_line()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.datasets", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("register", "paths", "tweets"))
    parser.add_argument("--data", help="the shared data folder (holds imdb/ and tweets/)")
    parser.add_argument("--home", default="~/.kdstudio-bench-datasets", help="where runs and datasets go")
    parser.add_argument("--repeats", type=int, default=3, help="register: how many times (median)")
    parser.add_argument("--train-limit", type=int, default=5000, help="paths: training reviews of each path")
    parser.add_argument("--test-limit", type=int, default=5000, help="paths: test reviews of each path")
    parser.add_argument("--set", action="append", default=[], help="one more config override (repeatable)")
    args = parser.parse_args(argv)
    {"register": bench_register, "paths": bench_paths, "tweets": bench_tweets}[args.what](args)


if __name__ == "__main__":
    main(sys.argv[1:])
