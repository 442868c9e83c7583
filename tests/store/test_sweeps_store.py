"""The store's sweeps: queued whole or not at all, read back in grid order, cancelled together, one teacher."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcore import paths
from kdcore.config import ConfigError
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore

GRID = {"distill.alpha": [0.1, 0.5], "distill.temperature": [2, 5]}


def test_create_sweep__queues_every_point_in_grid_order_with_its_point(store: RunStore) -> None:
    # when
    sweep_id = store.create_sweep({"name": "kd", "base": {"student": "tiny"}, "grid": GRID})
    # then
    runs = store.sweep_runs(sweep_id)
    assert [r.point for r in runs] == [{"distill.alpha": a, "distill.temperature": t}
                                       for a in (0.1, 0.5) for t in (2, 5)], "grid order, each with its point"
    assert all(r.status == "queued" and r.sweep_id == sweep_id for r in runs), "all queued, all of the sweep"
    assert runs[3].run_config().distill.alpha == 0.5, "each run's config carries its point"
    sweep = store.get_sweep(sweep_id)
    assert sweep is not None and sweep.name == "kd" and sweep.spec["grid"] == GRID, "the spec is kept"
    assert [s.id for s in store.list_sweeps()] == [sweep_id], "listed"
    assert len(store.list_runs()) == 4, "a sweep's runs are ordinary runs"


def test_create_sweep__a_bad_point_queues_nothing(store: RunStore) -> None:
    # when
    with pytest.raises(ConfigError, match="grid.distill.alpha=3"):
        store.create_sweep({"grid": {"distill.alpha": [0.1, 3]}})
    # then
    assert store.list_runs() == [] and store.list_sweeps() == [], "refused whole: no run, no sweep"


def test_cancel_sweep__cancels_queued_runs_and_flags_running_ones(store: RunStore) -> None:
    # given
    sweep_id = store.create_sweep({"grid": GRID})
    running = store.claim_next("w1")
    assert running is not None
    other = store.create_run({"name": "not in the sweep"})
    # when
    cancelled = store.cancel_sweep(sweep_id)
    # then
    runs = {r.id: r for r in store.sweep_runs(sweep_id)}
    assert len(cancelled) == 4, "every active run of the sweep"
    assert runs[running.id].status == "running" and runs[running.id].cancel_requested, "the running one is asked"
    assert all(r.status == "cancelled" for i, r in runs.items() if i != running.id), "the queued ones are cancelled"
    assert store.get_run(other).status == "queued", "a run outside the sweep is left alone"


def test_claim_next__waits_while_another_worker_trains_the_same_teacher(store: RunStore, kd_home: Path) -> None:
    # given: four runs sharing one teacher, and a run with another teacher queued after them
    sweep_id = store.create_sweep({"grid": GRID})
    other = store.create_run({})  # the same teacher, but queued on its own: it trains its own, as before
    first = store.claim_next("w1")
    # when
    second = store.claim_next("w2")
    # then
    assert first is not None and first.id == store.sweep_runs(sweep_id)[0].id, "the first point goes first"
    assert second is not None and second.id == other, "the second worker skips the runs waiting for that teacher"
    assert store.claim_next("w3") is None, "no other run of the sweep may start while its teacher is trained"
    # when: the first run's teacher is in the cache
    cached = paths.teachers_dir(kd_home) / first.run_config().teacher_key()
    cached.mkdir(parents=True)
    (cached / "teacher.keras").write_bytes(b"PK")
    third = store.claim_next("w3")
    # then
    assert third is not None and third.sweep_id == sweep_id, "the others start and reuse the cached teacher"


def test_rung_values__other_runs_epoch_metrics_at_that_epoch(store: RunStore) -> None:
    # given
    sweep_id = store.create_sweep({"grid": GRID})
    runs = store.sweep_runs(sweep_id)
    for run, value in zip(runs[:3], (0.6, 0.7, 0.8)):
        store.record_events(run.id, [(1.0, ProgressEvent("epoch_end", "student", 0, 4, 4, 3,
                                                         {"val_accuracy": value}))])
    # when
    values = store.rung_values(sweep_id, "student", 0, "val_accuracy", exclude=runs[0].id)
    # then
    assert sorted(values) == [0.7, 0.8], "the other runs' values at that rung, not the asking run's"
    assert store.rung_values(sweep_id, "student", 1, "val_accuracy", exclude=runs[0].id) == [], "none at epoch 2"
