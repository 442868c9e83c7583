"""The pipeline's phase events: what the Live page shows before and between the arms' training batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcore.engine.pipeline import run_experiment
from kdcore.progress import PHASES, RecordingReporter
from kdcore.samples import tiny_config

pytestmark = pytest.mark.slow


def marks(reporter: RecordingReporter) -> list[str]:
    """The run's phases and arm starts, in order: ``phase:Loading data``, ``start:teacher``, ..."""
    return [f"phase:{e.message}" if e.kind == "phase" else f"start:{e.arm}"
            for e in reporter.events if e.kind in ("phase", "arm_start")]


def test_run_experiment__reports_each_phase_before_the_batches_it_precedes(synthetic_imdb: Path,
                                                                          tmp_path: Path) -> None:
    # given a tiny run, then a second one with the same teacher (so it loads the cached one)
    config = tiny_config(synthetic_imdb)
    first, second = RecordingReporter(), RecordingReporter()
    # when both run
    run_experiment(config, tmp_path / "runs" / "a", first, home=tmp_path, tick_interval=0.0)
    run_experiment(config, tmp_path / "runs" / "b", second, home=tmp_path, tick_interval=0.0)
    # then each phase is reported, in the order the work happens
    assert marks(first) == [f"phase:{PHASES['data']}", f"phase:{PHASES['teacher_model']}", "start:teacher",
                            f"phase:{PHASES['targets']}", f"phase:{PHASES['student_models']}", "start:student",
                            "start:scratch"], f"a trained teacher: {marks(first)}"
    assert marks(second)[:3] == [f"phase:{PHASES['data']}", f"phase:{PHASES['teacher_cached']}",
                                 f"phase:{PHASES['targets']}"], f"a cached teacher: {marks(second)}"
    assert all(e.epoch == 0 and e.steps == 0 for e in first.events if e.kind == "phase"), \
        "a phase carries no batch position"
