"""Where the time goes: step speed of the notebook's models per setting, on random tokens.

    .venv/bin/python -m bench.profile_steps [--rows 512]

Why: ``speed.py`` times whole phases, which mix compilation, validation and step speed.
This isolates the settings kdcore chooses (XLA on or off, evaluation batch size, logits
cached vs the teacher run per step) so a change can be decided from figures. Each figure is
the second of two identical calls (the first one traces and compiles), in samples/s.
Prints a Markdown table and writes ``bench/results/profile_steps.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.config import NOTEBOOK_STUDENT, NOTEBOOK_TEACHER
from kdcore.engine.distill import TEACHER_LOGITS, TOKENS, DistillationLoss, Distiller
from kdcore.engine.models import build_classifier, compile_classifier

ROOT = Path(__file__).resolve().parent.parent
VOCAB, MAXLEN = 20000, 200


def _twice(fn: Any, rows: int) -> tuple[float, float]:
    """(first call seconds, samples/s of the second call).

    Callers pass ``functools.partial`` rather than a lambda: it binds the loop's current model
    and batch when it is made, where a lambda would read them when called.
    """
    started = time.perf_counter()
    fn()
    first = time.perf_counter() - started
    started = time.perf_counter()
    fn()
    return first, rows / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=512, help="rows per timed call (default 512)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = args.rows
    x = rng.integers(1, VOCAB, size=(n, MAXLEN), dtype=np.int32)
    y = rng.integers(0, 2, size=n, dtype=np.int32)
    rows: list[dict[str, Any]] = []

    def record(what: str, jit: bool, batch: int, first: float, rate: float) -> None:
        rows.append({"what": what, "jit": jit, "batch": batch, "first_call_s": first, "samples_per_s": rate})
        print(f"| {what} | {jit} | {batch} | {first:.1f} | {rate:,.0f} |", flush=True)

    print("| step | XLA | batch | first call s | samples/s |\n| --- | --- | ---: | ---: | ---: |")
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        teacher = compile_classifier(build_classifier(NOTEBOOK_TEACHER, VOCAB, MAXLEN, "teacher"), 1e-3, jit)
        for batch in (32, 256, 1024):
            record("teacher forward (evaluate)", jit, batch,
                   *_twice(partial(teacher.evaluate, x, y, batch_size=batch, verbose=0), n))
        record("teacher train", jit, 32, *_twice(partial(teacher.fit, x, y, batch_size=32, verbose=0), n))
        logits = teacher.predict(x, batch_size=256, verbose=0)
        for kind in ("scratch train", "distill train (cached logits)", "distill train (teacher per step)"):
            keras.utils.set_random_seed(1)
            student = build_classifier(NOTEBOOK_STUDENT, VOCAB, MAXLEN, "student")
            loss = DistillationLoss(0.1, 10.0)
            if kind == "scratch train":
                model, inputs = compile_classifier(student, 1e-3, jit), x
            else:
                live = kind.endswith("per step)")
                model = Distiller(student, teacher if live else None, loss)
                model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit,
                              metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
                inputs = x if live else {TOKENS: x, TEACHER_LOGITS: logits}
            record(kind, jit, 32, *_twice(partial(model.fit, inputs, y, batch_size=32, verbose=0), n))
    out = ROOT / "bench" / "results" / "profile_steps.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": n, "results": rows, "load_after": os.getloadavg()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
