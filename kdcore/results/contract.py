"""The typed contract of what a finished run reports: each arm's result and the run's summary.

The engine writes a run's summary as JSON (``summary.json`` in the run folder, and the store's
``summary`` column); the dashboard, the CLI and the benchmarks read it back. The meaning of
each field lives here, once: its unit, its base, and what ``None`` means. Accuracies and
gains are fractions (0.84 is 84 %, a gain of 0.02 is 2 points), never percent.

Why dataclasses with ``from_dict``/``to_dict`` instead of the dict itself: summaries stored by
older versions lack fields that were added later (``scratch_reused``, ``seeds.gain.ci95``,
...). :meth:`RunSummary.from_dict` reads any of them, filling what is missing with the
documented "unknown" value, so a reader checks one attribute instead of a chain of
``.get(..., {})``; :meth:`RunSummary.to_dict` writes the layout the engine always wrote,
so old runs and new ones share one file format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from kdcore.arms import arm_base, sorted_arms
from kdcore.results.classes import ClassScore, imbalanced
from kdcore.results.paired import accuracy_interval

if TYPE_CHECKING:  # deployment.py builds on this module's readers; read lazily in from_dict
    from kdcore.results.deployment import Deployment

#: Fields of :class:`ArmResult` that only a distilled student carries (its comparisons).
STUDENT_ONLY = ("gain_over_scratch", "teacher_share", "gain_low", "gain_high", "gain_p_value", "only_student_right",
                "only_scratch_right", "macro_f1_gain")
#: Fields of :class:`ArmResult` added for K classes: written only when known, so that a summary stored before
#: them reads back and writes out exactly as it was.
CLASS_FIELDS = ("macro_f1", "macro_f1_gain", "per_class", "confusion")
#: Fields written only when known (None is left out): the K-class ones, and ``pruned`` (a sweep's halving), so that
#: a summary stored before them reads back and writes out exactly as it was.
WHEN_KNOWN = (*CLASS_FIELDS, "pruned")
_Stats = TypeVar("_Stats", bound="SeedStats")
_Flat = TypeVar("_Flat", bound="_FlatRecord")


def _number(value: Any) -> float | None:
    """A stored number as a float; anything else (missing, null, text) as None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    """A stored whole number; anything else as None."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    """A stored object, or an empty one for anything else: a damaged field reads as an absent one."""
    return value if isinstance(value, Mapping) else {}


#: How a field declared with this type is read from JSON (the annotations are strings here).
_READERS: dict[str, Callable[[Any], Any]] = {"float | None": _number, "int | None": _count, "bool | None": _flag,
                                             "str | None": _text}


def _scalars(cls: type, data: Any) -> dict[str, Any]:
    """The optional number, flag and text fields of dataclass ``cls``, read from ``data`` by their declared type.

    One rule for every such field, so a field added to the contract is read without a second edit.
    """
    d = _mapping(data)
    return {f.name: _READERS[str(f.type)](d.get(f.name)) for f in fields(cls) if str(f.type) in _READERS}


class _FlatRecord:
    """A dataclass of optional numbers, flags and texts only, stored as one flat JSON object."""

    @classmethod
    def from_dict(cls: type[_Flat], data: Any) -> _Flat:
        """Read it as stored; missing or unreadable fields become None."""
        return cls(**_scalars(cls, data))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ArmResult(_FlatRecord):
    """What one trained (or reused) arm scored, measured once on the test set after training.

    Every field may be None: in a summary the engine wrote, None means what the field's
    comment says; in a summary written by hand or by an older version, also "not stored".
    """

    #: Share of the test reviews classified correctly, 0..1, with the kept weights.
    test_accuracy: float | None = None
    #: The Wilson 95 % interval of :attr:`test_accuracy` (what the test set's size allows one to say);
    #: None when the per-review answers were not kept (summaries stored before intervals existed).
    #: :meth:`RunSummary.accuracy_interval` then computes it from the accuracy and ``data.test``.
    test_accuracy_low: float | None = None
    test_accuracy_high: float | None = None
    #: Mean cross-entropy on the test labels.
    test_loss: float | None = None
    #: Trainable and non-trainable parameters of the arm's model.
    params: int | None = None
    #: Size in bytes of the arm's saved ``.keras`` file, the deployable model a user downloads (architecture and
    #: weights, no optimizer state since issue 17; older runs' student files held Adam's state too);
    #: None for the extra seeds (measured, not saved).
    file_bytes: int | None = None
    #: Seconds spent fitting, over every attempt; a reused arm keeps the seconds of the run that trained it.
    train_seconds: float | None = None
    #: Training reviews per second over the fit; None when nothing was timed (a teacher reused from a cache).
    samples_per_s: float | None = None
    #: **1-based** epoch whose weights were kept (best ``train.monitor``): 2 is the second epoch.
    #: None when no epoch was measured on the validation set.
    best_epoch: int | None = None
    #: Epochs actually run (fewer than planned when early stopping ended the arm).
    epochs_trained: int | None = None
    #: Whether early stopping ended the arm before its planned epochs.
    stopped_early: bool | None = None
    #: True when a sweep's successive halving stopped it (after ``epochs_trained`` epochs): its accuracy is
    #: that of a shorter training, shown as stopped on the frontier, never compared as a finished point.
    pruned: bool | None = None
    #: Validation accuracy (0..1) and loss at :attr:`best_epoch`.
    val_accuracy: float | None = None
    val_loss: float | None = None
    #: Training accuracy (0..1) of the last epoch: far above ``val_accuracy`` means the arm overfit.
    train_accuracy: float | None = None
    #: Students only: test accuracy minus its scratch twin's (same seed), a fraction; None without a twin.
    gain_over_scratch: float | None = None
    #: Students only: test accuracy divided by the teacher's (0.977: 97.7 % kept); None without a teacher.
    teacher_share: float | None = None
    #: Students only: the 95 % interval of :attr:`gain_over_scratch` from the test set itself (Newcombe's
    #: interval for paired proportions: both arms answered the same reviews); it holds with one seed.
    #: None without a twin, or when the per-review answers were not kept.
    gain_low: float | None = None
    gain_high: float | None = None
    #: Students only: exact McNemar p-value of the reviews where the student and its twin disagree.
    gain_p_value: float | None = None
    #: Students only: test reviews only the student got right, and only its scratch twin (the discordant pairs).
    only_student_right: int | None = None
    only_scratch_right: int | None = None
    #: Unweighted mean of the per-class F1 scores on the test set, 0..1: every class counts alike, so an arm
    #: that ignores a rare class scores low here however high its accuracy (:mod:`kdcore.results.classes`).
    #: None in summaries stored before it existed.
    macro_f1: float | None = None
    #: Students only: :attr:`macro_f1` minus its scratch twin's (same seed), a fraction; None without both.
    macro_f1_gain: float | None = None
    #: Precision, recall, F1 and support of each class, in the order of ``RunSummary.class_names``.
    per_class: tuple[ClassScore, ...] | None = None
    #: Test-set counts, rows the true class and columns the predicted one (class order as above); None above
    #: :data:`~kdcore.results.classes.MAX_CONFUSION_CLASSES` classes and in older summaries.
    confusion: tuple[tuple[int, ...], ...] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> ArmResult:
        """Read it as stored; missing or unreadable fields (a damaged class list, a ragged matrix) become None."""
        d = _mapping(data)
        return cls(**_scalars(cls, d), per_class=_per_class(d.get("per_class")),
                   confusion=_confusion(d.get("confusion")))

    def to_dict(self, *, student: bool = False) -> dict[str, Any]:
        """The stored layout: every field, the :data:`STUDENT_ONLY` ones only for a ``student``, and the
        :data:`WHEN_KNOWN` ones only when known."""
        stored = super().to_dict()
        stored["per_class"] = None if self.per_class is None else [c.to_dict() for c in self.per_class]
        stored["confusion"] = None if self.confusion is None else [list(row) for row in self.confusion]
        return {k: v for k, v in stored.items()
                if (student or k not in STUDENT_ONLY) and not (k in WHEN_KNOWN and v is None)}


@dataclass(frozen=True)
class SeedStats:
    """One figure over the seeds of a run (``train.seeds``): mean and spread of per-seed values."""

    #: Mean of :attr:`values`, a fraction; None when there are no values (no student was trained).
    mean: float | None = None
    #: Sample standard deviation (n - 1) of :attr:`values`; 0.0 for a single value.
    std: float = 0.0
    #: One value per seed, in the order of the arm names (``student``, ``student@1``, ...).
    values: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls: type[_Stats], data: Any) -> _Stats:
        """Read the statistics as stored (a subclass reads its own extra fields too)."""
        d = _mapping(data)
        return cls(**_scalars(cls, d), std=_number(d.get("std")) or 0.0, values=_values(d.get("values")))

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "values": list(self.values)}


@dataclass(frozen=True)
class GainStats(SeedStats):
    """The paired gain of distillation: per seed, the student's test accuracy minus its scratch twin's."""

    #: Half-width of the two-sided 95 % interval of the mean gain (Student's t over the pairs).
    #: None below two pairs, and in summaries stored before the interval existed.
    ci95: float | None = None
    #: True when the mean gain is a difference at all (a tenth of a point or more) and outside
    #: its 95 % interval; False when it is inside (it may be noise); None with one seed.
    exceeds_spread: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "ci95": self.ci95, "exceeds_spread": self.exceeds_spread}


@dataclass(frozen=True)
class SeedComparison:
    """Students against their scratch twins over every seed (``summary["seeds"]``)."""

    #: Test accuracies of the distilled students.
    student: SeedStats = field(default_factory=SeedStats)
    #: Test accuracies of the scratch twins that have a student; None when no scratch arm was trained.
    scratch: SeedStats | None = None
    #: The paired gain; None when no scratch arm was trained.
    gain: GainStats | None = None
    #: The same three for macro-F1 (:attr:`ArmResult.macro_f1`); None when an arm lacks it (older summaries),
    #: and the scratch ones without a scratch arm.
    student_macro_f1: SeedStats | None = None
    scratch_macro_f1: SeedStats | None = None
    macro_f1_gain: GainStats | None = None

    @classmethod
    def from_dict(cls, data: Any) -> SeedComparison:
        d = _mapping(data)

        def stats(key: str, kind: type[_Stats]) -> _Stats | None:
            return kind.from_dict(d[key]) if isinstance(d.get(key), Mapping) else None

        return cls(student=SeedStats.from_dict(d.get("student")), scratch=stats("scratch", SeedStats),
                   gain=stats("gain", GainStats), student_macro_f1=stats("student_macro_f1", SeedStats),
                   scratch_macro_f1=stats("scratch_macro_f1", SeedStats),
                   macro_f1_gain=stats("macro_f1_gain", GainStats))

    def to_dict(self) -> dict[str, Any]:
        """The stored layout: the optional statistics are absent (not null) when unknown."""
        out: dict[str, Any] = {"student": self.student.to_dict()}
        for key in ("scratch", "gain", "student_macro_f1", "scratch_macro_f1", "macro_f1_gain"):
            if (stats := getattr(self, key)) is not None:
                out[key] = stats.to_dict()
        return out


@dataclass(frozen=True)
class DataCounts(_FlatRecord):
    """How many reviews each split of the run held, and where they came from."""

    train: int | None = None
    val: int | None = None
    test: int | None = None
    #: What the validation set was cut from (``data.validate_on``).
    validate_on: str | None = None
    #: The dataset file the reviews were read from, in words.
    source: str | None = None


@dataclass(frozen=True)
class RunSummary:
    """Everything a finished run reports, as ``summary.json`` holds it."""

    #: What the arms trained on, in words ("CPU (2 cores)", "GPU: ...").
    device: str | None = None
    #: Wall-clock seconds of the call that trained the run; a finished run read back keeps its first time.
    total_seconds: float | None = None
    #: Whether the teacher came from the teacher cache or another run (neither trained nor resumed here).
    teacher_reused: bool = False
    #: Where the teacher came from: ``trained``, ``resumed``, ``cache <key>`` or ``run <id>``.
    teacher_source: str | None = None
    #: Hash of everything that determines the teacher (:meth:`kdcore.config.RunConfig.teacher_key`).
    teacher_key: str | None = None
    #: Scratch arms taken from an identical earlier run instead of trained (empty in older summaries).
    scratch_reused: tuple[str, ...] = ()
    #: The size of each split (all None in summaries that lack them).
    data: DataCounts = field(default_factory=DataCounts)
    #: The parameters ratio: how many times fewer parameters the student has than the teacher.
    compression: float | None = None
    #: The bytes ratio: teacher ``.keras`` over student ``.keras`` (both deployable, :attr:`ArmResult.file_bytes`);
    #: None when either file's size is missing, and in summaries stored before the downloads lost their
    #: optimizer state (a ratio of those files would compare a model with and one without it).
    bytes_ratio: float | None = None
    #: Arm name (:mod:`kdcore.arms`: ``teacher``, ``student``, ``scratch@1``, ...) -> its result.
    arms: Mapping[str, ArmResult] = field(default_factory=lambda: MappingProxyType({}))
    #: The comparison over seeds; an empty one (no values) in summaries that lack it.
    seeds: SeedComparison = field(default_factory=SeedComparison)
    #: One paragraph: did distillation pay here, and the likely reason if not ("" when not stored).
    verdict: str = ""
    #: The data's classes in label order (index 0 first), as the per-class figures and confusion matrices
    #: use them; empty in summaries stored before they existed (those were IMDB's negative, positive).
    class_names: tuple[str, ...] = ()
    #: The compression report (:mod:`kdcore.results.deployment`); None in summaries stored before it, and when
    #: ``report.enabled`` was off.
    deployment: Deployment | None = None

    @classmethod
    def from_dict(cls, data: Any) -> RunSummary:
        """Read a summary as stored by this version or an older one; None or junk reads as an empty summary."""
        from kdcore.results.deployment import Deployment

        d = _mapping(data)
        arms = {str(name): ArmResult.from_dict(arm) for name, arm in _mapping(d.get("arms")).items()}
        scratch_reused = d.get("scratch_reused")
        return cls(**_scalars(cls, d), teacher_reused=d.get("teacher_reused") is True,
                   scratch_reused=tuple(str(a) for a in scratch_reused) if isinstance(scratch_reused, list) else (),
                   data=DataCounts.from_dict(d.get("data")), arms=MappingProxyType(arms),
                   seeds=SeedComparison.from_dict(d.get("seeds")), verdict=_text(d.get("verdict")) or "",
                   class_names=_names(d.get("class_names")), deployment=Deployment.from_dict(d.get("deployment")))

    def to_dict(self) -> dict[str, Any]:
        """The layout the engine writes (JSON-ready: lists, not tuples)."""
        return {
            "device": self.device, "total_seconds": self.total_seconds, "teacher_reused": self.teacher_reused,
            "teacher_source": self.teacher_source, "teacher_key": self.teacher_key,
            "scratch_reused": list(self.scratch_reused), "data": self.data.to_dict(), "compression": self.compression,
            "bytes_ratio": self.bytes_ratio,
            "arms": {name: arm.to_dict(student=arm_base(name) == "student") for name, arm in self.arms.items()},
            "seeds": self.seeds.to_dict(), "verdict": self.verdict,
            **({"class_names": list(self.class_names)} if self.class_names else {}),
            **({"deployment": self.deployment.to_dict()} if self.deployment is not None else {}),
        }

    def classes(self) -> tuple[str, ...]:
        """The class names: as stored, else those of the arms' per-class figures, else IMDB's two."""
        if self.class_names:
            return self.class_names
        stored = next((arm.per_class for arm in self.arms.values() if arm.per_class), None)
        return tuple(c.name for c in stored) if stored else ("negative", "positive")

    def test_class_counts(self) -> tuple[int, ...] | None:
        """Test rows per class (the supports of the first arm that stored per-class figures); None if none did."""
        stored = next((self.arm(name).per_class for name in self.arm_names() if self.arm(name).per_class), None)
        return tuple(c.support for c in stored) if stored else None

    @property
    def imbalanced(self) -> bool:
        """Whether the test set's classes are imbalanced (:func:`kdcore.results.classes.imbalanced`)."""
        counts = self.test_class_counts()
        return counts is not None and imbalanced(counts)

    def arm(self, name: str) -> ArmResult:
        """The named arm's result; an arm the run did not produce reads as all-None (shown as "–")."""
        return self.arms.get(name) or ArmResult()

    def arm_names(self) -> list[str]:
        """The run's arms in display order: teacher, student, scratch, then the extra seeds."""
        return sorted_arms(self.arms)

    def accuracy_interval(self, name: str) -> tuple[float, float] | None:
        """The arm's 95 % test-accuracy interval: as stored, else Wilson's from the accuracy and ``data.test``."""
        arm = self.arm(name)
        if arm.test_accuracy_low is not None and arm.test_accuracy_high is not None:
            return arm.test_accuracy_low, arm.test_accuracy_high
        return accuracy_interval(arm.test_accuracy, self.data.test)

    def share_of_teacher(self, name: str) -> float | None:
        """The arm's test accuracy as a share of the teacher's (None for the teacher itself).

        A student stores its share; for the scratch arms, and students of summaries stored
        before the share was, it is computed from the two accuracies.
        """
        if name == "teacher":
            return None
        arm, teacher = self.arm(name), self.arm("teacher").test_accuracy
        if arm.teacher_share is not None:
            return arm.teacher_share
        return arm.test_accuracy / teacher if teacher and arm.test_accuracy is not None else None


def _values(value: Any) -> tuple[float, ...]:
    """A stored list of per-seed numbers (non-numbers dropped)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(float(v) for v in value if isinstance(v, int | float) and not isinstance(v, bool))


def _names(value: Any) -> tuple[str, ...]:
    """Stored class names (a list of texts); anything else reads as none stored."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return ()
    return tuple(value)


def _per_class(value: Any) -> tuple[ClassScore, ...] | None:
    """Stored per-class figures; None when absent or when any entry is unreadable (half a table would mislead)."""
    if not isinstance(value, list | tuple) or not value:
        return None
    scores = tuple(ClassScore.from_dict(v) for v in value)
    return None if any(s is None for s in scores) else scores  # type: ignore[return-value]


def _confusion(value: Any) -> tuple[tuple[int, ...], ...] | None:
    """A stored square matrix of whole counts; None for anything else."""
    if not isinstance(value, list | tuple) or not value:
        return None
    rows = [v for v in value if isinstance(v, list | tuple) and len(v) == len(value)]
    if len(rows) != len(value) or not all(_count(c) is not None for row in rows for c in row):
        return None
    return tuple(tuple(int(c) for c in row) for row in rows)
