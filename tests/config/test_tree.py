"""Dotted paths into a config: read dicts and models alike, write without touching the caller's sections."""

from __future__ import annotations

from kdcore.config import DataConfig, RunConfig, get_path
from kdcore.config.tree import UNSET, is_set, set_path


def test_get_path__reads_dicts_and_models_alike():
    # given the same value in a plain dict and in a model
    raw = {"train": {"seed": 3}, "data": DataConfig(maxlen=50)}

    # when / then
    assert get_path(raw, "train.seed") == 3, "a nested dict"
    assert get_path(raw, "data.maxlen") == 50, "a model section"
    assert get_path(RunConfig(), "distill.alpha") == 0.1, "a whole config"
    assert get_path(raw, "train.epochs", UNSET) is UNSET, "a missing field gives the default"
    assert get_path({"data": None}, "data.maxlen", "missing") == "missing", "a section that is not one"


def test_set_path__copies_each_section_it_writes_into():
    # given a raw config whose sections belong to the caller
    section = {"alpha": 0.1}
    raw = {"distill": section, "data": DataConfig(maxlen=50)}

    # when two fields are written
    set_path(raw, "distill.alpha", 0.5)
    set_path(raw, "data.teacher_maxlen", 400)

    # then the raw config has them and the caller's section is as it was
    assert raw["distill"] == {"alpha": 0.5} and section == {"alpha": 0.1}, "the section was copied"
    assert raw["data"]["teacher_maxlen"] == 400 and raw["data"]["maxlen"] == 50, "a model section becomes its dict"
    set_path(raw, "train.epochs", 2)
    assert raw["train"] == {"epochs": 2}, "a missing section is created"


def test_is_set__a_model_counts_the_fields_it_was_built_with():
    raw = {"data": DataConfig(maxlen=50), "train": {"epochs": 3}, "distill": None}
    assert is_set(raw, "data.maxlen") and not is_set(raw, "data.teacher_maxlen"), "a model's given fields only"
    assert is_set(raw, "train.epochs") and not is_set(raw, "train.seed"), "a dict's keys"
    assert is_set(raw, "distill.alpha"), "a section that is neither counts as given: validation reports it"
    assert not is_set(raw, "name.x"), "an absent section"
