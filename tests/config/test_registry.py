"""The family registry: each entry agrees with the schema, and everything that lists families reads it.

The engine side (each builder resolves and builds a model of the registry's parameter count)
is in tests/engine/test_families.py; this file needs no Keras.
"""

from __future__ import annotations

import importlib.util
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from kdcore.config import (
    DEFAULT_FAMILY,
    FAMILIES,
    FAMILY_HELP,
    PRESETS,
    SIZE_PRESETS,
    ConfigError,
    Family,
    RecurrentSize,
    RunConfig,
    apply_overrides,
    family_of,
    get_path,
    param_count,
    parse_size,
    presets_for,
    switched_recipe,
)

ENTRIES = [pytest.param(entry, id=name) for name, entry in FAMILIES.items()]


def config_field(path: str) -> Any:
    """The pydantic field at a dotted path of RunConfig's sections (``train.epochs``), or None."""
    model: type[BaseModel] = RunConfig
    *sections, name = path.split(".")
    for section in sections:
        field = model.model_fields.get(section)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model.model_fields.get(name)


# ----------------------------------------------------------------------------- each entry


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__its_size_model_is_named_after_it(entry: Family):
    # given the size model's own family field
    field = entry.size.model_fields["family"]

    # then it can only hold the family's name, and does by default
    assert get_args(field.annotation) == (entry.name,), f"{entry.name}: family is Literal[{entry.name!r}]"
    assert field.default == entry.name, f"{entry.name}: a size without a family field is of this family"
    assert FAMILIES[entry.name] is entry, "the registry is keyed by the family's name"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__default_and_presets_are_its_own_sizes(entry: Family):
    assert isinstance(entry.default_size, entry.size), f"{entry.name}: the default sizes are of its size model"
    assert entry.presets, f"{entry.name}: at least one preset, so `teacher=<preset>` can pick it"
    for preset in entry.presets:
        assert isinstance(preset.size, entry.size), f"preset {preset.name} is a {entry.name} size"
        assert preset.label.strip(), f"preset {preset.name} has a label for the form"
        assert SIZE_PRESETS[preset.name] == preset.size, f"preset {preset.name} is listed among all presets"


def test_presets__names_are_unique_across_families():
    names = [preset.name for entry in FAMILIES.values() for preset in entry.presets]
    assert len(names) == len(set(names)) == len(PRESETS), f"one preset per name: {names}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__has_a_label_and_a_caption(entry: Family):
    assert entry.label.strip() and entry.caption.strip(), f"{entry.name}: the form names and sketches it"
    assert entry.name in FAMILY_HELP, f"{entry.name}: teacher.family's help names the family"


def test_family__labels_tell_the_families_apart():
    labels = [entry.label for entry in FAMILIES.values()]
    assert len(set(labels)) == len(labels), f"one label per family: {labels}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__form_fields_are_every_size_field(entry: Family):
    # given the size model's fields, less the family itself (the form has its own box for it)
    sizes = set(entry.size.model_fields) - {"family"}

    # then the form shows each of them, and only those, each with a label
    assert set(entry.form_fields) == sizes, f"{entry.name}: form fields {set(entry.form_fields) ^ sizes} differ"
    assert all(label.strip() for label in entry.form_fields.values()), f"{entry.name}: every field is labelled"


def test_form_fields__a_field_several_families_share_has_one_label():
    labels: dict[str, set[str]] = {}
    for entry in FAMILIES.values():
        for name, label in entry.form_fields.items():
            labels.setdefault(name, set()).add(label)
    assert all(len(seen) == 1 for seen in labels.values()), f"labels that disagree: {labels}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__recipe_paths_are_config_fields_and_its_values_hold(entry: Family):
    # given the family's recipe
    assert entry.recipe, f"{entry.name}: a recipe (the settings a switch to it brings along)"
    for path in entry.recipe:
        assert config_field(path) is not None, f"{entry.name}: recipe path {path!r} is a config field"
        assert not path.startswith(("teacher.", "student.")), f"{entry.name}: sizes are presets, not recipe"

    # when the family is chosen and nothing else
    config = apply_overrides(RunConfig(), [f"teacher.family={entry.name}"])

    # then every recipe value is valid and is what that config holds
    for path, value in entry.recipe.items():
        assert get_path(config, path) == value, f"{entry.name}: {path} is the recipe's {value!r}"
    assert config.teacher == entry.default_size, f"{entry.name}: a family chosen without sizes has its defaults"


def test_recipes__every_family_sets_the_same_fields():
    # switching back must undo each field the previous family's recipe set
    fields = {name: set(entry.recipe) for name, entry in FAMILIES.items()}
    assert len({frozenset(f) for f in fields.values()}) == 1, f"recipe fields differ: {fields}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__a_switch_from_the_default_family_brings_its_recipe(entry: Family):
    changes = switched_recipe(DEFAULT_FAMILY, entry.name, dict(FAMILIES[DEFAULT_FAMILY].recipe), 200, 200)
    assert changes == dict(entry.recipe), f"{entry.name}: untouched recipe fields all follow the family"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__param_count_grows_with_the_vocabulary(entry: Family):
    small, large = (entry.param_count(entry.default_size, vocab) for vocab in (100, 200))
    assert 0 < small < large, f"{entry.name}: counts {small}, {large}"
    assert param_count(entry.default_size, 100) == small, "param_count dispatches to the family's count"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__size_text_reads_full_and_partial_sizes(entry: Family):
    full = entry.size_text(entry.default_size.model_dump())
    partial = entry.size_text({"family": entry.name})  # an older run's record may lack fields
    assert isinstance(full, str) and full.strip(), f"{entry.name}: a cell for its sizes, got {full!r}"
    assert isinstance(partial, str), f"{entry.name}: a partial size still gives a cell, got {partial!r}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_family__builder_names_an_engine_module(entry: Family):
    # given the dotted name the engine resolves (without importing it here: that would load Keras)
    module, sep, function = entry.builder.partition(":")

    # then it names a function in a module of the engine that exists
    assert sep and function.isidentifier(), f"{entry.name}: builder is 'module:function', got {entry.builder!r}"
    assert module.startswith("kdcore.engine."), f"{entry.name}: only the engine builds models ({module})"
    assert importlib.util.find_spec(module) is not None, f"{entry.name}: module {module} exists"


# ----------------------------------------------------------------------------- lookups


def test_family_of__models_dicts_and_preset_names():
    assert family_of(SIZE_PRESETS["tiny-conv"]) == "conv", "a model's own family"
    assert family_of({"embedding_dim": 8}) == DEFAULT_FAMILY, "a dict without a family: the default family"
    assert family_of({"family": "ngram"}) == "ngram", "a dict's family"
    assert family_of("tiny-ngram") == "ngram", "a preset name: its sizes' family"
    assert family_of("conv") == "conv", "a family's name"


def test_presets_for__either_role_takes_every_familys_presets():
    # issue 20 (students of any family): the student's presets are no longer the default family's only
    assert presets_for("teacher") == list(SIZE_PRESETS), "a teacher may be any preset"
    assert presets_for("student") == list(SIZE_PRESETS), "a student may be any preset, the small ones too"
    assert {SIZE_PRESETS[n].family for n in presets_for("student")} == set(FAMILIES), "every family offered"


def test_presets__the_default_familys_first_then_full_size_then_small_ones():
    assert list(SIZE_PRESETS) == ["notebook-teacher", "notebook-student", "small-student", "tiny", "ngram",
                                  "ngram-student", "small-ngram", "micro-ngram", "conv", "conv-student", "small-conv",
                                  "tiny-ngram", "tiny-conv"], "the order the form and the messages list them in"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family__student_size_is_smaller_than_the_teachers(family: str):
    # given: the sizes a model of the family gets in each role when only its family is chosen
    entry = FAMILIES[family]
    # when
    teacher, student = (param_count(size, 20_000) for size in (entry.default_size, entry.student_size))
    # then
    assert entry.student_size.family == family, f"{family}: the student default is of its own family"
    assert student < teacher, f"{family}: a default student ({student:,}) is smaller than the teacher ({teacher:,})"


def test_presets__student_sizes_span_a_frontier():
    # given: the student presets of every family, at IMDB's default vocabulary
    counts = {name: param_count(SIZE_PRESETS[name], 20_000) for name in presets_for("student")}
    # then: from about 20k to the notebook student's 1.3M, every family with a student below 200k
    assert min(counts.values()) < 25_000 and counts["notebook-student"] > 1_300_000, f"{counts}"
    for family in FAMILIES:
        assert any(SIZE_PRESETS[n].family == family and c < 200_000 for n, c in counts.items()), \
            f"{family}: a small student for the frontier ({counts})"


def test_parse_size__validates_one_models_sizes_as_its_role_allows():
    assert parse_size("teacher", {"family": "ngram", "embedding_dim": 8}) == SIZE_PRESETS["ngram"].model_copy(
        update={"embedding_dim": 8}), "a teacher's sizes by their family"
    assert isinstance(parse_size("student", {"embedding_dim": 8, "lstm_units": 4, "gru_units": 4}), RecurrentSize)
    with pytest.raises(ConfigError, match="unknown family 'transformer'"):
        parse_size("teacher", {"family": "transformer"})
    # issue 20: a student of another family is parsed by its family, as a teacher is
    assert parse_size("student", {"family": "ngram", "embedding_dim": 8}) == SIZE_PRESETS["ngram"].model_copy(
        update={"embedding_dim": 8}), "a student's sizes by their family"
    with pytest.raises(ConfigError, match="student.family: unknown family 'transformer'"):
        parse_size("student", {"family": "transformer"})
    with pytest.raises(ValueError):
        parse_size("student", {"family": "ngram", "lstm_units": 8})
    with pytest.raises(ValueError):
        parse_size("teacher", {"family": "conv", "kernel_sizes": [0]})
