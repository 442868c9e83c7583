"""How long a run will take, said before Launch: from the step speeds of earlier finished runs, else a rough figure.

Why from earlier runs: the speed of a training step depends on this machine (cores, GPU, load)
far more than on anything the form knows, and every finished run's summary records each arm's
measured samples/s. A run of the same family and a similar size is the best guide there is;
with none, a rough figure from the benchmark machine (2 CPU cores), labelled as such.
No Streamlit, no TensorFlow: the page asks, this computes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kdcore.arms import arm_base
from kdcore.config import DEFAULT_FAMILY

#: Samples/s per family on the benchmark machine (docs/benchmarks.md: 2 cores, no GPU, the
#: notebook's sizes at 200 tokens ~140-226 samples/s; the n-gram teacher ~400). Only for a rough figure.
ROUGH_SAMPLES_PER_S: dict[str, float] = {"recurrent": 150.0, "ngram": 400.0, "conv": 300.0}
#: A measured speed counts for a planned model when their parameter counts differ by at most this factor.
SIZE_FACTOR = 4.0
#: Reviews in IMDB's training split, when the form sets no limit.
IMDB_TRAIN_REVIEWS = 25_000


@dataclass(frozen=True)
class ArmSpeed:
    """One arm of an earlier run: its model's family and size, and the training speed it measured."""

    family: str
    params: int
    samples_per_s: float


@dataclass(frozen=True)
class TimeEstimate:
    """The planned training time, and whether it comes from speeds measured here."""

    seconds: float
    measured_arms: int  #: planned arms timed from an earlier run's speed; the others used a rough figure
    planned_arms: int

    @property
    def measured(self) -> bool:
        return self.planned_arms > 0 and self.measured_arms == self.planned_arms

    def text(self) -> str:
        """``About 3 min (from the speeds of earlier runs here)`` or ``Roughly 40 min (a rough guess ...)``."""
        when = duration_text(self.seconds)
        if self.measured:
            return f"About {when} of training (from the speeds of earlier runs here)"
        if self.measured_arms:
            return f"About {when} of training (part from earlier runs here, part a rough guess)"
        return f"Roughly {when} of training: a rough guess, no earlier run of this family and size has finished here"


def duration_text(seconds: float) -> str:
    """``45 s``, ``3 min``, ``1 h 20 min``: as precise as an estimate deserves."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def arm_family(arm: str, config: Mapping[str, Any]) -> str:
    """The family of an arm's model, from the config: the teacher's, or the student's for both student arms.

    A config without a family (an older run) means the default family, as validation reads it.
    """
    role = "teacher" if arm_base(arm) == "teacher" else "student"
    size = config.get(role)
    return (size.get("family") if isinstance(size, Mapping) else None) or DEFAULT_FAMILY


def measured_speeds(runs: Iterable[Any]) -> list[ArmSpeed]:
    """Every arm speed that finished runs (objects with ``config`` and ``summary`` dicts) recorded."""
    speeds = []
    for run in runs:
        arms = ((getattr(run, "summary", None) or {}).get("arms")) or {}
        for arm, result in arms.items():
            speed, params = (result or {}).get("samples_per_s"), (result or {}).get("params")
            if isinstance(speed, (int, float)) and speed > 0 and isinstance(params, int) and params > 0:
                speeds.append(ArmSpeed(arm_family(arm, run.config or {}), params, float(speed)))
    return speeds


def nearest_speed(family: str, params: int | None, speeds: Iterable[ArmSpeed]) -> float | None:
    """The measured samples/s of the same family's model nearest in size (within :data:`SIZE_FACTOR`), else None."""
    if not params:
        return None
    fits = [(abs(math.log(s.params / params)), s.samples_per_s) for s in speeds
            if s.family == family and 1 / SIZE_FACTOR <= s.params / params <= SIZE_FACTOR]
    return min(fits)[1] if fits else None


def training_reviews(config: Mapping[str, Any]) -> int:
    """Reviews an arm trains on per epoch: the training slice less the held-out validation split."""
    data = config.get("data") or {}
    reviews = data.get("train_limit") or IMDB_TRAIN_REVIEWS
    if data.get("validate_on", "val") == "val":
        reviews = reviews * (1 - float(data.get("val_fraction") or 0.0))
    return max(1, int(reviews))


def seconds_per_epoch_by_role(config: Mapping[str, Any], params: Mapping[str, int | None],
                              speeds: Iterable[ArmSpeed]) -> dict[str, float]:
    """Expected seconds per epoch of the teacher's arm and of a student's, before either has trained.

    For the Live page's time left while an arm has not started: the nearest earlier run's speed
    of the same family and size, else the rough figure per family.
    """
    speeds = list(speeds)
    reviews = training_reviews(config)
    out = {}
    for role in ("teacher", "student"):
        family = arm_family(role, config)
        speed = nearest_speed(family, params.get(role), speeds) or ROUGH_SAMPLES_PER_S.get(family, 150.0)
        out[role] = reviews / speed
    return out


def run_time_estimate(plan: Iterable[tuple[str, int]], config: Mapping[str, Any], params: Mapping[str, int | None],
                      speeds: Iterable[ArmSpeed]) -> TimeEstimate:
    """Seconds of training the planned arms ((arm, epochs), a reused teacher at 0) need: epochs x reviews / speed.

    ``params`` holds the planned teacher's and student's parameter counts by role (``teacher``,
    ``student``; the scratch arm is the student's twin). Evaluation and start-up are left out:
    the figure is for training, which is most of a run.
    """
    speeds = list(speeds)
    reviews = training_reviews(config)
    seconds, measured, planned = 0.0, 0, 0
    for arm, epochs in plan:
        if not epochs:
            continue
        base = arm_base(arm)
        family = arm_family(arm, config)
        speed = nearest_speed(family, params.get("teacher" if base == "teacher" else "student"), speeds)
        planned += 1
        measured += speed is not None
        seconds += epochs * reviews / (speed or ROUGH_SAMPLES_PER_S.get(family, 150.0))
    return TimeEstimate(seconds, measured, planned)
