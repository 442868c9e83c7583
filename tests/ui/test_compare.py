"""kdcore.ui.compare: a run's settings as rows, what differs from the defaults and between runs, the metrics offered."""

from __future__ import annotations

import pandas as pd

from kdcore.config import RunConfig, apply_overrides
from kdcore.ui import compare


def config_of(*overrides: str) -> dict:
    return apply_overrides(RunConfig(), list(overrides)).model_dump(mode="json")


def test_flatten__gives_dotted_paths_of_every_leaf() -> None:
    # given a nested config; when flattened; then each leaf has its dotted path
    flat = compare.flatten({"name": "x", "train": {"epochs": 3, "seed": None}, "teacher": {"family": "ngram"}})
    assert flat == {"name": "x", "train.epochs": 3, "train.seed": None, "teacher.family": "ngram"}, f"{flat}"


def test_changed_fields__are_the_users_edits_not_the_family_recipe() -> None:
    # given a run with the n-gram teacher (whose recipe sets its own epochs, optimizer, view) and one edit
    config = config_of("teacher.family=ngram", "distill.alpha=0.5")
    # when its changes from the defaults are listed
    changed = compare.changed_fields(config)
    # then the family and the edit count, the recipe's own fields do not
    assert "distill.alpha" in changed and "teacher.family" in changed, f"the edits are changes: {changed}"
    assert "train.teacher_optimizer" not in changed, f"the family's recipe is that family's default: {changed}"


def test_changed_fields__a_default_run_changes_nothing_and_a_name_is_no_setting() -> None:
    assert compare.changed_fields(RunConfig().model_dump(mode="json")) == [], "the defaults differ from nothing"
    assert compare.changed_fields(config_of("name=sweep 3")) == [], "a run's name labels it, it sets nothing up"


def test_config_sections__group_by_section_and_mark_changed_values() -> None:
    # given a run with two edits
    config = config_of("train.epochs=7", "distill.alpha=0.5")
    # when its panel rows are made
    sections = compare.config_sections(config)
    # then the sections come in reading order, each row says its value, the default, and whether it changed
    assert list(sections) == ["Run", "Data", "Teacher", "Student", "Teacher source", "Distillation",
                              "Training", "Compression report"], f"{list(sections)}"  # issue 20: `report`
    train = sections["Training"].set_index("Field")
    assert (train.loc["train.epochs", "Value"], train.loc["train.epochs", "Default"]) == ("7", "3"), f"{train}"
    assert train.loc["train.epochs", "Changed"] and not train.loc["train.seed", "Changed"], "only edits are marked"
    assert "Epochs" in train.loc["train.epochs", "Meaning"], "each field says what it means"
    assert sections["Data"].set_index("Field").loc["data.path", "Value"] == "empty", "None reads as empty"


def test_validated__fills_fields_a_stored_config_predates_and_explains_a_bad_one() -> None:
    # given a stored config from before train.teacher_optimizer existed, and one that cannot validate
    old = RunConfig().model_dump(mode="json")
    del old["train"]["teacher_optimizer"]
    # when each is read for display
    config, problem = compare.validated(old)
    bad, why = compare.validated({"train": {"epochs": "many"}})
    # then the old one shows as it ran, the bad one is None with a message naming the field
    assert problem is None and config["train"]["teacher_optimizer"] == "adam", f"{problem} {config}"
    assert bad is None and "train.epochs" in why, f"the message names the field: {why}"


def test_validated__a_damaged_row_is_not_shown_as_the_defaults() -> None:
    # given a row whose config could not be read (the store lists it with an empty config)
    config, problem = compare.validated({}, damage="its stored config is not valid JSON")
    # then there is no config to show, and the reason
    assert config is None and "not valid JSON" in problem, "an empty config must not pass for the defaults"


def test_compare_frame__marks_fields_that_differ_and_can_hide_the_rest() -> None:
    # given two runs that differ in alpha only, and a damaged one
    configs = {"a": config_of("distill.alpha=0.1"), "b": config_of("distill.alpha=0.5")}
    # when they are compared
    frame = compare.compare_frame(configs)
    only = compare.compare_frame(configs, only_differing=True)
    # then alpha differs, the seed does not, and the toggle keeps only the differing rows
    assert frame.loc["distill.alpha", compare.DIFFERS] and not frame.loc["train.seed", compare.DIFFERS], f"{frame}"
    assert (frame.loc["distill.alpha", "a"], frame.loc["distill.alpha", "b"]) == ("0.1", "0.5"), f"{frame}"
    assert list(only.index) == ["distill.alpha"], f"only the differing field is left: {list(only.index)}"
    with_damaged = compare.compare_frame({**configs, "c": None})
    assert with_damaged.loc["train.seed", "c"] == compare.ABSENT, "a run without a config shows dashes"


def test_unique_labels__tell_runs_with_the_same_name_apart() -> None:
    labels = compare.unique_labels({"r1": "sweep", "r2": "sweep", "r3": "other", "r4": ""})
    assert len(set(labels.values())) == 4, f"every chosen run keeps its own line in the overlay: {labels}"
    assert labels["r3"] == "other" and labels["r4"] == "r4", f"{labels}"


def test_recorded_metrics__offer_every_epoch_metric_the_runs_recorded() -> None:
    # given a run with the student's hard and soft losses and one with validation metrics only
    def rows(*names: str) -> pd.DataFrame:
        return pd.DataFrame({"arm": "student", "kind": "epoch", "epoch": 0, "step": 4, "fraction": 1.0,
                             "name": list(names), "value": 0.5, "t": 1.0})
    tick = pd.DataFrame({"arm": ["student"], "kind": ["tick"], "epoch": [0], "step": [1], "fraction": [0.25],
                         "name": ["samples_per_s"], "value": [9.0], "t": [0.5]})
    curves = [pd.concat([rows("loss", "accuracy", "hard_loss", "distill_loss"), tick]), rows("val_loss",
                                                                                             "val_accuracy"), None]
    # when the overlay's metrics are listed
    metrics = compare.recorded_metrics(curves)
    # then all six come, validation accuracy first; tick-only numbers are not offered
    assert metrics == ["val_accuracy", "val_loss", "accuracy", "loss", "hard_loss", "distill_loss"], f"{metrics}"
    assert compare.metric_label("val_loss") == "Validation loss", "labels read as words"
