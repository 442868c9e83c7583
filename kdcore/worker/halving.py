"""Successive halving for a run of a sweep: at each rung, go on only if among the best of the sweep so far.

The decision is made in the worker (it has the store) and asked for by the engine through the
reporter (:func:`kdcore.progress.prune_reason`), so the engine stays free of SQLite and a run
outside a sweep never pays for it. Asynchronous, as Optuna's SuccessiveHalvingPruner and ASHA:
a run compares itself with the runs that reached the same rung before it and never waits for
the rest, so workers stay busy; the first run at a rung always goes on.
"""

from __future__ import annotations

from collections.abc import Mapping

from kdcore.config import ConfigError, RunConfig
from kdcore.config.sweep import HalvingConfig, parse_spec
from kdcore.store import TRANSIENT_STORE_ERRORS, RunRecord, RunStore

#: What halving ranks runs by at a rung: the distilled student's validation accuracy at that epoch.
RUNG_METRIC = "val_accuracy"


class SweepPruner:
    """Answers "stop this arm here?" for one run of a sweep with halving on."""

    def __init__(self, store: RunStore, run_id: str, sweep_id: str, halving: HalvingConfig, epochs: int):
        self.store = store
        self.run_id = run_id
        self.sweep_id = sweep_id
        self.halving = halving
        self.rungs = frozenset(halving.rungs(epochs))

    def prune(self, arm: str, epoch: int, metrics: Mapping[str, float]) -> str | None:
        """A reason to stop the distilled student after ``epoch`` (0-based), or None; never fails the run."""
        value = metrics.get(RUNG_METRIC)
        if not arm.startswith("student") or epoch + 1 not in self.rungs or value is None:
            return None
        try:
            others = self.store.rung_values(self.sweep_id, arm, epoch, RUNG_METRIC, exclude=self.run_id)
        except TRANSIENT_STORE_ERRORS:
            return None  # a busy store must not stop a run: going on is always correct, only slower
        if self.halving.promotes(value, others):
            return None
        return (f"stopped by successive halving after epoch {epoch + 1}: validation accuracy {value:.4f} is not "
                f"in the best 1/{self.halving.eta} of the {len(others) + 1} runs of sweep {self.sweep_id} that "
                f"reached epoch {epoch + 1}")


def pruner_for(store: RunStore, run: RunRecord, config: RunConfig) -> SweepPruner | None:
    """The run's pruner when its sweep halves, else None (a run of its own, or halving off)."""
    if run.sweep_id is None:
        return None
    sweep = store.get_sweep(run.sweep_id)
    if sweep is None:
        return None
    try:
        halving = parse_spec(sweep.spec).halving
    except ConfigError:
        return None  # a spec this kdcore cannot read: train every epoch, the safe side
    return SweepPruner(store, run.id, run.sweep_id, halving, config.train.epochs) if halving.enabled else None
