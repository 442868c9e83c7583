"""The typed contract of a run's compression report (``summary["deployment"]``): latency, formats, sizes.

The engine measures it after the students (:mod:`kdcore.engine.deploy`); the Live and Download
pages and the Sweeps page read it back. Times are milliseconds, throughput is rows per second,
sizes are bytes, accuracies fractions. A summary stored before the report existed has none
(``RunSummary.deployment`` is None), and a part that could not be measured says so in its
``status`` and ``detail`` rather than by a missing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kdcore.arms import sorted_arms
from kdcore.results.contract import _count, _FlatRecord, _mapping, _text

#: What each format's ``status`` may be: written and checked, tried and refused, or not tried.
FORMAT_STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True)
class ArmLatency(_FlatRecord):
    """One saved model's speed on the worker's CPU, with the report's fixed thread count, after warm-up."""

    #: Median and 95th percentile of one call at batch 1, in milliseconds.
    batch1_median_ms: float | None = None
    batch1_p95_ms: float | None = None
    #: How many timed calls the two figures above are taken over (``report.latency_calls``).
    batch1_calls: int | None = None
    #: Rows per second at batch :attr:`throughput_batch` (the median of a few calls).
    throughput_per_s: float | None = None
    throughput_batch: int | None = None


@dataclass(frozen=True)
class FormatResult(_FlatRecord):
    """One deployable form of the student: its file, its size, whether it worked, and its test accuracy."""

    #: ``keras``, ``savedmodel``, ``int8``, ``tflite`` or ``onnx``.
    format: str | None = None
    #: Its name in the run folder (``student_savedmodel`` is a folder); None when nothing was written.
    file: str | None = None
    #: Size in bytes (a folder's files added up); None when nothing was written.
    bytes: int | None = None
    #: One of :data:`FORMAT_STATUSES`.
    status: str | None = None
    #: One line: how it was made or checked, or why it failed or was skipped.
    detail: str | None = None
    #: Share of the run's test set it classifies correctly, 0..1; None when no runtime could score it here.
    test_accuracy: float | None = None


@dataclass(frozen=True)
class Deployment:
    """The compression report of one finished run."""

    #: CPU threads TensorFlow was held to while timing (intra- and inter-op).
    threads: int | None = None
    #: The CPU the latency was measured on, in words.
    cpu: str | None = None
    #: Arm (``teacher``, ``student``, ``scratch``) -> its latency; arms without a saved model are absent.
    latency: Mapping[str, ArmLatency] = field(default_factory=lambda: MappingProxyType({}))
    #: ``ok`` (then :attr:`latency_detail` names any arm that could not be timed, e.g. an uploaded teacher that
    #: reads raw text), or ``failed``/``skipped`` with :attr:`latency_detail` saying why (:attr:`latency` empty).
    latency_status: str | None = None
    latency_detail: str | None = None
    #: The student's formats, in the order they were tried.
    formats: tuple[FormatResult, ...] = ()
    #: Wall-clock seconds the whole report took.
    seconds: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Deployment | None:
        """Read it as stored; None when absent (a summary from before the report, or a run with it off)."""
        if not isinstance(data, Mapping):
            return None
        formats = data.get("formats")
        seconds = data.get("seconds")
        return cls(threads=_count(data.get("threads")), cpu=_text(data.get("cpu")),
                   latency=MappingProxyType({str(arm): ArmLatency.from_dict(value)
                                             for arm, value in _mapping(data.get("latency")).items()}),
                   latency_status=_text(data.get("latency_status")), latency_detail=_text(data.get("latency_detail")),
                   formats=tuple(FormatResult.from_dict(f) for f in formats if isinstance(f, Mapping))
                   if isinstance(formats, list | tuple) else (),
                   seconds=float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool)
                   else None)

    def to_dict(self) -> dict[str, Any]:
        return {"threads": self.threads, "cpu": self.cpu,
                "latency": {arm: self.latency[arm].to_dict() for arm in sorted_arms(self.latency)},
                "latency_status": self.latency_status, "latency_detail": self.latency_detail,
                "formats": [f.to_dict() for f in self.formats], "seconds": self.seconds}

    def format(self, name: str) -> FormatResult | None:
        """The named format's result, or None when the report did not list it."""
        return next((f for f in self.formats if f.format == name), None)
