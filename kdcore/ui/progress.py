"""The Live page's progress: which arms a run plans, how far each got, and the time left.

Read from the run's record (updated each heartbeat) and its stored curves; no widgets.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from kdcore.arms import ARMS, arm_base, arm_label, arm_name, sorted_arms
from kdcore.results import RunSummary
from kdcore.ui.format import run_duration

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
    from kdcore.store import RunRecord


def planned_arms(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(arm, planned epochs) in the order an experiment trains them; a reused teacher plans 0."""
    train = config.get("train", {}) or {}
    epochs = int(train.get("epochs") or 1)
    teacher_epochs = int(train.get("teacher_epochs") or epochs)
    teacher, student, scratch = ARMS
    arms: list[tuple[str, int]] = [(teacher, 0 if config.get("teacher_from") else teacher_epochs)]
    for seed in range(int(train.get("seeds") or 1)):
        arms.append((arm_name(student, seed), epochs))
        if train.get("train_scratch", True):
            arms.append((arm_name(scratch, seed), epochs))
    return arms


@dataclass(frozen=True)
class ArmProgress:
    """One bar of the Live page: an arm, how much of its planned work is done, and that in words."""

    arm: str
    label: str
    fraction: float  # 0..1 of the arm's planned work
    text: str
    planned_epochs: int


def arm_progress(record: RunRecord, curves: pd.DataFrame | None) -> list[ArmProgress]:
    """Progress of each planned arm, from the run's live fields and its stored curves.

    The current arm's position comes from the record (updated each heartbeat); other arms
    count as done when a later arm has started, or the run succeeded, since early stopping
    can end an arm before its planned epochs.
    """
    curves = curves if curves is not None else pd.DataFrame(columns=["arm", "kind", "fraction", "t"])
    summary = RunSummary.from_dict(record.summary)
    plan = planned_arms(record.config or {})
    seen = {a for a in curves["arm"].unique()} if not curves.empty else set()
    # arms the run actually produced but the plan did not foresee still get a bar
    plan += [(a, int((record.config or {}).get("train", {}).get("epochs") or 1))
             for a in sorted_arms(seen) if a not in {p for p, _ in plan}]
    last_t = curves.groupby("arm")["t"].max().to_dict() if not curves.empty else {}
    first_t = curves.groupby("arm")["t"].min().to_dict() if not curves.empty else {}
    out = []
    for arm, planned in plan:
        label = arm_label(arm)
        rows = curves[curves["arm"] == arm] if not curves.empty else curves
        if arm == "teacher" and planned == 0:
            source = (record.config or {}).get("teacher_from")
            out.append(ArmProgress(arm, label, 1.0, f"reused from run {source}", 0))
            continue
        if record.status == "running" and record.arm == arm and record.steps:
            epochs = record.epochs or planned
            frac = (record.epoch + record.step / record.steps) / max(epochs, 1)
            text = f"epoch {record.epoch + 1}/{epochs} · batch {record.step}/{record.steps}"
            out.append(ArmProgress(arm, label, min(max(frac, 0.0), 1.0), text, planned))
            continue
        if rows.empty:
            if arm in summary.arms:
                out.append(ArmProgress(arm, label, 1.0, "done", planned))
            elif arm == "teacher" and summary.teacher_reused:
                out.append(ArmProgress(arm, label, 1.0, "reused an identical earlier teacher", planned))
            else:
                out.append(ArmProgress(arm, label, 0.0, "not started" if record.status in ("queued", "running")
                                       else "not run", planned))
            continue
        epochs_done = int(rows.loc[rows["kind"] == "epoch", "epoch"].nunique())
        later_started = any(t > last_t[arm] for a, t in first_t.items() if a != arm)
        done = record.status == "succeeded" or arm in summary.arms or later_started
        if done:
            early = " (stopped early)" if planned and epochs_done < planned else ""
            out.append(ArmProgress(arm, label, 1.0, f"done · {epochs_done} epoch{'s' * (epochs_done != 1)}{early}",
                                   planned))
        else:
            frac = float(rows["fraction"].max()) / max(planned, 1)
            state = "stopped" if record.status in ("failed", "cancelled") else "training"
            out.append(ArmProgress(arm, label, min(max(frac, 0.0), 1.0),
                                   f"{state} · epoch {min(epochs_done + 1, planned)}/{planned}", planned))
    return out


def epoch_text(record: RunRecord) -> str:
    """The Live page's "Epoch" counter, ``done or in progress / planned``, never past the planned epochs.

    Why clamped: an arm's ``arm_end`` event carries the count of epochs done (2 of 2) where
    ticks carry the 0-based epoch in progress, so the record read "Epoch 3/2" between a
    teacher's end (trained or loaded from the cache) and the next arm's first batch.
    """
    if record.epoch is None or not record.epochs:
        return "–"
    return f"{min(record.epoch + 1, record.epochs)}/{record.epochs}"


def seconds_per_epoch(curves: pd.DataFrame | None) -> dict[str, float]:
    """Each arm's measured seconds per epoch: its finished epochs' ``epoch_seconds``, else its ticks' pace."""
    if curves is None or curves.empty:
        return {}
    speeds: dict[str, float] = {}
    finished = curves[(curves["kind"] == "epoch") & (curves["name"] == "epoch_seconds")]
    for arm, rows in finished.groupby("arm"):
        speeds[str(arm)] = float(rows["value"].median())
    ticks = curves[curves["kind"] == "tick"].drop_duplicates(["arm", "epoch", "step"])
    for arm, rows in ticks.groupby("arm"):
        span = float(rows["fraction"].max() - rows["fraction"].min())
        if str(arm) not in speeds and len(rows) >= 2 and span > 0:
            speeds[str(arm)] = float(rows["t"].max() - rows["t"].min()) / span
    return speeds


def arm_speed(arm: str, speeds: Mapping[str, float], prior: Mapping[str, float] | None = None) -> float | None:
    """Seconds per epoch of ``arm``: measured, else a sibling's (students of one size train alike), else ``prior``'s.

    ``prior`` holds expected seconds per epoch by role (``teacher``, ``student``) before an arm of
    that role has trained (:func:`kdcore.ui.estimate.seconds_per_epoch_by_role`: earlier runs'
    speeds, else a rough figure per family). Only without it does a student borrow the teacher's
    pace, which is wrong by a wide margin when the two are of different families (an n-gram
    teacher trains several times faster than a recurrent student).
    """
    if arm in speeds:
        return speeds[arm]
    role = "teacher" if arm_base(arm) == "teacher" else "student"
    if role == "student":
        siblings = [v for a, v in speeds.items() if arm_base(a) != "teacher"]
        if siblings:
            return sum(siblings) / len(siblings)
    if prior and role in prior:
        return prior[role]
    return speeds.get("teacher")


def time_left(record: RunRecord, progress: Sequence[ArmProgress], now: float | None = None,
              curves: pd.DataFrame | None = None, prior: Mapping[str, float] | None = None) -> float | None:
    """Seconds left: the epochs still planned in every arm, each at its arm's measured speed.

    Why not the elapsed time scaled by epochs done: the time spent loading data and training a
    slow teacher says nothing about the small students' pace, so that read "19 min left" 32 s
    into a 4-minute run. Without any measured speed yet it falls back on that rough scaling.
    None until there is enough progress to extrapolate from.
    """
    if record.status != "running":
        return None
    speeds = seconds_per_epoch(curves)
    left = [(p.planned_epochs * (1.0 - p.fraction), arm_speed(p.arm, speeds, prior)) for p in progress]
    if speeds and all(speed is not None for epochs, speed in left if epochs > 0):
        return max(0.0, sum(epochs * speed for epochs, speed in left if epochs > 0 and speed is not None))
    elapsed = run_duration(record, now)
    total = sum(p.planned_epochs for p in progress)
    done = sum(p.fraction * p.planned_epochs for p in progress)
    if not elapsed or total <= 0 or done < 0.02 * total:
        return None
    return max(0.0, elapsed * (total - done) / done)


@dataclass(frozen=True)
class Phase:
    """What a run is doing before (or between) training arms: loading data, computing targets, ..."""

    label: str
    arm: str | None
    seconds: float  # how long it has been going on


def current_phase(events: Sequence[Mapping[str, Any]], now: float | None = None) -> Phase | None:
    """The run's latest ``phase`` event, unless an arm started training after it (then batches tell the progress).

    ``events`` are the store's event rows (``t``, ``kind``, ``arm``, ``text``), oldest first.
    """
    marks = [e for e in events if e.get("kind") in ("phase", "arm_start")]
    if not marks or marks[-1]["kind"] != "phase":
        return None
    last = marks[-1]
    now = time.time() if now is None else now
    return Phase(label=str(last.get("text") or ""), arm=last.get("arm"), seconds=max(0.0, now - float(last["t"])))


def latest_samples_per_s(record: RunRecord, curves: pd.DataFrame | None) -> float | None:
    if record.samples_per_s:
        return float(record.samples_per_s)
    if curves is None or curves.empty:
        return None
    rows = curves[curves["name"] == "samples_per_s"]
    return float(rows.sort_values("t")["value"].iloc[-1]) if not rows.empty else None
