"""CPU latency and throughput of saved ``.keras`` models, timed in a process of its own with a fixed thread count.

Why a subprocess: TensorFlow takes its intra- and inter-op thread counts once, before its first
op, and the worker that trained the run has long started with all the machine's cores. A
fresh ``python -m kdcore.engine.latency`` sets both to ``report.threads`` before anything
runs, hides any GPU (the figures are the CPU's), so a latency means the same on every run
and every machine with that CPU. It costs the child's TensorFlow start (a few seconds), paid
once per run for all its models.

What is timed: the model's forward pass as a ``tf.function`` over int32 token ids (what a
served model runs), one call at batch 1 per timing after a warm-up, the output copied back
to NumPy; throughput is rows per second at ``report.throughput_batch``, the median of a few
calls. Rows are the run's own test rows, cut or padded in front to each model's input length
(a teacher may read longer reviews than the students).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Untimed calls before timing: the first traces the function, the next ones settle caches.
WARMUP_CALLS = 10
#: Timed calls at the throughput batch size; the median is reported.
THROUGHPUT_CALLS = 5
#: The child prints its answer on one line that starts with this, after whatever TensorFlow logs.
RESULT_PREFIX = "LATENCY-JSON "


class LatencyFailed(RuntimeError):
    """The timing process failed; ``str()`` is one line saying why."""


def cpu_name() -> str:
    """The CPU's model name as Linux reports it (else the platform's word for it), with the core count."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def measure_latency(models: Mapping[str, Path], rows: np.ndarray, *, threads: int, calls: int, batch: int,
                    workdir: Path, timeout_s: float = 900.0) -> dict[str, dict[str, Any]]:
    """Arm -> its :class:`~kdcore.results.deployment.ArmLatency` fields, timed in a child process.

    An arm whose model cannot be timed (an uploaded teacher that reads raw text) maps to ``{"error": why}``.

    Raises :class:`LatencyFailed` with the child's last error line when it fails or runs past ``timeout_s``.
    """
    rows_path = workdir / "latency_rows.npy"
    np.save(rows_path, np.asarray(rows, dtype=np.int32))
    command = [sys.executable, "-m", "kdcore.engine.latency", "--threads", str(threads), "--calls", str(calls),
               "--batch", str(batch), "--rows", str(rows_path),
               *[f"--model={arm}={path}" for arm, path in models.items()]]
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LatencyFailed(f"timing took longer than {timeout_s:.0f} s") from exc
    finally:
        rows_path.unlink(missing_ok=True)
    answer = next((line for line in reversed(done.stdout.splitlines()) if line.startswith(RESULT_PREFIX)), None)
    if done.returncode != 0 or answer is None:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise LatencyFailed(f"the timing process exited with {done.returncode}: "
                            f"{lines[-1] if lines else 'no message'}")
    return json.loads(answer.removeprefix(RESULT_PREFIX))


def fit_length(rows: np.ndarray, length: int) -> np.ndarray:
    """Rows cut to their last ``length`` tokens or padded with zeros in front, as the run's data is."""
    rows = np.asarray(rows, dtype=np.int32)
    if rows.shape[1] >= length:
        return rows[:, rows.shape[1] - length:]
    return np.concatenate([np.zeros((len(rows), length - rows.shape[1]), dtype=np.int32), rows], axis=1)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0.95 for p95) by linear interpolation, as NumPy's default."""
    return float(np.quantile(np.asarray(values, dtype=np.float64), share))


def time_model(path: Path, rows: np.ndarray, calls: int, batch: int) -> dict[str, Any]:
    """Batch-1 median and p95 over ``calls`` timed calls, and rows per second at ``batch``, of one saved model."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(path, compile=False, safe_mode=True)
    given = model.inputs[0]
    if "int" not in str(given.dtype) or len(given.shape) != 2 or given.shape[1] is None:
        raise ValueError(f"it reads {given.dtype} of shape {tuple(given.shape)}, not token ids of a fixed length")
    length = int(given.shape[1])
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                          input_signature=[tf.TensorSpec((None, length), tf.int32)])
    fitted = fit_length(rows, length)
    singles = [tf.constant(fitted[i % len(fitted)][None, :]) for i in range(min(len(fitted), 64))]
    big = tf.constant(np.resize(fitted, (batch, length)))
    for i in range(WARMUP_CALLS):
        forward(singles[i % len(singles)]).numpy()
    forward(big).numpy()
    timings = []
    for i in range(calls):
        start = time.perf_counter()
        forward(singles[i % len(singles)]).numpy()
        timings.append((time.perf_counter() - start) * 1000.0)
    rates = []
    for _ in range(THROUGHPUT_CALLS):
        start = time.perf_counter()
        forward(big).numpy()
        rates.append(batch / (time.perf_counter() - start))
    return {"batch1_median_ms": statistics.median(timings), "batch1_p95_ms": percentile(timings, 0.95),
            "batch1_calls": calls, "throughput_per_s": statistics.median(rates), "throughput_batch": batch}


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.engine.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rows", type=Path, required=True, help="an .npy of int32 token rows")
    parser.add_argument("--model", action="append", default=[], help="ARM=PATH of a .keras file (repeatable)")
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)  # before the first op, or never
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rows = np.load(args.rows)
    out = {}
    for item in args.model:
        arm, _, path = item.partition("=")
        try:
            out[arm] = time_model(Path(path), rows, args.calls, args.batch)
        except Exception as exc:  # noqa: BLE001 - one model that cannot be timed (an uploaded teacher) is its own
            out[arm] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]}
    print(RESULT_PREFIX + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
