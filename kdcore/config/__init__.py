"""The one validated description of a distillation experiment, and the model families it can name.

Layer: above ``kdcore.results``; imports neither Keras nor TensorFlow, so the CLI and the
dashboard validate a run before any of it loads. Each module has one job:

- ``schema``: :class:`RunConfig` and its sections, every field with its limits and meaning;
- ``families/``: the model-family registry (:data:`FAMILIES`), one module per family;
- ``recipes``: what switching the teacher's family brings along, and when the user's value wins;
- ``loading``: configs from files, dicts and stored runs (preset names, error wording);
- ``overrides``: ``--set section.field=value`` on top of a config;
- ``tree``: dotted paths (``train.seed``) into nested dicts and models;
- ``keys``: the cache keys of trained teachers and scratch students;
- ``reference``: the field reference table and one field's description.

Import from here (``from kdcore.config import RunConfig``): these names are the public API.
"""

from __future__ import annotations

from kdcore.config.base import ConfigError, StrictModel
from kdcore.config.families import (
    DEFAULT_FAMILY,
    FAMILIES,
    FAMILY_DEFAULT_SIZES,
    FAMILY_HELP,
    FAMILY_RECIPES,
    NOTEBOOK_STUDENT,
    NOTEBOOK_TEACHER,
    PRESETS,
    SIZE_PRESETS,
    STUDENT_DEFAULT_SIZES,
    TEACHER_FAMILIES,
    TINY,
    ConvSize,
    Family,
    FamilySize,
    ModelSize,
    NgramSize,
    Preset,
    RecurrentSize,
    default_size,
    family_of,
    param_count,
    parse_size,
    presets_for,
)
from kdcore.config.loading import LATER_FIELDS, config_from_dict, load_config, preset_size, stored_config
from kdcore.config.overrides import apply_overrides, parse_value
from kdcore.config.recipes import AUGMENT_FIELDS, switched_recipe
from kdcore.config.reference import field_description, field_reference
from kdcore.config.report import ReportConfig
from kdcore.config.schema import (
    DATASET_ID_PATTERN,
    DataConfig,
    DistillConfig,
    RunConfig,
    StudentSize,
    TeacherSize,
    TrainConfig,
)
from kdcore.config.teacher_source import TeacherSourceConfig
from kdcore.config.tree import get_path

__all__ = [
    "AUGMENT_FIELDS", "DEFAULT_FAMILY", "FAMILIES", "FAMILY_DEFAULT_SIZES", "FAMILY_HELP", "FAMILY_RECIPES",
    "LATER_FIELDS", "NOTEBOOK_STUDENT", "NOTEBOOK_TEACHER", "PRESETS", "SIZE_PRESETS", "TEACHER_FAMILIES", "TINY",
    "DATASET_ID_PATTERN", "ConfigError", "ConvSize", "DataConfig", "DistillConfig", "Family", "FamilySize",
    "ModelSize", "NgramSize", "Preset", "RecurrentSize", "ReportConfig", "RunConfig", "StrictModel", "TeacherSize",
    "TeacherSourceConfig", "TrainConfig", "apply_overrides", "config_from_dict", "family_of", "field_description",
    "field_reference", "get_path", "load_config", "param_count", "parse_size", "parse_value", "preset_size",
    "presets_for", "stored_config", "switched_recipe", "STUDENT_DEFAULT_SIZES", "StudentSize", "default_size",
]
