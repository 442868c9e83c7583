"""Where the n-gram teacher's training step goes: why it is not "a few minutes" on a CPU.

    .venv/bin/python -m bench.ngram_step [--repeats 5] [--steps 20]

Why: issue #8 reports 22-42 s per epoch for a fastText-style teacher; kdcore's default n-gram
teacher (a 2^18 x 64 hashed-bigram table, 16.8 M floats) took 246-286 s per epoch. This
measures, side by side in one process (alternating, median of ``--repeats``), ms per training
step at batch 32 on random tokens:

- ``keras_step``: kdcore's real teacher and compile (``compile_classifier``, Adam), with the
  default table and with a 4,096-row table: the difference is what the table size costs.
- ``tf_read_gather`` vs ``tf_resource_gather``: a bare gather + in-place row update of a
  table of the same size, first through a full read of the variable (what Keras' ``Embedding``
  does: ``ops.take`` converts the variable to a tensor), then through a resource gather. When
  the read tensor is alive, TensorFlow copies the whole table before updating it in place.
- ``lazy_adam``: Adam that updates only the rows a batch touched (no full read of ``m`` and
  ``v``; ``kdcore.engine.optimizers.LazyAdam``, the n-gram recipe's ``train.teacher_optimizer``),
  batch 32 and 128, per *sample*.

Writes ``bench/results/ngram_step.json`` and ``bench/results/ngram_step.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from bench.machine import machine_line, write_results
from kdcore.config import NgramSize
from kdcore.engine.families.ngram import build_ngram
from kdcore.engine.models import compile_classifier

VOCAB, LENGTH, DIM = 20_000, 400, 64


def keras_step(buckets: int, batch: int, steps: int, optimizer: str = "adam") -> Callable[[], float]:
    """ms per step of the real n-gram teacher's ``fit`` on random tokens (compiled once, timed per call)."""
    model = build_ngram(NgramSize(bigram_buckets=buckets), VOCAB, LENGTH, "teacher")
    compile_classifier(model, 1e-3, False, optimizer)
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, size=(batch * steps, LENGTH)).astype("int32")
    y = rng.integers(0, 2, size=batch * steps)
    model.fit(x[: batch * 2], y[: batch * 2], batch_size=batch, verbose=0)

    def once() -> float:
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, verbose=0)
        return (time.perf_counter() - start) / steps * 1000
    return once


def tf_update(resource_gather: bool, steps: int) -> Callable[[], float]:
    """ms per gather + gradient + in-place row update of a 2^18 x 64 table, bare TensorFlow."""
    table = tf.Variable(tf.random.normal((2**18, DIM)))
    ids = tf.constant(np.random.default_rng(0).integers(0, 2**18, size=(32, LENGTH)).astype("int32"))

    @tf.function
    def step() -> None:
        with tf.GradientTape() as tape:
            source = table if resource_gather else tf.convert_to_tensor(table)
            loss = tf.reduce_sum(tf.gather(source, ids))
        grad = tape.gradient(loss, table)
        table.scatter_sub(tf.IndexedSlices(grad.values * 0.01, grad.indices))

    step()

    def once() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - start) / steps * 1000
    return once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats; medians are reported")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed call")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    cases: dict[str, tuple[Callable[[], float], int]] = {
        "keras_step, 2^18 rows (default)": (keras_step(2**18, 32, args.steps), 32),
        "keras_step, 4,096 rows": (keras_step(2**12, 32, args.steps), 32),
        "tf_read_gather (Keras' Embedding path)": (tf_update(False, args.steps), 32),
        "tf_resource_gather": (tf_update(True, args.steps), 32),
        "lazy_adam, 2^18 rows, batch 32": (keras_step(2**18, 32, args.steps, "lazy_adam"), 32),
        "lazy_adam, 2^18 rows, batch 128": (keras_step(2**18, 128, max(2, args.steps // 4), "lazy_adam"), 128),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (once, _batch) in cases.items():
            times[name].append(once())
    rows = [{"case": name, "batch": batch, "ms_per_step": statistics.median(times[name]),
             "s_per_epoch_22500": statistics.median(times[name]) / 1000 * 22_500 / batch, "runs": times[name]}
            for name, (_, batch) in cases.items()]
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_line(),
        "load_average": [load_before, os.getloadavg()[0]], "repeats": args.repeats, "steps": args.steps,
        "rows": rows,
    }
    lines = [f"# N-gram teacher: ms per training step ({report['date']})", "",
             f"{report['machine']}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
             f"median of {args.repeats} alternating repeats of {args.steps} steps, random tokens, {LENGTH} per row.",
             "", "| case | batch | ms per step | s per 22,500-review epoch |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['case']} | {r['batch']} | {r['ms_per_step']:.1f} | {r['s_per_epoch_22500']:.0f} |" for r in rows]
    write_results("ngram_step", report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
