"""The New-run form: a flat widget per config field, and the mapping back to a RunConfig.

Widget keys are the config fields' dotted paths (``form.distill.alpha``), so a validation
problem maps straight back to its widget; labels, presets and the parameter estimate the
form shows live here too. What the form knows of each model family (its label, caption, size
fields and presets) it reads from the family registry, ``kdcore.config.FAMILIES``, so a new family
appears here without an edit. The teacher and the student each pick a family; only the
teacher's brings a recipe. No Streamlit and no TensorFlow: the page draws, this converts.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from kdcore.config import (
    DEFAULT_FAMILY,
    FAMILIES,
    LATER_FIELDS,
    STUDENT_DEFAULT_SIZES,
    ConfigError,
    RunConfig,
    config_from_dict,
    field_description,
    get_path,
    param_count,
    parse_size,
)
from kdcore.config.teacher_source import MODEL_SOURCES
from kdcore.ui.models_form import (  # noqa: F401 - the form's names, re-exported for the pages and setups
    CUSTOM_PRESET,
    FAMILY_CAPTIONS,
    FAMILY_FIELDS,
    FAMILY_LABELS,
    FORM_PREFIX,
    PRESET_LABELS,
    ROLES,
    SIZE_FIELDS,
    family_values,
    form_key,
    is_list_field,
    matching_preset,
    preset_values,
    role_family,
    role_fields,
    role_presets,
    widget_value,
)

#: Config path -> label a person sees. Also the list of fields the form edits; the models' size
#: fields are every family's ``form_fields`` (a field several families share has one label).
FIELD_LABELS: dict[str, str] = {
    "name": "Run name",
    "data.dataset": "Dataset",
    "data.standardize": "Text normalisation",
    "data.split": "Tokens are",
    "data.path": "Data file",
    "data.vocab_size": "Vocabulary size",
    "data.maxlen": "Review length (tokens)",
    "data.train_limit": "Training reviews",
    "data.test_limit": "Test reviews",
    "data.val_fraction": "Validation fraction",
    "data.validate_on": "Validate on",
    "data.teacher_maxlen": "Teacher · review length (tokens)",
    "teacher.family": "Teacher · family",
    **{f"teacher.{name}": f"Teacher · {label}" for entry in FAMILIES.values()
       for name, label in entry.form_fields.items()},
    "student.family": "Student · family",
    **{f"student.{name}": f"Student · {label}" for entry in FAMILIES.values()
       for name, label in entry.form_fields.items()},
    "distill.alpha": "Alpha",
    "distill.temperature": "Temperature",
    "distill.scale_t2": "T² scaling",
    "distill.teacher_view": "Teacher's targets from",
    "distill.augment_window": "Augment · window chance",
    "distill.augment_mask": "Augment · mask chance",
    "train.epochs": "Epochs",
    "train.teacher_epochs": "Teacher epochs",
    "train.batch_size": "Batch size",
    "train.teacher_batch_size": "Teacher batch size",
    "train.learning_rate": "Learning rate",
    "train.teacher_learning_rate": "Teacher learning rate",
    "train.teacher_optimizer": "Teacher optimizer",
    "train.seed": "Seed",
    "train.seeds": "Seeds (repeats)",
    "train.train_scratch": "Scratch baseline",
    "train.keep_best": "Keep best epoch",
    "train.monitor": "Best epoch by",
    "train.patience": "Patience (epochs)",
    "train.mixed_precision": "Mixed precision",
    "train.jit_compile": "XLA compile",
    "train.eval_batch_size": "Evaluation batch size",
    "teacher_from": "Reuse teacher from",
    "teacher_source.kind": "Teacher source",
    "teacher_source.file": "Teacher file",
    "teacher_source.test_file": "Soft labels · test-set file",
    "teacher_source.input": "Teacher · reads",
    "teacher_source.output": "Teacher · outputs are",
    "teacher_source.id_column": "Soft labels · id column",
    "teacher_source.members": "Ensemble members",
    "teacher_source.combine": "Ensemble · combine",
    "report.enabled": "Compression report",
    "report.latency_calls": "Report · latency calls",
    "report.throughput_batch": "Report · throughput batch",
    "report.threads": "Report · CPU threads",
    "report.conversions": "Report · TFLite and ONNX",
}
#: Fields where an empty widget means "not set" (None) rather than an empty string.
_EMPTY_IS_NONE = {"data.path", "teacher_from", "teacher_source.file", "teacher_source.test_file",
                  "teacher_source.id_column"}
#: The teacher-source fields each kind uses; the others stay in the form (for switching back) but are not submitted.
SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "trained": (), "keras": ("file", "input", "output"), "soft_labels": ("file", "test_file", "id_column", "output"),
    "ensemble": ("members", "combine")}
#: A list-valued field the form edits as a list (a multiselect), not as ``3, 4, 5`` text.
_LIST_WIDGETS = {"teacher_source.members"}
FORM_STASH = "new_run.stash"
PREFILL_KEY = "new_run.prefill"
PRESET_KEY = "preset."  # + role


VALIDATE_ON_LABELS = {"val": "Held-out validation split", "test": "Test set (notebook protocol, optimistic)"}
TEACHER_VIEW_LABELS = {"own": "Its own view", "student": "The student's words"}
OPTIMIZER_LABELS = {"adam": "Adam", "lazy_adam": "Lazy Adam (touched rows only)"}
#: How a registered dataset's raw texts become tokens (``data.standardize``, ``data.split``).
STANDARDIZE_LABELS = {"lower_and_strip_punctuation": "Lower-case, strip punctuation", "lower": "Lower-case only",
                      "strip_punctuation": "Strip punctuation only", "none": "As written"}
SPLIT_LABELS = {"whitespace": "Words (split at whitespace)", "character": "Characters"}


def teacher_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """Form values that must match a reused teacher: its family and sizes, the vocabulary and length it read."""
    values = form_values(config)
    family = values[form_key("teacher.family")]
    keep = ["teacher.family", *(f"teacher.{name}" for name in role_fields("teacher", family)), "data.vocab_size",
            "data.dataset", "data.standardize", "data.split"]  # the data it read, and how it read it
    out = {form_key(path): values[form_key(path)] for path in keep}
    data = config.get("data") or {}
    out[form_key("data.teacher_maxlen")] = data.get("teacher_maxlen") or data.get("maxlen")
    return out


#: Non-widget key: the teacher family the form showed last, so a switch knows where it came from.
FAMILY_SHOWN = "new_run.family_shown"


def field_help(path: str, family: str | None = DEFAULT_FAMILY) -> str:
    """The config field's own description, so the form's help and the schema never disagree.

    Teacher fields are described as the shown ``family`` defines them.
    """
    return field_description(path, family or DEFAULT_FAMILY)


def prepare_form_state(state: MutableMapping[str, Any], defaults: Mapping[str, Any] | None = None) -> str | None:
    """Give every New-run widget its value before the widgets are drawn.

    Order of precedence: a pending "new run from this one" (``state[PREFILL_KEY]``, consumed
    here), what the form held when the user last left the page (Streamlit drops a widget's
    state once its page is not shown), then RunConfig's defaults. Returns the id of the run
    the form was just pre-filled from, once, so the page can say so. ``defaults`` (widget key ->
    value, preset boxes included) replaces RunConfig's defaults: the page starts on a setup.
    """
    prefill = state.pop(PREFILL_KEY, None)
    if prefill is not None:
        values = form_values(prefill.get("config"))
        for key, value in values.items():
            state[key] = value
        for role in ("teacher", "student"):
            state[PRESET_KEY + role] = matching_preset(values, role)
        return prefill.get("from")
    stash = state.get(FORM_STASH) or {}
    given = {key: value for key, value in (defaults or {}).items() if key.startswith(FORM_PREFIX)}
    defaults = {**form_values(), **given}  # the preset boxes follow the sizes the form ends up with, below
    for key, value in defaults.items():
        if key not in state:
            state[key] = stash.get(key, value)
    for role in ("teacher", "student"):
        if PRESET_KEY + role not in state:
            state[PRESET_KEY + role] = matching_preset(state, role)
    return None


def stash_form(state: MutableMapping[str, Any]) -> None:
    """Remember the form's values under a non-widget key so they survive a page change."""
    state[FORM_STASH] = {key: state.get(key) for key in form_values()}


_MISSING = object()


def form_values(config: RunConfig | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Widget key -> value for every form field, from a config (default: RunConfig's defaults).

    Used to fill the form at first visit and for "new run from this one". A dict from an
    older run that lacks a field gets the value it meant then (:data:`LATER_FIELDS`), else the
    field's default, rather than an error; a field stored as None stays empty ("same as ...").
    """
    defaults = RunConfig().model_dump()
    for entry in FAMILIES.values():  # fields of the other families, for when the user switches
        defaults["teacher"] = {**entry.default_size.model_dump(), **defaults["teacher"]}
        defaults["student"] = {**STUDENT_DEFAULT_SIZES[entry.name].model_dump(), **defaults["student"]}
    given = config.model_dump() if isinstance(config, RunConfig) else dict(config or {})
    values: dict[str, Any] = {}
    for path in FIELD_LABELS:
        value = get_path(given, path, _MISSING)
        if value is _MISSING:
            value = LATER_FIELDS[path] if path in LATER_FIELDS else get_path(defaults, path)
        if path in _EMPTY_IS_NONE and value is None:
            value = ""  # not None: a selectbox holding None shows Streamlit's "Choose an option" placeholder
        values[form_key(path)] = list(value or []) if path in _LIST_WIDGETS else widget_value(value)
    return values


def _runs_here(values: Mapping[str, Any]) -> bool:
    """Whether the form's teacher source is a model in the worker, which can label augmented batches."""
    return (values.get(form_key("teacher_source.kind")) or "trained") in MODEL_SOURCES


def _submitted(path: str, values: Mapping[str, Any]) -> bool:
    """Whether a teacher-source field (or ``teacher_from``) belongs in the config for the kind the form shows."""
    kind = values.get(form_key("teacher_source.kind")) or "trained"
    if path == "teacher_from":
        return kind == "trained"  # an uploaded, soft-label or ensemble teacher is not an earlier run's own
    if path.startswith("teacher_source.") and path != "teacher_source.kind":
        return path.removeprefix("teacher_source.") in SOURCE_FIELDS.get(kind, ())
    return True


def config_dict_from_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nest the flat widget values back into RunConfig's shape (not yet validated)."""
    raw: dict[str, Any] = {}
    shown = {f"{role}.{name}" for role in ROLES for name in role_fields(role, role_family(values, role))}
    registered = (values.get(form_key("data.dataset")) or "imdb") != "imdb"
    for path in FIELD_LABELS:
        if path.startswith(("teacher.", "student.")) and not path.endswith(".family") and path not in shown:
            continue  # another family's field, kept in the form for switching back
        if registered and path == "data.path":
            continue  # IMDB's npz file: hidden (and kept for switching back) while a registered dataset is picked
        if not _submitted(path, values):
            continue
        value = values.get(form_key(path))
        if path.startswith("distill.augment_") and not _runs_here(values):
            value = 0.0  # off, said explicitly (unset, the family's recipe would fill it in): nothing labels it
        if path in _EMPTY_IS_NONE and (value is None or (isinstance(value, str) and not value.strip())):
            value = None
        elif isinstance(value, str) and path != "name":
            value = value.strip()
        node = raw
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return raw


def _split_problem(problem: str) -> tuple[str | None, str]:
    """``student.lstm_units: Input should be ...`` -> (the form field it is about or None, what is wrong)."""
    path, sep, rest = problem.partition(": ")
    named, _, said = rest.partition(" ")
    if path == "config" and named in FIELD_LABELS:  # a rule across fields that starts with the one to change
        path, rest = named, said
    elif path not in FIELD_LABELS and named.rstrip(":").startswith(f"{path}.") and named.rstrip(":") in FIELD_LABELS:
        path, rest = named.rstrip(":"), said  # a section's rule about one of its fields: under that field
    return (path if sep else None), (rest if sep else problem)


def label_problem(problem: str) -> str:
    """``student.lstm_units: Input should be ...`` -> ``Student · LSTM units: Input should be ...``.

    The dotted path stays in the message (in backticks) so it can be matched to a config file.
    """
    path, rest = _split_problem(problem)
    if path in FIELD_LABELS:
        return f"**{FIELD_LABELS[path]}** (`{path}`): {rest}"
    if path is not None:
        return f"`{path}`: {rest}"
    return problem


@dataclass(frozen=True)
class FormCheck:
    """The config the form describes (None while it has problems), each problem for the summary, and by field."""

    config: RunConfig | None
    problems: list[str]
    by_field: dict[str, list[str]]  #: config path -> what is wrong with it, to show under its widget


def check_form(values: Mapping[str, Any]) -> FormCheck:
    """Validate the form: the summary's problems worded for a person, and each one under the field it names."""
    try:
        return FormCheck(config_from_dict(config_dict_from_form(values)), [], {})
    except ConfigError as e:
        by_field: dict[str, list[str]] = {}
        for problem in e.problems:
            path, rest = _split_problem(problem)
            if path in FIELD_LABELS:
                by_field.setdefault(path, []).append(rest)
        return FormCheck(None, [label_problem(p) for p in e.problems], by_field)


def validate_form(values: Mapping[str, Any]) -> tuple[RunConfig | None, list[str]]:
    """The config the form describes, or None and every problem worded for a person."""
    check = check_form(values)
    return check.config, check.problems


@dataclass(frozen=True)
class SizeEstimate:
    teacher_params: int | None
    student_params: int | None

    @property
    def compression(self) -> float | None:
        if self.teacher_params and self.student_params:
            return self.teacher_params / self.student_params
        return None


def size_estimate(values: Mapping[str, Any], num_classes: int = 2) -> SizeEstimate:
    """Parameter counts of both models as the form stands, each None while its sizes are invalid.

    Computed per model, so a typo in the teacher does not hide the student's count;
    ``num_classes`` is the picked dataset's (each model has that many outputs).
    """
    raw = config_dict_from_form(values)
    vocab = raw.get("data", {}).get("vocab_size")

    def count(role: str) -> int | None:
        if not isinstance(vocab, int) or vocab < 1:
            return None
        try:
            return param_count(parse_size(role, raw.get(role, {})), vocab, num_classes)
        except (ValueError, TypeError):
            return None

    return SizeEstimate(count("teacher"), count("student"))
