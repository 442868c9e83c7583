"""Is the run that ``teacher_from`` names one whose teacher can be reused? Checked at ``submit`` and ``run``.

Why here and not only in the worker: there the check comes after TensorFlow has loaded and the
data has been read, and a typo in a run id fails the run minutes later instead of the command
at once. The worker still checks what only it can (the earlier run's config against this one's).
"""

from __future__ import annotations

from pathlib import Path

from kdcore import paths
from kdcore.store import RunStore


def teacher_from_problem(run_id: str, home: str | Path | None) -> str | None:
    """Why the run ``run_id`` cannot lend its teacher, or None when it can.

    It must exist (in the store, or as a run folder a foreground ``kdcore run`` wrote), have
    succeeded (its store status, or the ``summary.json`` a finished foreground run writes), and
    hold ``teacher.keras``. The store is read only if it exists: a check must not create one.
    """
    folder = paths.run_dir(run_id, home)
    status = _store_status(run_id, home)
    where = f"teacher_from: run {run_id!r}"
    if status is None and not folder.is_dir():
        return f"{where}: no run with this id in {paths.home_dir(home)} (`python -m kdcore status` lists the runs)"
    if status is not None and status != "succeeded":
        return f"{where} has status {status!r}; only the teacher of a run that succeeded can be reused"
    if status is None and not (folder / "summary.json").is_file():
        return f"{where} did not finish (its folder {folder} has no summary.json)"
    if not (folder / "teacher.keras").is_file():
        return f"{where} has no teacher.keras in {folder} (was it deleted?)"
    return None


def _store_status(run_id: str, home: str | Path | None) -> str | None:
    """The run's status in the store; None when the store or the run is not there."""
    if not paths.store_path(home).is_file():
        return None
    with RunStore(home) as store:
        record = store.get_run(run_id)
    return record.status if record is not None else None
