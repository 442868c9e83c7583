"""How the arms of an experiment are named, paired, ordered and called to a person.

An experiment trains a ``teacher``, then per seed a distilled ``student`` and its ``scratch``
twin. The first seed's arms carry the bare role name; the extra seeds of ``train.seeds > 1``
append ``@`` and the 0-based seed index (``student@1``, ``scratch@1``, ...). The engine names
arms with these functions, the results pair them, the UI orders and labels them: one module,
so a name written by the one is read the same way by the others.

Layer: the bottom, beside ``kdcore.progress`` and ``kdcore.paths``; plain strings, no imports.
Colours are presentation and live with the charts (:mod:`kdcore.ui.charts`).
"""

from __future__ import annotations

from collections.abc import Iterable

#: The three roles, in the order an experiment trains them and every page lists them.
ARMS = ("teacher", "student", "scratch")
#: How a role is named to a person.
ARM_LABELS: dict[str, str] = {
    "teacher": "Teacher",
    "student": "Distilled student",
    "scratch": "Scratch student",
}
_SEED_MARK = "@"


def arm_name(base: str, seed_index: int) -> str:
    """``student`` for the first seed (index 0), ``student@2`` for the third."""
    return base if seed_index == 0 else f"{base}{_SEED_MARK}{seed_index}"


def arm_base(arm: str) -> str:
    """``student@2`` -> ``student``: the role, for colours and grouping."""
    return arm.split(_SEED_MARK, 1)[0]


def seed_index(arm: str) -> int:
    """``student@2`` -> 2, ``student`` -> 0: the 0-based seed index (an unreadable suffix counts as 0)."""
    _, _, seed = arm.partition(_SEED_MARK)
    return int(seed) if seed.isdigit() else 0


def is_extra_seed(arm: str) -> bool:
    """Whether the arm belongs to a seed after the first (drawn fainter, left out of overlays)."""
    return _SEED_MARK in arm


def scratch_twin(student: str) -> str:
    """``student@2`` -> ``scratch@2``: the scratch arm that shares the student's seed and initial weights."""
    return "scratch" + student.removeprefix("student")


def arm_label(arm: str) -> str:
    """``student@1`` -> ``Distilled student (seed 2)``: seeds counted from 1 for people."""
    base, _, seed = arm.partition(_SEED_MARK)
    label = ARM_LABELS.get(base, base)
    return f"{label} (seed {int(seed) + 1})" if seed.isdigit() else label


def arm_sort_key(arm: str) -> tuple[int, int, str]:
    """Teacher, student, scratch, then the extra seeds in the same role order."""
    base = arm_base(arm)
    role = ARMS.index(base) if base in ARMS else len(ARMS)
    return (seed_index(arm), role, arm)


def sorted_arms(arms: Iterable[str]) -> list[str]:
    """The distinct arms in :func:`arm_sort_key` order."""
    return sorted(set(arms), key=arm_sort_key)
