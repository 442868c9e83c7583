"""The n-gram teacher trained with a row-wise ("lazy") Adam: how fast, and is it as good?

    .venv/bin/python -m bench.ngram_teacher [--variants lazy:32,lazy:128,adam:32] [--epochs 4] [--adam-epochs 1]

Why: ``ngram_step.py`` shows that a teacher step is slow because the 2^18-row bigram table
is copied and fully updated by Adam at every step, and that an Adam which updates only the
rows a batch touched is several times faster per step. A faster step only helps if the
teacher stays as good, so this trains the default n-gram teacher (``teacher=ngram``: its
sizes, 400 tokens, 4 epochs, keep-best by validation loss, seed 0, the same rows and split as
kdcore's runs) with each variant and reports seconds per epoch, validation accuracy per epoch
and the kept epoch's test accuracy. ``adam`` is Keras' Adam (the recipe before
``train.teacher_optimizer``), timed for ``--adam-epochs`` only (its full result is in
``accuracy-ngram*.md``); ``lazy`` is ``kdcore.engine.optimizers.LazyAdam``, the recipe's now. Needs
the IMDB file (``KDCORE_IMDB_PATH``).

Writes ``bench/results/ngram_teacher.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from typing import Any

import keras
import numpy as np

from bench.machine import machine_line, write_results
from kdcore.config import RunConfig, apply_overrides
from kdcore.engine.data import load_split_views
from kdcore.engine.families.ngram import build_ngram
from kdcore.engine.models import compile_classifier


def train(variant: str, batch: int, epochs: int, config: RunConfig, splits: Any) -> dict[str, Any]:
    """Train one teacher; keep the weights of its lowest validation loss; test them."""
    keras.utils.set_random_seed(config.train.seed)
    model = build_ngram(config.teacher, config.data.vocab_size, config.data.teacher_length, "teacher")
    compile_classifier(model, config.train.learning_rate, False, "adam" if variant == "adam" else "lazy_adam")
    rows, best, best_weights = [], None, None
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(splits.x_train, splits.y_train, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        seconds = time.perf_counter() - start
        val_loss, val_acc = model.evaluate(splits.x_val, splits.y_val, batch_size=1024, verbose=0)
        rows.append({"epoch": epoch + 1, "seconds": seconds, "val_loss": val_loss, "val_accuracy": val_acc})
        print(f"{variant} batch {batch} epoch {epoch + 1}: {seconds:.0f} s, val {val_acc:.4f} (loss {val_loss:.4f})",
              flush=True)
        if best is None or val_loss < best["val_loss"]:
            best, best_weights = rows[-1], model.get_weights()
    model.set_weights(best_weights)
    _, test_acc = model.evaluate(splits.x_test, splits.y_test, batch_size=1024, verbose=0)
    return {"variant": variant, "batch": batch, "epochs": rows, "best_epoch": best["epoch"],
            "test_accuracy": test_acc, "train_seconds": sum(r["seconds"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lazy:32,lazy:128,adam:32", help="optimizer:batch, comma-separated")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per lazy variant (the recipe's 4)")
    parser.add_argument("--adam-epochs", type=int, default=1, help="epochs for kdcore's current Adam (timing)")
    args = parser.parse_args(argv)
    config = apply_overrides(RunConfig(), ["teacher=ngram"])
    splits = load_split_views(config.data, config.train.seed, {config.data.teacher_length})[config.data.teacher_length]
    load_before = os.getloadavg()[0]
    results = []
    for item in args.variants.split(","):
        variant, batch = item.split(":")
        epochs = args.adam_epochs if variant == "adam" else args.epochs
        results.append(train(variant, int(batch), epochs, config, splits))
    report = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_line(),
        "load_average": [load_before, os.getloadavg()[0]],
        "data": f"IMDB {len(splits.y_train):,} train / {len(splits.y_val):,} validation / {len(splits.y_test):,} test, "
                f"{config.data.teacher_length} tokens",
        "results": results,
    }
    lines = [f"# N-gram teacher: lazy Adam against kdcore's Adam ({report['date']})", "",
             f"{report['machine']}; {report['data']}; load average {load_before:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after. Default n-gram sizes, seed 0, keep-best by validation loss.", "",
             "| optimizer | batch | epochs | s per epoch (median) | validation accuracy by epoch (%) | kept | "
             "test accuracy |", "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in results:
        per_epoch = float(np.median([e["seconds"] for e in r["epochs"]]))
        vals = ", ".join(f"{e['val_accuracy'] * 100:.1f}" for e in r["epochs"])
        lines.append(f"| {r['variant']} | {r['batch']} | {len(r['epochs'])} | {per_epoch:.0f} | {vals} | "
                     f"{r['best_epoch']} | {r['test_accuracy'] * 100:.2f}% |")
    write_results("ngram_teacher", report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
