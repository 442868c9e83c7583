"""The compression report of a finished run: the student in every deployable form, and each model's CPU speed.

Called by :func:`kdcore.engine.pipeline.run_experiment` after the students and before the
summary, on what the run saved (``teacher.keras``, ``student.keras``, ``scratch.keras``): what
a user downloads is what is measured. The formats are :mod:`kdcore.engine.deploy_formats`, the
timing :mod:`kdcore.engine.latency`. Everything here is best effort by design: a format that
does not convert, or a timing process that dies, becomes a status and a reason in the report
(:class:`~kdcore.results.deployment.Deployment`); the run that trained for an hour never fails
for its report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.config import ReportConfig
from kdcore.engine import deploy_formats as formats
from kdcore.engine.latency import LatencyFailed, cpu_name, measure_latency
from kdcore.results import ArmLatency, Deployment, FormatResult

#: The arms whose saved model is timed, when the run folder has it.
TIMED_ARMS = ("teacher", "student", "scratch")
#: The student's formats, in the order the report lists them.
FORMATS = ("keras", "savedmodel", "int8", "tflite", "onnx")
#: What a part the report had not reached says when the run was cancelled.
CANCELLED = "the run was cancelled before this part of the report"


def compression_report(folder: Path, x_test: np.ndarray, y_test: np.ndarray, settings: ReportConfig,
                       student_accuracy: float | None, log: Callable[[str], None] = lambda _m: None,
                       should_stop: Callable[[], bool] = lambda: False) -> Deployment | None:
    """Write the student's formats into ``folder``, time every saved model; None when ``settings.enabled`` is off.

    ``should_stop`` (the reporter's) is asked before each part: a run cancelled after its students
    keeps its results, and what the report had not reached yet is listed as skipped.
    """
    if not settings.enabled:
        return None
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    try:
        x_test, y_test = np.asarray(x_test, dtype=np.int32), np.asarray(y_test)
        rows = student_formats(folder, x_test, y_test, settings, student_accuracy, should_stop)
        log("Compression report: " + "; ".join(f"{r['format']} {r['status']}" for r in rows) + ".")
        latency, status, detail = ({}, "skipped", CANCELLED) if should_stop() else arm_latency(folder, x_test,
                                                                                              settings)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong is the report's to say, never the run's end
        latency, status, detail = {}, "failed", f"the report stopped: {formats.one_line(exc)}"
    return Deployment(threads=settings.threads, cpu=cpu_name(), latency=latency, latency_status=status,
                      latency_detail=detail, formats=tuple(FormatResult.from_dict(r) for r in rows),
                      seconds=time.monotonic() - started)


def student_formats(folder: Path, x_test: np.ndarray, y_test: np.ndarray, settings: ReportConfig,
                    student_accuracy: float | None, should_stop: Callable[[], bool] = lambda: False
                    ) -> list[dict[str, Any]]:
    """One row per format of ``student.keras``: itself, the SavedModel, int8, then TFLite and ONNX if asked."""
    path = folder / "student.keras"
    if not path.is_file():
        return [formats.skipped(name, "the run saved no student.keras") for name in FORMATS]
    keras_row = {"format": "keras", "file": path.name, "bytes": path.stat().st_size, "status": "ok",
                 "test_accuracy": student_accuracy, "detail": "keras.models.load_model(path); no optimizer state"}
    try:
        student = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - a file the report cannot read is reported, not raised
        return [{**keras_row, "status": "failed", "detail": f"does not reload: {formats.one_line(exc)}"}]
    check = x_test[: formats.CHECK_ROWS]
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "savedmodel": lambda: formats.savedmodel(student, folder, check, student_accuracy),
        "int8": lambda: formats.int8(student, folder, x_test, y_test),
        "tflite": lambda: formats.tflite(student, folder, x_test, y_test),
        "onnx": lambda: formats.onnx(student, folder, x_test, y_test),
    }
    rows = [keras_row]
    for name, make in makers.items():
        why_not = _why_not(name, settings, should_stop)
        rows.append(formats.skipped(name, why_not) if why_not else formats.attempt(name, make))
    return rows


def _why_not(name: str, settings: ReportConfig, should_stop: Callable[[], bool]) -> str | None:
    """Why a format is not tried (settings, a missing converter, a cancel), or None to try it."""
    if name in ("tflite", "onnx") and not settings.conversions:
        return "report.conversions is off"
    if name == "onnx" and (missing := formats.onnx_available()):
        return missing
    return CANCELLED if should_stop() else None


def arm_latency(folder: Path, x_test: np.ndarray, settings: ReportConfig
                ) -> tuple[dict[str, ArmLatency], str, str | None]:
    """Each saved arm's latency, with the status and reason of the timing as a whole."""
    models = {arm: folder / f"{arm}.keras" for arm in TIMED_ARMS if (folder / f"{arm}.keras").is_file()}
    if not models:
        return {}, "skipped", "the run saved no model to time"
    if not len(x_test):
        return {}, "skipped", "the test set is empty: no rows to time the models on"
    rows = x_test[: max(settings.throughput_batch, 64)]
    try:
        timed = measure_latency(models, rows, threads=settings.threads, calls=settings.latency_calls,
                                batch=settings.throughput_batch, workdir=folder)
    except (LatencyFailed, OSError, ValueError) as exc:
        return {}, "failed", formats.one_line(exc)
    errors = [f"{arm}: {values['error']}" for arm, values in timed.items() if "error" in values]
    latency = {arm: ArmLatency.from_dict(values) for arm, values in timed.items() if "error" not in values}
    return latency, "ok" if latency else "failed", ("not timed: " + "; ".join(errors)) if errors else None


def earlier_report(folder: Path) -> Deployment | None:
    """The report ``summary.json`` already holds: a finished run read back again is not measured twice."""
    try:
        stored = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return Deployment.from_dict(stored.get("deployment")) if isinstance(stored, dict) else None
