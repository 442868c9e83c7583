"""Dispatch ``bash run.sh bench NAME [ARGS]`` (``python -m bench.run NAME [ARGS]``) to a benchmark module.

Why a dispatcher: one documented entry point (``run.sh bench``) while each benchmark stays a
small module that also runs on its own (``.venv/bin/python -m bench.speed``, from the
repository root). The benchmark replaces this process (``exec``), so it runs exactly as it
would on its own: same interpreter, same working directory, its own ``sys.argv``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = {
    "speed": ("speed", "kdcore vs the notebook's procedure: per-phase time, samples/s, peak RSS"),
    "accuracy": ("accuracy", "teacher / distilled / scratch test accuracy over seeds, beside the notebook"),
    "store": ("bench_store", "what metric streaming to the store costs training; curve read time"),
    "ngram-step": ("ngram_step", "where the n-gram teacher's training step goes (table copy, dense Adam)"),
    "datasets": ("datasets", "own data: register time, IMDB's npz against its CSV, the 3-class tweets over seeds"),
    "teachers": ("teachers", "own teachers: an ensemble of three families against the n-gram teacher alone"),
    "frontier": ("frontier", "the size/accuracy frontier on full IMDB: six student sizes (queue|report)"),
    "sweep-halving": ("sweep_halving", "successive halving against the full grid, 12 points side by side"),
    "ray-cluster": ("ray_cluster", "the queue on a Ray cluster against one local worker: overhead, lag, 4-GPU sweep"),
    "ngram-teacher": ("ngram_teacher", "the n-gram teacher with a row-wise Adam: seconds per epoch, accuracy"),
}


def usage() -> str:
    rows = "\n".join(f"  {name:13s} {desc}" for name, (_, desc) in MODULES.items())
    return f"usage: bash run.sh bench NAME [ARGS]   (ARGS go to the benchmark; NAME --help lists them)\n{rows}"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in MODULES:
        print(f"bench: unknown benchmark {name!r}\n{usage()}", file=sys.stderr)
        return 2
    module = MODULES[name][0]
    if not (HERE / f"{module}.py").is_file():
        print(f"bench: {module}.py is not in this checkout", file=sys.stderr)
        return 2
    # `bench` was importable here (from the working directory or PYTHONPATH); the exec'd
    # interpreter inherits both, so `-m bench.<module>` resolves the same way.
    os.execv(sys.executable, [sys.executable, "-m", f"bench.{module}", *rest])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
