"""A sweep's spec: expansion into runs, what shares a teacher and a scratch twin, and every refusal named."""

from __future__ import annotations

import pytest

from kdcore.config import ConfigError
from kdcore.config.sweep import MAX_SWEEP_RUNS, HalvingConfig, expand, grid_from_items, parse_spec


def _problems(spec: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        expand(spec)
    return "\n".join(caught.value.problems)


def test_expand__grid_of_alpha_and_t_makes_every_point_sharing_one_teacher_and_one_scratch() -> None:
    # given
    spec = {"name": "kd", "base": {"student": "tiny"},
            "grid": {"distill.alpha": [0.1, 0.5], "distill.temperature": [2, 5, 10]}}
    # when
    points = expand(spec)
    # then
    assert [(p.config.distill.alpha, p.config.distill.temperature) for p in points] == [
        (0.1, 2), (0.1, 5), (0.1, 10), (0.5, 2), (0.5, 5), (0.5, 10)], "every point, in grid order"
    assert points[0].config.name == "kd · alpha=0.1 temperature=2", "each run is named after its point"
    assert len({p.config.teacher_key() for p in points}) == 1, "alpha and T leave the teacher alone: one teacher"
    assert len({p.config.scratch_key(0) for p in points}) == 1, "and the scratch twin too: one scratch student"


def test_expand__student_presets_and_seeds_change_the_scratch_key_not_the_teacher() -> None:
    # given / when
    points = expand({"grid": {"student": ["tiny", "notebook-student"], "train.seed": [0, 1]}})
    # then
    assert len(points) == 4, "2 sizes x 2 seeds"
    assert len({p.config.scratch_key(0) for p in points}) == 4, "each size and seed has its own scratch twin"
    assert len({p.config.teacher_key() for p in points}) == 2, "the seed also seeds the teacher: one per seed"


def test_expand__random_sample_is_seeded_and_within_the_grid() -> None:
    # given
    spec = {"grid": {"distill.alpha": [0.1, 0.3, 0.5, 0.7], "distill.temperature": [1, 2, 4, 8]}, "sample": 5,
            "seed": 3}
    # when
    first, again = expand(spec), expand(spec)
    # then
    assert len(first) == 5, "the sample's size"
    assert [p.point for p in first] == [p.point for p in again], "the same seed draws the same points"
    assert len({tuple(p.point.values()) for p in first}) == 5, "drawn without replacement"


@pytest.mark.parametrize(("spec", "expected"), [
    ({"grid": {}}, "grid: give at least one field"),
    ({"grid": {"distill.alpha": []}}, "grid.distill.alpha: give at least one value"),
    ({"grid": {"distill.alpha": [0.1, 0.1]}}, "grid.distill.alpha: 0.1 is given twice"),
    ({"grid": {"distill.alfa": [0.1]}}, "grid.distill.alfa=0.1: distill.alfa: unknown field"),
    ({"grid": {"distill.alpha": [0.5, 2]}}, "grid.distill.alpha=2: distill.alpha: Input should be less than or equal"),
    ({"grid": {"student": ["tiny", "huge"]}}, "grid.student=huge: student: unknown preset 'huge'"),
    ({"grid": {"train.seed": list(range(MAX_SWEEP_RUNS + 1))}}, f"more than the limit of {MAX_SWEEP_RUNS}"),
    ({"grid": {"distill.alpha": [0.1, 0.5]}, "sample": 3}, "sample: 3 is more than the grid's 2 points"),
    ({"grid": {"student": ["tiny"]}, "halving": {"enabled": True}}, "halving: a sweep over student sizes"),
    ({"grid": {"distill.alpha": [0.1]}, "base": {"train": {"epochs": 1}}, "halving": {"enabled": True}},
     "halving: train.epochs is 1, so no run reaches a rung"),
    ({"grid": {"distill.alpha": [0.1]}, "base": {"train": {"epochz": 1}}}, "base.train.epochz: unknown field"),
    ({"grid": {"distill.alpha": [0.1]}, "colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_expand__refuses_with_the_field_named(spec: dict, expected: str) -> None:
    # when
    problems = _problems(spec)
    # then
    assert expected in problems, f"the refusal names the field: {problems}"


def test_grid_from_items__cli_values_are_yaml_scalars_and_text_fields_stay_text() -> None:
    # when
    grid = grid_from_items(["distill.alpha=0.1, 0.5", "name=2024,b", "student=tiny,notebook-student"])
    # then
    assert grid == {"distill.alpha": [0.1, 0.5], "name": ["2024", "b"], "student": ["tiny", "notebook-student"]}


@pytest.mark.parametrize("item", ["distill.alpha", "=1,2"])
def test_grid_from_items__malformed_item_is_named(item: str) -> None:
    with pytest.raises(ConfigError, match="expected field=value1,value2"):
        grid_from_items([item])


def test_halving__rungs_and_optuna_promotion_rule() -> None:
    # given
    halving = HalvingConfig(enabled=True, eta=2, min_epochs=1)
    # then
    assert halving.rungs(4) == [1, 2] and halving.rungs(9) == [1, 2, 4, 8], "rungs double, below the last epoch"
    assert halving.promotes(0.6, []), "the first run at a rung always goes on"
    assert not halving.promotes(0.6, [0.7]), "of two, only the better goes on"
    assert halving.promotes(0.7, [0.6]), "the better of two goes on"
    assert halving.promotes(0.7, [0.9, 0.6, 0.5]), "of four, the best two go on"
    assert not halving.promotes(0.6, [0.9, 0.7, 0.5]), "the third of four stops"
    assert halving.promotes(0.7, [0.7]), "a tie goes on"


def test_parse_spec__round_trips_through_json() -> None:
    # given
    spec = parse_spec({"name": "s", "grid": {"distill.alpha": [0.1]}, "halving": {"enabled": True, "eta": 3}})
    # when
    again = parse_spec(spec.model_dump(mode="json"))
    # then
    assert again == spec, "the stored spec reads back as the same sweep"


def test_expand__teacher_family_grid_trains_one_teacher_per_family_with_its_recipe() -> None:
    # when
    points = expand({"grid": {"teacher.family": ["recurrent", "ngram", "conv"]}})
    # then
    assert [p.config.teacher.family for p in points] == ["recurrent", "ngram", "conv"], "one point per family"
    assert len({p.config.teacher_key() for p in points}) == 3, "each family's teacher is its own, trained once"
    assert points[1].config.data.teacher_maxlen == 400, "a family brings its measured recipe (n-gram: 400 tokens)"
