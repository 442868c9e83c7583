"""A sweep: one base config and lists of values for some of its fields, expanded into the runs it makes.

Why a spec of its own instead of a loop over ``--set``: the runs of a sweep are planned,
validated and counted before any of them is queued (a typo in the fifth value of a grid must
not leave four runs behind it in the queue), and they share what they can by construction:
every point that changes neither the teacher nor the data has the same teacher key, so the
queue trains that teacher once (:meth:`kdcore.store.RunStore.claim_next`), and every point that
changes only alpha or T has the same scratch key, so its scratch twin is trained once too.

A grid key is a dotted field, as ``--set`` takes it (``distill.alpha``), or a model role taking
preset names (``student`` with ``notebook-student, tiny``). Values are YAML scalars.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from kdcore.config.base import ConfigError, StrictModel
from kdcore.config.loading import config_from_dict
from kdcore.config.overrides import TEXT_FIELDS, apply_overrides, parse_value
from kdcore.config.schema import RunConfig
from kdcore.results.sweep_results import short_key

#: The most runs one sweep may queue: past it, the user is asked for a random sample or fewer values.
MAX_SWEEP_RUNS = 200
#: Grid keys whose runs must all train every epoch: a frontier over sizes compares sizes, not how fast each learns.
SIZE_KEYS = ("student",)


class HalvingConfig(StrictModel):
    """Successive halving (asynchronous, as Optuna's SuccessiveHalvingPruner and ASHA do it).

    Rungs are at ``min_epochs * eta**k`` finished epochs of the distilled student, below
    ``train.epochs``. At a rung, a run goes on only if its validation accuracy is in the top
    ``1/eta`` of the sweep's runs that reached that rung so far (itself included); otherwise it
    stops there, keeps its best epoch, is tested, and is shown as stopped. Asynchronous, so no
    run waits for another and any number of workers keep busy.
    """

    enabled: bool = Field(False, description="Stop hopeless points early (successive halving).")
    eta: int = Field(2, ge=2, le=8, description="At each rung the best 1/eta of the points go on.")
    min_epochs: int = Field(1, ge=1, le=100, description="Epochs every point trains before the first rung.")

    def promotes(self, value: float, others: list[float]) -> bool:
        """Whether ``value`` (higher is better) is in the top ``1/eta`` of itself and ``others``, as Optuna rules.

        With fewer than ``eta`` runs at the rung only the best goes on, so the first run to get
        there always does: asynchronous halving never waits to see the others.
        """
        ranked = sorted([value, *others], reverse=True)
        cut = max(len(ranked) // self.eta - 1, 0)
        return value >= ranked[cut]

    def rungs(self, epochs: int) -> list[int]:
        """Finished-epoch counts at which a decision is made (each below ``epochs``)."""
        out, rung = [], self.min_epochs
        while rung < epochs:
            out.append(rung)
            rung *= self.eta
        return out


class SweepSpec(StrictModel):
    """What the user asks for: a base config, the grid over it, and how much of the grid to run."""

    name: str = Field("", max_length=200, description="Label of the sweep; each run's name adds its point.")
    base: dict[str, Any] = Field(default_factory=dict, description="The config every point starts from.")
    grid: dict[str, list[Any]] = Field(description="Field -> the values it takes (a dotted field or a model role).")
    sample: int | None = Field(None, ge=1, le=MAX_SWEEP_RUNS,
                               description="Run a random sample of this many grid points (empty: every point).")
    seed: int = Field(0, ge=0, description="Seeds the random sample.")
    halving: HalvingConfig = HalvingConfig()

    @field_validator("grid")
    @classmethod
    def _grid_has_values(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not grid:
            raise ValueError("give at least one field and its values, e.g. distill.alpha: [0.1, 0.5]")
        problems = [f"grid.{key}: give at least one value" for key, values in grid.items() if not values]
        problems += [f"grid.{key}: {values[i]!r} is given twice" for key, values in grid.items()
                     for i in range(len(values)) if values[i] in values[:i]]
        if problems:
            raise ValueError("; ".join(problems))
        return grid

    @model_validator(mode="after")
    def _size_fits(self) -> SweepSpec:
        points = self.grid_size
        if self.sample is None and points > MAX_SWEEP_RUNS:
            counts = " x ".join(str(len(v)) for v in self.grid.values())
            product = f"{counts} = " if len(self.grid) > 1 else ""
            raise ValueError(f"grid: {product}{points} runs, more than the limit of {MAX_SWEEP_RUNS}; remove "
                             f"values, or set sample to run a random sample of at most {MAX_SWEEP_RUNS} points")
        if self.sample is not None and self.sample > points:
            raise ValueError(f"sample: {self.sample} is more than the grid's {points} points; lower it or leave "
                             "it empty to run every point")
        if self.halving.enabled and any(key.split(".")[0] in SIZE_KEYS for key in self.grid):
            raise ValueError("halving: a sweep over student sizes trains every size to the end (the frontier "
                             "compares sizes, and a small model learns slower at first); turn halving off or "
                             "sweep settings such as distill.alpha and distill.temperature")
        return self

    @property
    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid.values())


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: the grid values that make it, and its validated config."""

    point: dict[str, Any]
    config: RunConfig

    @property
    def label(self) -> str:
        """``alpha=0.1 temperature=2``, or ``student={embedding_dim:1,lstm_units:2}`` for a size given whole."""
        return " ".join(f"{short_key(key)}={value_text(value)}" for key, value in self.point.items())


def value_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{v}" for k, v in value.items()) + "}"
    return str(value)


def parse_spec(raw: Any) -> SweepSpec:
    """A SweepSpec from a dict (YAML, JSON, a form), or a ConfigError naming each bad field."""
    if isinstance(raw, SweepSpec):
        return raw
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            named = not where or message.startswith((f"{where}.", f"{where}:"))
            problems.append(message if named else f"{where}: {message}")
        raise ConfigError(problems) from e


def grid_from_items(items: list[str]) -> dict[str, list[Any]]:
    """``["distill.alpha=0.1,0.5", "student=tiny,notebook-student"]`` (the CLI's ``--grid``) -> the grid."""
    grid: dict[str, list[Any]] = {}
    problems = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"--grid {item!r}: expected field=value1,value2, e.g. distill.alpha=0.1,0.5")
            continue
        if key in grid:
            problems.append(f"--grid {key}: given twice; list every value once, comma-separated")
            continue
        parts = [part.strip() for part in text.split(",") if part.strip()]
        grid[key] = [part if key in TEXT_FIELDS else parse_value(part) for part in parts]
    if problems:
        raise ConfigError(problems)
    return grid


def expand(spec: SweepSpec | dict[str, Any]) -> list[SweepPoint]:
    """Every run the sweep makes, validated, in grid order (or the seeded sample's); ConfigError names the field.

    Each key is checked once against the base (an unknown field or a bad value is named as
    ``grid.<key>``), then each point's whole config is validated: two values may each be fine and
    together not (a teacher view and an augmentation, say).
    """
    spec = parse_spec(spec)
    try:
        base = config_from_dict(dict(spec.base))
    except ConfigError as e:
        raise ConfigError([f"base.{p}" for p in e.problems]) from e
    problems = []
    for key, values in spec.grid.items():
        for value in values:
            try:
                apply_overrides(base, [f"{key}={_as_text(value)}"])
            except ConfigError as e:
                problems += [f"grid.{key}={value}: {p}" for p in e.problems]
                break
    if problems:
        raise ConfigError(problems)
    combos = list(itertools.product(*spec.grid.values()))
    if spec.sample is not None:
        combos = [combos[i] for i in sorted(random.Random(spec.seed).sample(range(len(combos)), spec.sample))]
    points = []
    for combo in combos:
        point = dict(zip(spec.grid, combo))
        try:
            config = apply_overrides(base, [f"{key}={_as_text(value)}" for key, value in point.items()])
        except ConfigError as e:
            raise ConfigError([f"grid point {point}: {p}" for p in e.problems]) from e
        label = SweepPoint(point, config).label
        named = config.model_copy(update={"name": f"{spec.name or base.name or 'sweep'} · {label}"[:200]})
        points.append(SweepPoint(point, named))
    _check_halving(spec, points)
    return points


def trained_teacher_key(config: RunConfig) -> str | None:
    """The key under which a run's teacher is trained and cached, None when the run trains none here."""
    if config.teacher_source.kind != "trained" or config.teacher_from:
        return None
    return config.teacher_key()


def trained_counts(points: list[SweepPoint]) -> tuple[int, int, int]:
    """(teachers, distilled students, scratch students) the points train, a shared teacher or twin counted once."""
    teachers = {key for p in points if (key := trained_teacher_key(p.config)) is not None}
    scratch = {p.config.scratch_key(i) for p in points if p.config.train.train_scratch
               for i in range(p.config.train.seeds)}
    return len(teachers), sum(p.config.train.seeds for p in points), len(scratch)


def _check_halving(spec: SweepSpec, points: list[SweepPoint]) -> None:
    if not spec.halving.enabled:
        return
    short = [p for p in points if not spec.halving.rungs(p.config.train.epochs)]
    if short:
        epochs = short[0].config.train.epochs
        raise ConfigError([f"halving: train.epochs is {epochs}, so no run reaches a rung (the first is after "
                           f"{spec.halving.min_epochs} epoch(s) and must come before the last); raise "
                           "train.epochs or lower halving.min_epochs"])


def _as_text(value: Any) -> str:
    """A grid value as ``--set`` reads it back (YAML): ``True`` -> ``true``, ``None`` -> ``null``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
