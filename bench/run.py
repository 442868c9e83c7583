"""Dispatch ``bash run.sh bench NAME [ARGS]`` to the benchmark scripts in this folder.

Why a dispatcher: one documented entry point (``run.sh bench``) while each benchmark stays a
small script that also runs on its own (``.venv/bin/python bench/speed.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "speed": ("speed.py", "kdcore vs the notebook's procedure: per-phase time, samples/s, peak RSS"),
    "accuracy": ("accuracy.py", "teacher / distilled / scratch test accuracy over seeds, beside the notebook"),
    "store": ("bench_store.py", "what metric streaming to the store costs training; curve read time"),
    "ngram-step": ("ngram_step.py", "where the n-gram teacher's training step goes (table copy, dense Adam)"),
    "ngram-teacher": ("ngram_teacher.py", "the n-gram teacher with a row-wise Adam: seconds per epoch, accuracy"),
}


def usage() -> str:
    rows = "\n".join(f"  {name:13s} {desc}" for name, (_, desc) in SCRIPTS.items())
    return f"usage: bash run.sh bench NAME [ARGS]   (ARGS go to the script; NAME --help lists them)\n{rows}"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SCRIPTS:
        print(f"bench: unknown benchmark {name!r}\n{usage()}", file=sys.stderr)
        return 2
    script = HERE / SCRIPTS[name][0]
    if not script.is_file():
        print(f"bench: {script.name} is not in this checkout", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.execv(sys.executable, [sys.executable, str(script), *rest])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
