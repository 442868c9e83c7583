"""A sweep's results: one row per run, the size/accuracy frontier and the alpha x T heatmap.

Why a module of its own (and below the UI): the Sweeps page, the CLI and a notebook all ask
the same questions of a sweep (which points are Pareto-optimal, what a heatmap cell holds),
and the answers must not depend on who draws them. Pure Python on run records (anything with
``id``, ``name``, ``status``, ``point``, ``config`` and ``summary``): no pandas, no Streamlit,
no TensorFlow. Accuracies and gains are fractions, as in :mod:`kdcore.results.contract`.

A row reads the first seed's arms (``student``, ``scratch``): a sweep that wants several seeds
puts ``train.seed`` in its grid, and the heatmap averages over it. The answer in words is
in :mod:`kdcore.results.sweep_answer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kdcore.results.contract import RunSummary

#: The family of a model whose config names none (configs from before families existed); the
#: config layer's ``DEFAULT_FAMILY``, repeated here because results sit below the config.
DEFAULT_FAMILY = "recurrent"
#: The two student series of the frontier, as the arms are named.
SERIES = ("student", "scratch")
FrontierX = Literal["params", "latency"]


@dataclass(frozen=True)
class SweepRow:
    """One run of a sweep, flat: what the table shows and the frontier, heatmap and answer read."""

    run_id: str
    name: str
    status: str
    #: The grid values that make this run (``{"distill.alpha": 0.1, "student": "tiny"}``).
    point: Mapping[str, Any] = field(default_factory=dict)
    student_family: str = DEFAULT_FAMILY
    teacher_family: str = DEFAULT_FAMILY
    student_params: int | None = None
    teacher_params: int | None = None
    teacher_accuracy: float | None = None
    student_accuracy: float | None = None
    scratch_accuracy: float | None = None
    #: Student minus scratch test accuracy and its paired 95 % interval (fractions).
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    #: Epochs the distilled student trained (fewer when successive halving or early stopping ended it).
    epochs_trained: int | None = None
    #: Whether successive halving stopped the distilled student (and the scratch student, separately).
    pruned: bool = False
    scratch_pruned: bool = False
    #: Batch-1 median latency in milliseconds from the compression report; None when not measured.
    student_latency_ms: float | None = None
    scratch_latency_ms: float | None = None
    teacher_latency_ms: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def accuracy(self, series: str) -> float | None:
        return self.student_accuracy if series == "student" else self.scratch_accuracy

    def latency(self, series: str) -> float | None:
        return self.student_latency_ms if series == "student" else self.scratch_latency_ms

    def stopped(self, series: str) -> bool:
        return self.pruned if series == "student" else self.scratch_pruned

    def teacher_choice(self) -> str:
        """The teacher part of the point (``teacher=tiny-ngram``, ``family=ngram``), "" when the grid has none."""
        return " ".join(f"{short_key(k)}={v}" for k, v in self.point.items() if _is_teacher_key(k))


def short_key(key: str) -> str:
    """``distill.temperature`` -> ``temperature``: the column name a table and a run's name use."""
    return key.rsplit(".", 1)[-1] if "." in key else key


def _is_teacher_key(key: str) -> bool:
    return key == "teacher" or key.startswith("teacher.")


def _family(size: Any) -> str:
    return (size.get("family") if isinstance(size, Mapping) else None) or DEFAULT_FAMILY


def _latency(summary: Mapping[str, Any], arm: str) -> float | None:
    """``summary["deployment"]["latency"][arm]["batch1_median_ms"]``; None while the report is missing."""
    deployment = summary.get("deployment")
    latency = deployment.get("latency") if isinstance(deployment, Mapping) else None
    entry = latency.get(arm) if isinstance(latency, Mapping) else None
    value = entry.get("batch1_median_ms") if isinstance(entry, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


def sweep_row(run: Any) -> SweepRow:
    """One run record (a :class:`~kdcore.store.RunRecord` or alike) as a :class:`SweepRow`."""
    raw = run.summary if isinstance(getattr(run, "summary", None), Mapping) else {}
    config = run.config if isinstance(getattr(run, "config", None), Mapping) else {}
    summary = RunSummary.from_dict(raw)
    teacher, student, scratch = (summary.arm(a) for a in ("teacher", "student", "scratch"))
    return SweepRow(
        run_id=run.id, name=run.name or "", status=run.status, point=dict(getattr(run, "point", None) or {}),
        student_family=_family(config.get("student")), teacher_family=_family(config.get("teacher")),
        student_params=student.params if student.params is not None else scratch.params,
        teacher_params=teacher.params, teacher_accuracy=teacher.test_accuracy,
        student_accuracy=student.test_accuracy, scratch_accuracy=scratch.test_accuracy,
        gain=student.gain_over_scratch, gain_low=student.gain_low, gain_high=student.gain_high,
        epochs_trained=student.epochs_trained, pruned=bool(student.pruned), scratch_pruned=bool(scratch.pruned),
        student_latency_ms=_latency(raw, "student"), scratch_latency_ms=_latency(raw, "scratch"),
        teacher_latency_ms=_latency(raw, "teacher"))


def sweep_rows(runs: Iterable[Any]) -> list[SweepRow]:
    """One :class:`SweepRow` per run, in the order given (the store's: grid order)."""
    return [sweep_row(run) for run in runs]


def varying_keys(rows: Sequence[SweepRow]) -> list[str]:
    """Grid keys whose value differs between rows, in grid order: the axes worth a column or a heatmap."""
    keys = list(dict.fromkeys(k for row in rows for k in row.point))
    return [k for k in keys if len({repr(row.point.get(k)) for row in rows}) > 1]


# -- the frontier ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontierPoint:
    """One student on the frontier: its size (or latency), its accuracy, and whether nothing beats it."""

    run_id: str
    label: str
    series: str  #: ``student`` (distilled) or ``scratch``
    family: str
    x: float
    accuracy: float
    #: No other finished point of the series is at least as small and at least as accurate (one strictly).
    pareto: bool
    #: Successive halving stopped it: an accuracy after fewer epochs, drawn as such, never a Pareto point.
    pruned: bool


@dataclass(frozen=True)
class Frontier:
    x: str
    points: tuple[FrontierPoint, ...]
    #: The best teacher's test accuracy among the finished runs (the horizontal line); None when none finished.
    teacher_accuracy: float | None

    def series(self, name: str) -> list[FrontierPoint]:
        return [p for p in self.points if p.series == name]


def _x(row: SweepRow, series: str, x: FrontierX) -> float | None:
    value = row.student_params if x == "params" else row.latency(series)
    return float(value) if value else None


def pareto_flags(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (x, accuracy): whether no other point has x <= and accuracy >= with one of them strictly better."""
    return [not any(ox <= x and oa >= a and (ox < x or oa > a) for ox, oa in points) for x, a in points]


def frontier(rows: Sequence[SweepRow], x: FrontierX = "params") -> Frontier:
    """The distilled and scratch students of the finished runs against ``x`` (parameters or batch-1 latency, ms).

    A run that has not succeeded has no point; a pruned point is drawn but never Pareto, and it
    does not push a finished point off the frontier either (its accuracy is of a shorter training).
    """
    points: list[FrontierPoint] = []
    for series in SERIES:
        drawn = [(row, _x(row, series, x), row.accuracy(series)) for row in rows if row.succeeded]
        drawn = [(row, px, acc) for row, px, acc in drawn if px is not None and acc is not None]
        complete = [(px, acc) for row, px, acc in drawn if not row.stopped(series)]
        flags = iter(pareto_flags(complete))
        for row, px, acc in drawn:
            pruned = row.stopped(series)
            points.append(FrontierPoint(row.run_id, row.name, series, row.student_family, px, acc,
                                        pareto=False if pruned else next(flags), pruned=pruned))
    teachers = [row.teacher_accuracy for row in rows if row.succeeded and row.teacher_accuracy is not None]
    return Frontier(x, tuple(points), max(teachers) if teachers else None)


# -- the heatmap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Heatmap:
    """Mean ``value`` of the finished runs per (y, x) cell: rows follow ``y_values``, columns ``x_values``."""

    x: str
    y: str
    value: str
    x_values: tuple[Any, ...]
    y_values: tuple[Any, ...]
    #: ``cells[i][j]``: the mean at ``y_values[i]``, ``x_values[j]`` over the other axes; None where nothing finished.
    cells: tuple[tuple[float | None, ...], ...]
    #: How many finished runs each cell averages, and how many of its runs halving stopped (left out of the mean).
    counts: tuple[tuple[int, ...], ...]
    pruned: tuple[tuple[int, ...], ...]


def _axis(rows: Sequence[SweepRow], key: str) -> tuple[Any, ...]:
    values = list(dict.fromkeys(row.point.get(key) for row in rows if key in row.point))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        values.sort()
    return tuple(values)


def heatmap(rows: Sequence[SweepRow], x: str = "distill.temperature", y: str = "distill.alpha",
            value: Literal["student", "gain"] = "student") -> Heatmap:
    """The mean student accuracy (or gain over scratch) per (``y``, ``x``) pair of grid values.

    Averaged over every other axis (seeds, sizes); a cell counts succeeded runs that halving did
    not stop, so a cell of stopped runs only is None and says how many it stopped.
    """
    xs, ys = _axis(rows, x), _axis(rows, y)
    cells, counts, pruned = [], [], []
    for y_value in ys:
        cell_row, count_row, pruned_row = [], [], []
        for x_value in xs:
            here = [r for r in rows if r.point.get(x) == x_value and r.point.get(y) == y_value and r.succeeded]
            values = [r.student_accuracy if value == "student" else r.gain for r in here if not r.pruned]
            values = [v for v in values if v is not None]
            cell_row.append(sum(values) / len(values) if values else None)
            count_row.append(len(values))
            pruned_row.append(sum(r.pruned for r in here))
        cells.append(tuple(cell_row))
        counts.append(tuple(count_row))
        pruned.append(tuple(pruned_row))
    return Heatmap(x, y, value, xs, ys, tuple(cells), tuple(counts), tuple(pruned))
