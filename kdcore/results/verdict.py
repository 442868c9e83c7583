"""The verdict in words: did distillation pay here, how sure is that, and what to try next.

Every sentence comes from the run's own facts, so the verdict cannot overclaim: a difference
is called a gain only when the test set's paired interval (and, with several seeds, the seed
interval) leaves out zero; a model at or below chance or the majority-class rate is called
so; a validation accuracy that never moved is named; the advice names families the run did
not use (the engine passes the registry's names: this layer sits below ``kdcore.config``)
and says when the teacher is weaker than the scratch student itself. With K classes chance
is 1/K; when the test set's classes are imbalanced (:func:`kdcore.results.classes.imbalanced`:
the smallest class under half the largest), the verdict names macro-F1 beside accuracy, with the
distilled-vs-scratch macro-F1 gap, and says so when the two figures disagree on which is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from kdcore.arms import arm_label
from kdcore.results.classes import ClassScore, imbalanced
from kdcore.results.contract import ArmResult, SeedComparison

#: Accuracy differences below this (a tenth of a point) are reported as "no difference".
NO_DIFFERENCE = 0.001
#: A validation accuracy whose epochs differ by less than this (a twentieth of a point) "never moved".
STILL = 0.0005
#: Where a binary classifier with no skill lands (1/K with K classes): the majority-class rate if higher.
CHANCE = 0.5
#: A teacher this far (half a point) below the scratch student is called weaker than it.
WEAKER = 0.005
_ROLES = ("teacher", "student", "scratch")


@dataclass(frozen=True)
class RunEvidence:
    """What the verdict judges by beyond each arm's stored figures; the engine gathers it at the end of a run.

    Every field may be empty: the verdict then says less (a summary rebuilt from stored figures).
    """

    #: Arm name -> whether it got each test review right, in the test set's order.
    test_correct: Mapping[str, Sequence[bool]] = field(default_factory=lambda: MappingProxyType({}))
    #: Share of the test reviews in their most common class (always answering it scores this).
    majority_share: float | None = None
    #: Arm name -> validation accuracy of each epoch.
    val_accuracies: Mapping[str, Sequence[float]] = field(default_factory=lambda: MappingProxyType({}))
    #: The family of the run's teacher, and every family the registry offers.
    teacher_family: str | None = None
    families: tuple[str, ...] = ()
    #: The data's classes in label order; empty when not known (then the arms' per-class figures, else two).
    class_names: tuple[str, ...] = ()


def describe(arms: Mapping[str, ArmResult], seeds: SeedComparison, evidence: RunEvidence | None = None) -> str:
    """One paragraph: the headline, how sure it is, and the facts that qualify it."""
    evidence = evidence or RunEvidence()
    stored = _per_class(arms)
    if not evidence.class_names and stored:
        evidence = replace(evidence, class_names=tuple(c.name for c in stored))
    teacher = arms.get("teacher") or ArmResult()
    headline = _headline(arms, teacher, seeds, evidence)
    parts = (headline, *_macro_f1(arms, seeds, stored), *_caveats(arms, seeds, evidence))
    return " ".join(part for part in parts if part)


def _per_class(arms: Mapping[str, ArmResult]) -> tuple[ClassScore, ...] | None:
    """The per-class figures of the first arm (teacher, student, scratch, then any) that stored them."""
    ordered = [*(arms[r] for r in _ROLES if r in arms), *arms.values()]
    return next((arm.per_class for arm in ordered if arm.per_class), None)


def _macro_f1(arms: Mapping[str, ArmResult], seeds: SeedComparison, stored: tuple[ClassScore, ...] | None) -> list[str]:
    """On imbalanced classes, macro-F1 beside accuracy: each arm's, and the distilled-vs-scratch gap."""
    if stored is None or not imbalanced([c.support for c in stored]):
        return []
    small, large = min(stored, key=lambda c: c.support), max(stored, key=lambda c: c.support)
    out = (f"The classes are imbalanced on the test set (the smallest, {small.name!r}, has {small.support:,} rows; "
           f"the largest, {large.name!r}, {large.support:,}), so accuracy favours the common classes; macro-F1 "
           "counts each class alike.")
    teacher = (arms.get("teacher") or ArmResult()).macro_f1
    of_teacher = f", {teacher:.1%} for the teacher" if teacher is not None else ""
    student, scratch, gain = seeds.student_macro_f1, seeds.scratch_macro_f1, seeds.macro_f1_gain
    if student is None or student.mean is None:
        return [out + (f" Macro-F1 of the teacher: {teacher:.1%}." if teacher is not None else "")]
    if scratch is None or scratch.mean is None or gain is None or gain.mean is None:
        return [out + f" Macro-F1: {student.mean:.1%} for the distilled student{of_teacher}."]
    n = len(gain.values)
    over = f" over {n} seeds" if n > 1 else ""
    spread = ("" if gain.ci95 is None or gain.exceeds_spread is None else
              f"; 95% interval ±{gain.ci95 * 100:.2f} points, "
              f"{'larger than' if gain.exceeds_spread else 'within'} the seed-to-seed spread")
    out += (f" Macro-F1: {student.mean:.1%} for the distilled student against {scratch.mean:.1%} for the scratch "
            f"student{over} ({gain.mean * 100:+.2f} points{spread}){of_teacher}.")
    accuracy_gain = seeds.gain.mean if seeds.gain is not None else None
    if (accuracy_gain is not None and min(abs(accuracy_gain), abs(gain.mean)) >= NO_DIFFERENCE
            and (accuracy_gain > 0) != (gain.mean > 0)):
        out += (" Accuracy and macro-F1 disagree on which student is better: if every class matters alike, "
                "judge by macro-F1.")
    return [out]


def _headline(arms: Mapping[str, ArmResult], teacher: ArmResult, seeds: SeedComparison,
              evidence: RunEvidence) -> str:
    student_mean = seeds.student.mean
    teacher_acc = teacher.test_accuracy or 0.0
    if student_mean is None:
        best = f", best epoch {teacher.best_epoch}" if teacher.best_epoch else ""  # 1-based, as stored
        val = teacher.val_accuracy
        return (f"Teacher only: {teacher_acc:.1%} test accuracy"
                f"{f' ({val:.1%} validation{best})' if val is not None else ''}; no student was trained.")
    if seeds.scratch is None or seeds.gain is None or seeds.gain.mean is None:
        return (f"Distilled student: {student_mean:.1%} test accuracy, "
                f"{teacher_acc:.1%} for the teacher; no scratch baseline was trained.")
    return _comparison(arms, teacher, seeds, evidence)


def _comparison(arms: Mapping[str, ArmResult], teacher: ArmResult, seeds: SeedComparison,
                evidence: RunEvidence) -> str:
    """Student against scratch: a gain, no difference, or a loss, each as sure as the evidence allows."""
    assert seeds.gain is not None and seeds.scratch is not None
    student_mean, scratch_mean, gain = seeds.student.mean or 0.0, seeds.scratch.mean or 0.0, seeds.gain
    gain_mean = gain.mean or 0.0
    n = len(gain.values)
    over = f" over {n} seeds" if n > 1 else ""
    interval = f" (95% interval of the paired gain: ±{gain.ci95 * 100:.2f} points)" if gain.ci95 is not None else ""
    noise = {True: f" This is larger than the seed-to-seed spread{interval}.",
             False: f" This is within the seed-to-seed spread{interval}, so it may be noise.",
             None: " With one seed, the spread is unknown: repeat with train.seeds >= 3 to tell gain from noise."}[
        gain.exceeds_spread]
    first = arms.get("student") or ArmResult()
    test_set = _test_set_sentence(first, n)
    shown = None if first.gain_low is None or first.gain_high is None else (first.gain_low > 0 or first.gain_high < 0)
    known = [x for x in (gain.exceeds_spread, shown) if x is not None]
    established = all(known)  # nothing known (one seed, no per-review answers): taken at face value, as before
    points = f"{gain_mean * 100:+.2f} points"
    if abs(gain_mean) < NO_DIFFERENCE:
        return (f"Distillation made no measurable difference: the distilled student reached {student_mean:.1%} "
                f"and the same model trained from scratch {scratch_mean:.1%}{over}.{noise}{test_set}")
    if student_mean > scratch_mean and not _above_chance(first, evidence):
        return (f"No gain of distillation can be claimed: the distilled student ({student_mean:.1%}) scored above "
                f"the scratch student ({scratch_mean:.1%}){over} ({points}), but it is not clearly above chance "
                f"itself, so neither has been shown to learn the task.{noise}{test_set}")
    if student_mean > scratch_mean:
        if shown is False:
            return (f"The distilled student scored higher than the scratch student ({student_mean:.1%} against "
                    f"{scratch_mean:.1%}{over}, {points}), but the test set is too small to tell a difference this "
                    f"size from chance.{noise}{test_set}")
        lead = "Distillation paid" if established else "The distilled student scored higher, but it may be noise"
        return (f"{lead}: the distilled student reached {student_mean:.1%} against {scratch_mean:.1%} "
                f"for the same model trained from scratch{over} ({points}).{noise}{test_set}")
    # a loss inside the noise may not be one: its reason is then said as a condition, not a finding
    lead = "Likely reason" if established and known else "If the loss is real, the likely reason"
    small = " The test set is too small to tell a difference this size from chance." if shown is False else ""
    return (f"The distilled student ended below the scratch student: {student_mean:.1%} against "
            f"{scratch_mean:.1%}{over} ({points}).{noise}{test_set}{small} {lead}: "
            f"{_teacher_problem(teacher, scratch_mean, evidence)}")


def _test_set_sentence(student: ArmResult, seeds: int) -> str:
    """The paired test of the first seed's pair on the test set, in words; "" when it was not measured."""
    if student.gain_low is None or student.gain_high is None or student.gain_p_value is None:
        return ""
    disagree = (student.only_student_right or 0) + (student.only_scratch_right or 0)
    which = " (first seed)" if seeds > 1 else ""
    test = (f"McNemar's exact test on the {disagree} reviews where the two disagree: p = {student.gain_p_value:.3g}"
            if disagree else "the two answered every review alike")
    return (f" On the test set{which}, the 95% interval of the paired difference is "
            f"{student.gain_low * 100:+.2f} to {student.gain_high * 100:+.2f} points ({test}).")


def _uniform(evidence: RunEvidence) -> float:
    """What guessing scores: 1/K with K known classes, else :data:`CHANCE` (two)."""
    return 1 / len(evidence.class_names) if len(evidence.class_names) >= 2 else CHANCE


def _chance(evidence: RunEvidence) -> float:
    return max(_uniform(evidence), evidence.majority_share or 0.0)


def _above_chance(arm: ArmResult, evidence: RunEvidence) -> bool:
    """Whether the arm is shown to beat chance (and the majority-class rate): its whole interval above it."""
    if arm.test_accuracy is None:
        return True  # nothing to judge by: no claim either way
    low = arm.test_accuracy_low if arm.test_accuracy_low is not None else arm.test_accuracy
    return low > _chance(evidence)


def _caveats(arms: Mapping[str, ArmResult], seeds: SeedComparison, evidence: RunEvidence) -> list[str]:
    """The facts that qualify the headline: models at chance, a validation accuracy that never moved, a weak teacher."""
    out = _at_chance(arms, evidence)
    out += _still(evidence)
    teacher, scratch = arms.get("teacher"), seeds.scratch
    losing = seeds.gain is not None and (seeds.gain.mean or 0.0) <= -NO_DIFFERENCE
    if (teacher is not None and teacher.test_accuracy is not None and scratch is not None
            and scratch.mean is not None and teacher.test_accuracy < scratch.mean - WEAKER and not losing):
        out.append(f"The teacher ({teacher.test_accuracy:.1%}) is weaker than the scratch student itself "
                   f"({scratch.mean:.1%}). {_stronger_teacher(evidence)}")
    return out


def _at_chance(arms: Mapping[str, ArmResult], evidence: RunEvidence) -> list[str]:
    """Sentences naming the models at or below chance, then those not clearly above it (95% interval)."""
    floor, uniform = _chance(evidence), _uniform(evidence)
    common = "more" if len(evidence.class_names) <= 2 else "most"
    rate = (f"chance ({uniform:.0%})" if floor == uniform
            else f"the majority-class rate ({floor:.1%}: what always answering the {common} common class scores)")
    groups: dict[str, list[str]] = {"at or below": [], "not clearly above": []}
    for role in _ROLES:
        arm = arms.get(role)
        if arm is None or arm.test_accuracy is None or _above_chance(arm, evidence):
            continue
        low, high = arm.test_accuracy_low, arm.test_accuracy_high
        span = f", 95% interval {low:.1%} to {high:.1%}" if low is not None and high is not None else ""
        where = "at or below" if arm.test_accuracy <= floor else "not clearly above"
        groups[where].append(f"the {arm_label(role).lower()} ({arm.test_accuracy:.1%}{span})")
    out = []
    for where, names in groups.items():
        if names:
            verb = "is" if len(names) == 1 else "are"
            sentence = f"{_join(names)} {verb} {where} {rate if not out else 'it'}."
            out.append(sentence[0].upper() + sentence[1:])
    return out


def _still(evidence: RunEvidence) -> list[str]:
    """A validation accuracy that never moved, in words: stuck at chance means nothing was learned.

    One that stayed at 100 % is no problem, and one that stayed higher than chance was reached in
    the first epoch: the later ones changed nothing the validation set can see.
    """
    still = {role: values[0] for role in _ROLES
             if _never_moved(values := evidence.val_accuracies.get(role)) and values[0] < 1 - STILL}
    if not still:
        return []
    names = _join([f"{arm_label(r).lower()} ({value:.1%})" for r, value in still.items()])
    if all(value <= _chance(evidence) for value in still.values()):
        return [f"Validation accuracy never moved for the {names} at every epoch: nothing was learned that the "
                "validation set can see. Train longer, with a higher learning rate, or on more data."]
    return [f"Validation accuracy never moved for the {names} after the first epoch: the later epochs changed "
            "nothing the validation set can see (fewer would do, or it is too small to show a change)."]


def _never_moved(values: Sequence[float] | None) -> bool:
    return values is not None and len(values) > 1 and max(values) - min(values) < STILL


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _stronger_teacher(evidence: RunEvidence) -> str:
    """Advice for a better teacher that names only families this run did not use."""
    untried = [f for f in evidence.families if f != evidence.teacher_family]
    if evidence.teacher_family and untried:
        options = " or ".join(f"teacher.family={f}" for f in untried)
        return (f"Train a stronger teacher: a bigger {evidence.teacher_family} teacher, trained longer, or another "
                f"family ({options}).")
    return "Train a stronger teacher: a bigger one, trained longer, or of another family."


def _teacher_problem(teacher: ArmResult, scratch_acc: float, evidence: RunEvidence) -> str:
    """Why a student distilled from this teacher would lose to scratch, in words."""
    val, train, test = teacher.val_accuracy, teacher.train_accuracy, teacher.test_accuracy
    if val is not None and train is not None and train - val > 0.08:
        return (f"the teacher overfit (train accuracy {train:.1%}, validation {val:.1%}), and the "
                "student copied its mistakes. Try teacher dropout, keep-best weights, or fewer teacher epochs.")
    if test is not None and test <= scratch_acc + 0.005:
        weaker = (f"weaker than the scratch student itself ({scratch_acc:.1%})" if test < scratch_acc - WEAKER
                  else "no stronger than the student trained alone")
        return (f"the teacher ({test:.1%} test accuracy) is {weaker}, so it is no stronger a guide and its soft "
                f"targets carry little extra knowledge. {_stronger_teacher(evidence)} Or raise alpha.")
    return ("these alpha/temperature settings weight the teacher's soft targets in a way that "
            "does not help here; try a higher alpha or a lower temperature.")
