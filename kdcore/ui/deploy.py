"""What the Live and Download pages show of a run's compression report (``summary["deployment"]``).

Tables and a chart built from the stored :class:`~kdcore.results.deployment.Deployment` only:
the dashboard never loads a model nor TensorFlow to show how fast or how big one is; the
worker measured it (:mod:`kdcore.engine.deploy`). A summary without a report (older runs, or
``report.enabled`` off) has nothing to show, and the pages say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from kdcore.arms import arm_label, sorted_arms
from kdcore.results import Deployment, RunSummary
from kdcore.ui.charts import arm_color
from kdcore.ui.format import fmt_bytes, fmt_params, fmt_pct

#: How the report names each format, in words.
FORMAT_LABELS = {"keras": "Keras (.keras)", "savedmodel": "TF SavedModel", "int8": "Keras int8 weights",
                 "tflite": "TFLite / LiteRT", "onnx": "ONNX"}
STATUS_LABELS = {"ok": "✅ ok", "failed": "❌ failed", "skipped": "– skipped"}


@dataclass(frozen=True)
class DeployDownload:
    """One button of the Download page's deployment row: which file, under what name, as what type."""

    format: str
    artifact: str
    label: str
    mime: str


#: The Download page's buttons for the report's files (the SavedModel folder is zipped on the click).
DEPLOY_DOWNLOADS = (
    DeployDownload("int8", "student_int8.keras", "student_int8.keras", "application/zip"),
    DeployDownload("savedmodel", "student_savedmodel", "student_savedmodel.zip", "application/zip"),
    DeployDownload("tflite", "student.tflite", "student.tflite", "application/octet-stream"),
    DeployDownload("onnx", "student.onnx", "student.onnx", "application/octet-stream"),
)


def latency_frame(summary: RunSummary) -> pd.DataFrame:
    """Arm x batch-1 p50/p95 latency, throughput and parameters; empty without timed arms."""
    report = summary.deployment
    rows = []
    for arm in sorted_arms(report.latency if report else {}):
        timed = report.latency[arm]  # type: ignore[union-attr]
        rows.append({"Model": arm_label(arm), "p50 (ms)": timed.batch1_median_ms, "p95 (ms)": timed.batch1_p95_ms,
                     "Throughput (rows/s)": timed.throughput_per_s, "Params": fmt_params(summary.arm(arm).params),
                     "Test accuracy": fmt_pct(summary.arm(arm).test_accuracy)})
    return pd.DataFrame(rows, columns=["Model", "p50 (ms)", "p95 (ms)", "Throughput (rows/s)", "Params",
                                       "Test accuracy"])


def formats_frame(summary: RunSummary) -> pd.DataFrame:
    """The student's formats: size, status, test accuracy (int8's is its own) and the one-line detail."""
    report = summary.deployment
    rows = [{"Format": FORMAT_LABELS.get(f.format or "", f.format or "–"), "File": f.file or "–",
             "Size": fmt_bytes(f.bytes), "Status": STATUS_LABELS.get(f.status or "", f.status or "–"),
             "Test accuracy": fmt_pct(f.test_accuracy), "Detail": f.detail or ""}
            for f in (report.formats if report else ())]
    return pd.DataFrame(rows, columns=["Format", "File", "Size", "Status", "Test accuracy", "Detail"])


def latency_figure(summary: RunSummary, *, height: int = 300) -> go.Figure:
    """Horizontal bars of each arm's batch-1 median latency, whiskers up to its p95, from 0 ms."""
    report = summary.deployment
    arms = sorted_arms(report.latency if report else {})
    timed = [(arm, report.latency[arm]) for arm in arms  # type: ignore[union-attr]
             if report.latency[arm].batch1_median_ms is not None]  # type: ignore[union-attr]
    fig = go.Figure()
    fig.update_layout(title={"text": "CPU latency at batch 1", "x": 0.0, "xanchor": "left", "font": {"size": 16}},
                      height=height, margin={"l": 10, "r": 10, "t": 48, "b": 10}, showlegend=False,
                      xaxis_title="milliseconds per call (bar: median, whisker: p95)", hovermode="closest")
    if not timed:
        fig.add_annotation(text="No latency measured", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font={"size": 14, "color": "#888"})
        return fig
    medians = [float(t.batch1_median_ms) for _, t in timed]  # type: ignore[arg-type]
    fig.add_trace(go.Bar(
        x=medians, y=[arm_label(arm) for arm, _ in timed], orientation="h",
        marker={"color": [arm_color(arm) for arm, _ in timed]},
        text=[f"{m:.2f} ms" for m in medians], textposition="auto",
        error_x={"type": "data", "symmetric": False, "arrayminus": [0.0] * len(timed), "color": "#444",
                 "array": [max((t.batch1_p95_ms or m) - m, 0.0) for (_, t), m in zip(timed, medians, strict=True)]},
    ))
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    return fig


def deployment_caption(report: Deployment) -> str:
    """How the figures were measured, in one sentence, or why there are none."""
    if report.latency_status != "ok":
        return f"Latency not measured ({report.latency_status or 'unknown'}): {report.latency_detail or 'no reason'}."
    calls = next((t.batch1_calls for t in report.latency.values() if t.batch1_calls), None)
    batch = next((t.throughput_batch for t in report.latency.values() if t.throughput_batch), None)
    threads = report.threads or 1
    return (f"Measured on {report.cpu or 'the worker CPU'} with {threads} thread{'s' if threads != 1 else ''}, "
            f"after warm-up: median and p95 of {calls or '–'} calls at batch 1, throughput at batch {batch or '–'} "
            "(median of 5 calls). The saved .keras files, as downloaded."
            + (f" {report.latency_detail[0].upper()}{report.latency_detail[1:]}." if report.latency_detail else ""))


def speedup_line(summary: RunSummary) -> str | None:
    """``The student answers 3.1x faster than the teacher and is 12.0x smaller on disk.`` when both are known."""
    report = summary.deployment
    if report is None or "teacher" not in report.latency or "student" not in report.latency:
        return None
    teacher, student = report.latency["teacher"].batch1_median_ms, report.latency["student"].batch1_median_ms
    if not teacher or not student:
        return None
    line = f"The student answers {teacher / student:.1f}x as fast as the teacher at batch 1"
    return line + (f" and its .keras file is {summary.bytes_ratio:.1f}x smaller." if summary.bytes_ratio else ".")
