"""kdcore.arms: one naming of the arms, read back the same way by the results and the UI."""

from __future__ import annotations

import pytest

from kdcore import arms


@pytest.mark.parametrize(("base", "seed", "name"), [("student", 0, "student"), ("scratch", 2, "scratch@2"),
                                                    ("teacher", 0, "teacher")])
def test_arm_name__round_trips_to_its_role_and_seed(base: str, seed: int, name: str) -> None:
    # when an arm is named by the engine's rule
    made = arms.arm_name(base, seed)
    # then the readers get back what it was made from
    assert made == name, f"the first seed keeps the bare role name, the others append @index: {made}"
    assert (arms.arm_base(made), arms.seed_index(made)) == (base, seed), "role and 0-based seed index"
    assert arms.is_extra_seed(made) is (seed > 0), "only the seeds after the first are extra"


def test_scratch_twin__shares_the_students_seed() -> None:
    assert arms.scratch_twin("student") == "scratch"
    assert arms.scratch_twin(arms.arm_name("student", 3)) == arms.arm_name("scratch", 3)


def test_sorted_arms__roles_in_training_order_then_the_extra_seeds() -> None:
    given = ["scratch@1", "student@1", "scratch", "teacher", "student", "student"]
    assert arms.sorted_arms(given) == ["teacher", "student", "scratch", "student@1", "scratch@1"], \
        "teacher, student, scratch, then each extra seed in the same order; duplicates once"


def test_arm_label__counts_seeds_from_one_for_people() -> None:
    assert [arms.arm_label(a) for a in ("teacher", "student", "scratch@1")] == \
        ["Teacher", "Distilled student", "Scratch student (seed 2)"]
    assert arms.arm_label("mystery") == "mystery", "an unknown role shows its own name"
