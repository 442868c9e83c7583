"""What one row of the run store means: a run, a worker, and how run ids are made.

Split from :mod:`kdcore.store`, which keeps the queries and re-exports these names; the
dataclasses and the column list that fills them live together here, so a new column is one
edit in one file. No TensorFlow here.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kdcore.config import RunConfig, stored_config
from kdcore.store.schema import FINISHED

RUN_COLUMNS = ("id", "name", "status", "config", "created_at", "started_at", "finished_at", "worker_id",
                "heartbeat_at", "arm", "epoch", "step", "steps", "epochs", "samples_per_s", "device", "error",
                "traceback", "summary", "cancel_requested", "attempts", "sweep_id", "point")
SELECT_RUN = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs"


@dataclass(frozen=True)
class RunRecord:
    """One run as the store sees it (a snapshot; read again for fresh values)."""

    id: str
    name: str
    status: str
    config: dict
    created_at: float
    started_at: float | None
    finished_at: float | None
    worker_id: str | None
    heartbeat_at: float | None
    arm: str | None
    epoch: int | None
    step: int | None
    steps: int | None
    epochs: int | None
    samples_per_s: float | None
    device: str | None
    error: str | None
    traceback: str | None
    summary: dict | None
    cancel_requested: bool
    attempts: int
    #: Why part of the row could not be read (its config or summary is not valid JSON), else None.
    #: A damaged row still lists, with an empty config, so one bad row cannot take a page down.
    damage: str | None = None
    #: The sweep that queued this run (None for a run of its own) and the grid values that make it.
    sweep_id: str | None = None
    point: dict | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def damaged(self) -> bool:
        return self.damage is not None

    def run_config(self) -> RunConfig:
        """The validated config this run was queued with; a damaged row raises rather than run the defaults."""
        if self.damage is not None:
            raise DamagedRecord(f"run {self.id}: {self.damage}")
        return stored_config(self.config)

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> RunRecord:
        values = dict(zip(RUN_COLUMNS, row))
        config, config_problem = _json_object(values["config"], "config")
        summary, summary_problem = _json_object(values["summary"], "summary") if values["summary"] else (None, None)
        point, point_problem = _json_object(values["point"], "point") if values["point"] else (None, None)
        problems = [p for p in (config_problem, summary_problem, point_problem) if p]
        values.update(config=config or {}, summary=summary, point=point,
                      cancel_requested=bool(values["cancel_requested"]),
                      damage="; ".join(problems) or None)
        return cls(**values)


class DamagedRecord(ValueError):
    """A run's stored row cannot be read whole (e.g. its config is not JSON); the message says which part."""


def _json_object(text: Any, column: str) -> tuple[dict | None, str | None]:
    """A JSON-object column as a dict, or None and what is wrong with it, worded for the Runs page."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as e:
        return None, f"its stored {column} is not valid JSON ({e})"
    if not isinstance(value, dict):
        return None, f"its stored {column} is a JSON {type(value).__name__}, not an object"
    return value, None


@dataclass(frozen=True)
class WorkerRecord:
    id: str
    host: str
    pid: int
    devices: str | None
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    run_id: str | None


@dataclass(frozen=True)
class SweepRecord:
    """One sweep as the store keeps it: its id, name, the spec it was made from, and when."""

    id: str
    name: str
    spec: dict
    created_at: float


def new_run_id(now: float | None = None) -> str:
    """``20261128-073501-a1b2c3`` (UTC, as ``kdcore run``): sorts by time, random tail against collisions."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(3)}"
