"""The compression report's contract: ``summary["deployment"]`` read back and written out unchanged, junk as unknown."""

from __future__ import annotations

from kdcore.results import RunSummary
from tests.ui.test_deploy_ui import stored_report


def test_deployment__round_trips_through_the_typed_summary() -> None:
    # given a summary as the engine stores it, with a report
    stored = {"arms": {"student": {"test_accuracy": 0.85, "params": 120_000}}, "deployment": stored_report()}
    # when it is read and written back
    summary = RunSummary.from_dict(stored)
    # then the report is unchanged, and typed
    assert summary.to_dict()["deployment"] == stored_report(), "to_dict writes what from_dict read"
    assert summary.deployment is not None and summary.deployment.latency["student"].batch1_median_ms == 3.0
    assert summary.deployment.format("int8").test_accuracy == 0.847, "a format is found by its name"
    assert summary.deployment.format("nope") is None, "an unlisted format is None"


def test_deployment__old_summaries_have_none_and_junk_reads_as_unknown() -> None:
    assert RunSummary.from_dict({}).deployment is None, "summaries stored before the report have none"
    assert "deployment" not in RunSummary.from_dict({}).to_dict(), "no section is written for a run without one"
    damaged = RunSummary.from_dict({"deployment": {"latency": {"student": "junk"}, "formats": "junk", "threads": "x",
                                                   "seconds": True}})
    assert damaged.deployment is not None and damaged.deployment.threads is None, "junk fields read as unknown"
    assert damaged.deployment.latency["student"].batch1_median_ms is None, "a junk arm reads as all unknown"
    assert damaged.deployment.formats == () and damaged.deployment.seconds is None, "junk lists and flags: none"
