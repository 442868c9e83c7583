"""RunStore and the worker's reporter with ``phase`` events: logged, kept as events, never moving the progress."""

from __future__ import annotations

from pathlib import Path

from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore
from kdcore.worker.reporter import StoreReporter

WORKER = "w-phase"


def claimed_run(store: RunStore) -> str:
    run_id = store.create_run(RunConfig(name="phases"), run_id="run-phases")
    assert store.claim_next(WORKER) is not None, "fixture: the run just queued is claimed"
    return run_id


def test_record_events__a_phase_is_an_event_and_a_log_line_not_progress(kd_home: Path) -> None:
    # given a run whose teacher finished its 2 epochs (the record says teacher, epoch 2 of 2)
    with RunStore(kd_home) as store:
        run_id = claimed_run(store)
        store.record_events(run_id, [(1.0, ProgressEvent("arm_start", "teacher", 0, 0, 4, 2)),
                                     (2.0, ProgressEvent("tick", "teacher", 1, 3, 4, 2, {"loss": 0.4}))], WORKER)
        # when the engine reports the phase it entered
        written = store.record_events(run_id, [(3.0, ProgressEvent("phase", "teacher",
                                                                   message="Computing teacher targets"))], WORKER)
        # then it is stored as a phase event with its words, in the log, and the record's progress stays put
        assert written, "the run's worker may record a phase"
        phases = store.events(run_id, kinds=["phase"])
        assert [(e["arm"], e["text"]) for e in phases] == [("teacher", "Computing teacher targets")], f"{phases}"
        assert "Computing teacher targets" in store.logs(run_id), "the phase is a line of the run's log"
        record = store.get_run(run_id)
        assert (record.arm, record.epoch, record.step, record.steps) == ("teacher", 1, 3, 4), \
            "a phase does not move the batch counter"


def test_store_reporter__writes_a_phase_at_once(kd_home: Path) -> None:
    # given a worker's reporter that writes ticks at most every minute
    with RunStore(kd_home) as store:
        run_id = claimed_run(store)
        reporter = StoreReporter(store, run_id, WORKER, flush_interval=60.0)
        reporter.report(ProgressEvent("log", message="Device: CPU."))
        # when the engine enters a phase that may last long (no batch reports meanwhile)
        reporter.report(ProgressEvent("phase", message="Loading data"))
        # then the page can read it now, not at the next flush
        phases = [e["text"] for e in store.events(run_id, kinds=["phase"])]
        reporter.close()
        assert phases == ["Loading data"], "a phase is written at once, like an arm start"
