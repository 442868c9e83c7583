"""What a finished run reports: the per-arm results and the run's summary, and how they are computed.

:mod:`kdcore.results.contract` says what each field means (the typed contract every reader
uses); :mod:`kdcore.results.summary` computes the comparisons and the seed statistics,
:mod:`kdcore.results.paired` the test-set intervals (Wilson, Newcombe, McNemar) and
:mod:`kdcore.results.verdict` the verdict in words, :mod:`kdcore.results.classes` the per-class figures
(precision, recall, F1, macro-F1, confusion matrix). Layer: above the bottom (``kdcore.arms``,
``kdcore.progress``, ``kdcore.paths``); written by the engine, read by the UI, the CLI and the
benchmarks. No Keras or TensorFlow.
"""

from kdcore.results.classes import ClassScore
from kdcore.results.contract import ArmResult, DataCounts, GainStats, RunSummary, SeedComparison, SeedStats
from kdcore.results.deployment import ArmLatency, Deployment, FormatResult
from kdcore.results.verdict import RunEvidence

__all__ = ["ArmLatency", "ArmResult", "ClassScore", "DataCounts", "Deployment", "FormatResult", "GainStats",
           "RunEvidence", "RunSummary", "SeedComparison", "SeedStats"]
