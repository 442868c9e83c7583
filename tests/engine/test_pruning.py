"""The engine under successive halving: a student told to stop keeps its best epoch, is tested and says so."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from kdcore.progress import RecordingReporter
from kdcore.samples import tiny_config


class PruneAfterFirstEpoch(RecordingReporter):
    """Says stop to the distilled student after its first epoch, as a sweep's halving would."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, int]] = []

    def prune(self, arm: str, epoch: int, metrics: Mapping[str, float]) -> str | None:
        self.asked.append((arm, epoch))
        return "stopped by successive halving after epoch 1" if arm == "student" else None


@pytest.mark.slow
def test_run_experiment__pruned_student_stops_and_is_reported(synthetic_imdb: Path, tmp_path: Path) -> None:
    # given
    from kdcore.engine.pipeline import run_experiment

    config = tiny_config(synthetic_imdb, "train.epochs=3", "report.enabled=true")
    reporter = PruneAfterFirstEpoch()
    # when
    summary = run_experiment(config, tmp_path / "run", reporter, home=tmp_path / "home")
    # then
    student, scratch = summary["arms"]["student"], summary["arms"]["scratch"]
    assert student["epochs_trained"] == 1 and student["pruned"] is True, f"stopped after epoch 1: {student}"
    assert student["test_accuracy"] is not None, "a stopped student is still tested"
    assert scratch["epochs_trained"] == 3 and not scratch.get("pruned"), "its scratch twin trains every epoch"
    assert ("student", 2) not in reporter.asked, "never asked after the last epoch (nothing left to save)"
    logs = [e.message for e in reporter.events if e.kind == "log"]
    assert any("successive halving" in line for line in logs), "the run's log says why the student stopped"
    assert "deployment" not in summary and any("Compression report skipped" in line for line in logs), \
        "a stopped student is no candidate to deploy: no compression report"
