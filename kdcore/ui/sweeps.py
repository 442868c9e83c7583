"""What the Sweeps page computes before Launch: the base config, the grid from its rows, the plan and its cost.

Why a plan before Launch: a sweep is many runs, and the user should see how many, how many
teachers and scratch students they really train (the queue trains a shared teacher once and a
shared scratch twin once, :meth:`kdcore.config.RunConfig.teacher_key` / ``scratch_key``) and
about how long that takes, before anything is queued. No Streamlit, no TensorFlow: the page
asks, this computes; every bad input comes back as sentences naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kdcore.config import ConfigError, RunConfig, stored_config
from kdcore.config.sweep import (
    MAX_SWEEP_RUNS,
    SweepPoint,
    expand,
    grid_from_items,
    parse_spec,
    trained_teacher_key,
)
from kdcore.ui.compare import LABEL_FIELDS, changed_fields
from kdcore.ui.estimate import ArmSpeed, TimeEstimate, run_time_estimate
from kdcore.ui.progress import planned_arms

#: Grid fields the page offers by name (any other dotted field can be typed), each with an example.
COMMON_FIELDS: dict[str, str] = {
    "distill.alpha": "0.1, 0.5, 0.9",
    "distill.temperature": "2, 5, 10",
    "student": "tiny, small-student, notebook-student",
    "student.lstm_units": "8, 16, 32",
    "student.gru_units": "8, 16, 32",
    "student.embedding_dim": "16, 32, 64",
    "train.seed": "0, 1, 2",
    "teacher": "notebook-teacher, ngram",
    "teacher.family": "recurrent, ngram, conv",
    "train.epochs": "2, 4",
}
#: The choice of a grid row that lets the user type any dotted field.
OTHER_FIELD = "other"
#: Whole sections kept together in the base: a model's sizes are validated as one (a lone width is no model).
WHOLE_SECTIONS = ("teacher", "student", "teacher_source")
#: What the base's text area says when it holds nothing: the defaults of a new run.
EMPTY_BASE = "# The New-run defaults. Add fields to change them, e.g.\n# data:\n#   train_limit: 2000\n"


def base_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a run's config that differ from a new run's defaults, nested, whole model sections kept.

    What the base's text area is prefilled with when the user starts from an earlier run: short
    enough to read, and it validates back to that run's config (a changed width brings its
    whole model, since sizes are validated together).
    """
    full = stored_config(dict(config)).model_dump(mode="json")
    out: dict[str, Any] = {}
    for path in changed_fields(full):
        if path in LABEL_FIELDS:
            continue
        section, _, rest = path.partition(".")
        if section in WHOLE_SECTIONS or not rest:
            out[section] = full[section]
            continue
        node = out.setdefault(section, {})
        *parents, leaf = rest.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = _dig(full, path)
    return out


def _dig(tree: Mapping[str, Any], path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


def base_text(config: Mapping[str, Any] | None) -> str:
    """The base's text area for an earlier run's config (None: the defaults)."""
    fields = base_fields(config) if config else {}
    return yaml.safe_dump(fields, sort_keys=False) if fields else EMPTY_BASE


def parse_base(text: str) -> tuple[dict[str, Any], list[str]]:
    """The base config's fields from the text area (YAML), or the problems with it (named ``base``)."""
    try:
        raw = yaml.safe_load(text or "")
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        return {}, [f"base: not valid YAML{line}: {getattr(e, 'problem', None) or e}"]
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [f"base: expected fields such as `distill:` with values under them, got a {type(raw).__name__}"]
    return raw, []


def grid_from_rows(rows: Iterable[tuple[str, str]]) -> tuple[dict[str, list[Any]], list[str]]:
    """The grid from the page's rows of (field, comma-separated values); rows without a field are skipped."""
    items, problems = [], []
    for field, values in rows:
        field = (field or "").strip()
        if not field:
            continue
        if not (values or "").strip():
            problems.append(f"grid.{field}: give at least one value, comma-separated (e.g. "
                            f"{COMMON_FIELDS.get(field, '1, 2')})")
            continue
        items.append(f"{field}={values}")
    try:
        return grid_from_items(items), problems
    except ConfigError as e:
        return {}, problems + list(e.problems)


@dataclass(frozen=True)
class SweepPlan:
    """What a valid sweep will do: its points, what they train, and about how long that takes."""

    spec: dict[str, Any]
    points: tuple[SweepPoint, ...]
    teachers: int  #: distinct teachers trained here (a shared one counts once; a reused or given one not at all)
    scratch: int  #: distinct scratch students (shared twins count once)
    estimate: TimeEstimate

    @property
    def runs(self) -> int:
        return len(self.points)

    def summary_text(self) -> str:
        """``6 runs: 1 teacher, 2 scratch students and 6 distilled students are trained``."""
        students = sum(p.config.train.seeds for p in self.points)
        return (f"{self.runs} run{'s' * (self.runs != 1)}: {_count(self.teachers, 'teacher')}, "
                f"{_count(self.scratch, 'scratch student')} and {_count(students, 'distilled student')} are trained")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def sweep_spec(name: str, base: Mapping[str, Any], grid: Mapping[str, list[Any]], *, sample: int | None = None,
               seed: int = 0, halving: bool = False, eta: int = 2, min_epochs: int = 1) -> dict[str, Any]:
    """The spec dict the store keeps (:class:`kdcore.config.sweep.SweepSpec`'s fields), from the page's widgets."""
    return {"name": name.strip(), "base": dict(base), "grid": dict(grid), "sample": sample or None, "seed": seed,
            "halving": {"enabled": halving, "eta": eta, "min_epochs": min_epochs}}


def plan_sweep(spec: Mapping[str, Any], speeds: Sequence[ArmSpeed],
               train_rows: Mapping[str, int] | None = None) -> SweepPlan:
    """Expand and validate ``spec``, count what it trains and estimate its time; ConfigError names each bad field.

    ``train_rows`` (registered dataset id -> its training rows) stands in for IMDB's 25,000 in the
    estimate of a point on a registered dataset that sets no ``data.train_limit``.
    """
    parsed = parse_spec(dict(spec))
    points = tuple(expand(parsed))
    teachers: set[str] = set()
    scratch: set[str] = set()
    seconds, measured, planned = 0.0, 0, 0
    for point in points:
        estimate = point_estimate(point.config, teachers, scratch, speeds, train_rows or {})
        seconds, measured, planned = (seconds + estimate.seconds, measured + estimate.measured_arms,
                                      planned + estimate.planned_arms)
    return SweepPlan(parsed.model_dump(mode="json"), points, len(teachers), len(scratch),
                     TimeEstimate(seconds, measured, planned))


def point_estimate(config: RunConfig, teachers: set[str], scratch: set[str], speeds: Sequence[ArmSpeed],
                   train_rows: Mapping[str, int]) -> TimeEstimate:
    """One point's training time, leaving out a teacher or scratch twin an earlier point already trains.

    ``teachers`` and ``scratch`` hold the keys seen so far and gain this point's.
    """
    plan = []
    for arm, epochs in planned_arms(config.model_dump()):
        if arm == "teacher":
            key = trained_teacher_key(config)
            if key is None or key in teachers:
                continue
            teachers.add(key)
        elif arm.startswith("scratch"):
            key = config.scratch_key(int(arm.partition("@")[2] or 0))
            if key in scratch:
                continue
            scratch.add(key)
        plan.append((arm, epochs))
    params = {"teacher": config.teacher_params(), "student": config.student_params()}
    raw = config.model_dump()
    rows = train_rows.get(config.data.dataset)
    if rows and not config.data.train_limit:
        raw["data"]["train_limit"] = rows
    return run_time_estimate(plan, raw, params, speeds)


def plan_or_problems(spec: Mapping[str, Any], speeds: Sequence[ArmSpeed],
                     train_rows: Mapping[str, int] | None = None) -> tuple[SweepPlan | None, list[str]]:
    """:func:`plan_sweep`, with its refusal as the list of problems the page shows (never a traceback)."""
    try:
        return plan_sweep(spec, speeds, train_rows), []
    except ConfigError as e:
        return None, list(e.problems)


def limit_note() -> str:
    return (f"A sweep queues at most {MAX_SWEEP_RUNS} runs; above that, run a random sample of the grid "
            "(Sample) or give fewer values.")
