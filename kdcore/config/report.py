"""What the compression report measures after a run's students: latency settings and which exports to try.

Why a section of its own: these settings change what is measured after training, never what
is trained, so they stay out of the teacher's and the scratch student's cache keys
(:mod:`kdcore.config.keys` lists what goes in there explicitly).
"""

from __future__ import annotations

from pydantic import Field

from kdcore.config.base import StrictModel


class ReportConfig(StrictModel):
    enabled: bool = Field(
        True, description="After the students: export the student (SavedModel, int8, TFLite, ONNX) and measure the "
        "CPU latency of every saved model (summary's deployment section). Off: none of it; the run ends sooner.")
    latency_calls: int = Field(
        200, ge=10, le=100_000, description="Timed calls at batch 1 per model, after warm-up (median and p95).")
    throughput_batch: int = Field(
        256, ge=1, le=65_536, description="Rows per call when measuring throughput (rows per second).")
    threads: int = Field(
        1, ge=1, le=256, description="CPU threads TensorFlow may use while measuring latency (intra- and inter-op), "
        "fixed in a process of its own so that figures from different machines and runs compare.")
    conversions: bool = Field(
        True, description="Also try the TFLite and ONNX exports (the slowest part of the report); off: the "
        "SavedModel and int8 weights only.")
