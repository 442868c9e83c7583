"""The one validated description of a distillation experiment.

A :class:`RunConfig` is parsed and checked before anything runs (no TensorFlow import
needed), so a bad value is refused with a message naming the field and what is allowed
instead of surfacing as a traceback twenty minutes into training. It is frozen: what was
validated is what runs, and what runs is what ``config.json`` records.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A config that cannot run; ``str()`` lists every bad field and what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    """Frozen, no unknown keys. Lax on types on purpose: ``"3"`` from a form or ``--set`` means 3."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)


class DataConfig(_Strict):
    path: str | None = Field(
        None,
        description="IMDB file in Keras' npz layout. Empty: $KDCORE_IMDB_PATH, else the Keras cache "
        "(~/.keras/datasets/imdb.npz), else Keras' download.",
    )
    vocab_size: int = Field(20000, ge=4, le=1_000_000, description="Keep the most frequent words (num_words).")
    maxlen: int = Field(200, ge=1, le=5000, description="Pad/truncate each review to this many tokens (at the front).")
    train_limit: int | None = Field(None, ge=10, description="Use only the first N training reviews (quick runs).")
    test_limit: int | None = Field(None, ge=1, description="Use only the first N test reviews (quick runs).")
    val_fraction: float = Field(
        0.1, ge=0.0, lt=0.5, description="Share of the training set held out, stratified, for validation curves."
    )
    validate_on: Literal["val", "test"] = Field(
        "val",
        description="'val': curves and best-epoch choice use the held-out split. 'test': the notebook's "
        "protocol, validating on the test set (optimistic; for comparison only).",
    )

    @model_validator(mode="after")
    def _val_split_exists(self) -> DataConfig:
        if self.validate_on == "val" and self.val_fraction == 0.0:
            raise ValueError("data.val_fraction must be > 0 when data.validate_on is 'val' "
                             "(or set data.validate_on to 'test', the notebook's protocol)")
        return self


class ModelSize(_Strict):
    """Sizes of Embedding -> BiLSTM -> BiGRU -> Dense(2). Dropouts keep cuDNN eligibility."""

    embedding_dim: int = Field(ge=1, le=4096, description="Embedding width.")
    lstm_units: int = Field(ge=1, le=4096, description="Units per direction of the bidirectional LSTM.")
    gru_units: int = Field(ge=1, le=4096, description="Units per direction of the bidirectional GRU.")
    embedding_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Spatial dropout after the embedding.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout before the classifier.")


class DistillConfig(_Strict):
    alpha: float = Field(
        0.1, ge=0.0, le=1.0, description="Weight of the hard-label loss; 1 - alpha weights the teacher's soft targets."
    )
    temperature: float = Field(
        10.0, gt=0.0, le=1000.0, description="Softens both models' outputs; higher shows more of the teacher's doubt."
    )
    scale_t2: bool = Field(True, description="Multiply the soft loss by T^2 (Hinton et al. 2015). Off: notebook parity.")


class TrainConfig(_Strict):
    epochs: int = Field(3, ge=1, le=1000, description="Epochs for the student and scratch arms.")
    teacher_epochs: int | None = Field(None, ge=1, le=1000, description="Epochs for the teacher (empty: same as epochs).")
    batch_size: int = Field(32, ge=1, le=65536, description="Training batch size.")
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0, description="Adam learning rate.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seeds weights, validation split and shuffling.")
    train_scratch: bool = Field(True, description="Also train the student from scratch (the baseline).")
    seeds: int = Field(1, ge=1, le=20, description="Repeat student and scratch over this many seeds (one teacher).")
    keep_best: bool = Field(True, description="Each arm keeps the weights of its best validation epoch.")
    monitor: Literal["val_loss", "val_accuracy"] = Field("val_loss", description="What 'best epoch' means.")
    patience: int | None = Field(None, ge=1, le=1000, description="Early stopping after N epochs without improvement.")
    mixed_precision: Literal["off", "float16", "bfloat16"] = Field(
        "off", description="Compute dtype; logits and softmax stay float32."
    )
    jit_compile: Literal["auto", "on", "off"] = Field(
        "auto", description="XLA compilation. auto: off on a CPU (XLA was about 2x slower for these RNNs on "
        "the benchmark CPU), Keras' choice on a GPU (cuDNN RNNs cannot be compiled)."
    )
    eval_batch_size: int = Field(256, ge=1, le=65536, description="Batch for evaluation and teacher logits.")

    @field_validator("jit_compile", "mixed_precision", mode="before")
    @classmethod
    def _yaml_off_is_false(cls, value: Any) -> Any:
        """YAML 1.1 reads a bare ``off``/``on`` as a boolean; take it as the word that was meant."""
        return {False: "off", True: "on"}.get(value, value) if isinstance(value, bool) else value

    @property
    def teacher_epoch_count(self) -> int:
        return self.teacher_epochs if self.teacher_epochs is not None else self.epochs


# Presets: the notebook's two models and one small enough for tests on a CPU.
NOTEBOOK_TEACHER = ModelSize(embedding_dim=128, lstm_units=64, gru_units=128)
NOTEBOOK_STUDENT = ModelSize(embedding_dim=64, lstm_units=32, gru_units=32)
TINY = ModelSize(embedding_dim=8, lstm_units=4, gru_units=4)
SIZE_PRESETS: dict[str, ModelSize] = {
    "notebook-teacher": NOTEBOOK_TEACHER,
    "notebook-student": NOTEBOOK_STUDENT,
    "tiny": TINY,
}


class RunConfig(_Strict):
    name: str = Field("", max_length=200, description="Free-text label shown in the dashboard.")
    data: DataConfig = DataConfig()
    teacher: ModelSize = NOTEBOOK_TEACHER
    student: ModelSize = NOTEBOOK_STUDENT
    distill: DistillConfig = DistillConfig()
    train: TrainConfig = TrainConfig()
    teacher_from: str | None = Field(
        None, description="Reuse the teacher of this earlier run id instead of training one."
    )

    # -- derived -----------------------------------------------------------------
    def teacher_params(self) -> int:
        return param_count(self.teacher, self.data.vocab_size)

    def student_params(self) -> int:
        return param_count(self.student, self.data.vocab_size)

    def compression(self) -> float:
        """How many times smaller the student is than the teacher."""
        return self.teacher_params() / self.student_params()

    def teacher_key(self) -> str:
        """Hash of everything that determines the trained teacher (not alpha, T or the student).

        Two runs with equal keys would train bit-for-bit the same teacher, so the second
        reuses the first's weights and cached logits.
        """
        d = self.data
        t = self.train
        material = {
            "teacher": self.teacher.model_dump(),
            "data": {k: getattr(d, k) for k in ("vocab_size", "maxlen", "train_limit", "val_fraction", "validate_on")},
            "data_file": _file_identity(d.path),
            "train": {
                "epochs": t.teacher_epoch_count,
                **{k: getattr(t, k) for k in ("batch_size", "learning_rate", "seed", "keep_best", "monitor",
                                               "patience", "mixed_precision")},
            },
        }
        if d.validate_on == "test":
            material["data"]["test_limit"] = d.test_limit
        blob = json.dumps(material, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    # -- I/O ---------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")


def _file_identity(path: str | None) -> str | None:
    """Name and size of the data file: a different file must not reuse a teacher."""
    if not path:
        return None
    p = Path(path).expanduser()
    try:
        return f"{p.name}:{p.stat().st_size}"
    except OSError:
        return p.name


def param_count(size: ModelSize, vocab_size: int) -> int:
    """Parameters of the classifier, equal to Keras' count, without importing TensorFlow.

    Embedding V*E; each LSTM direction 4*(in*u + u*u + u); each GRU direction (reset_after,
    Keras' default and the cuDNN layout) 3*(in*u + u*u) + 2*3*u; Dense(2) on 2*gru + bias.
    """
    e, lu, gu = size.embedding_dim, size.lstm_units, size.gru_units
    embedding = vocab_size * e
    lstm = 2 * 4 * (e * lu + lu * lu + lu)
    gru_in = 2 * lu
    gru = 2 * (3 * (gru_in * gu + gu * gu) + 2 * 3 * gu)
    dense = 2 * gu * 2 + 2
    return embedding + lstm + gru + dense


# -- building configs from files, dicts and --set overrides -----------------------------


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"]) or "config"
    msg = error["msg"]
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown field (check the spelling; `python -m kdcore schema` lists every field)"
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return f"{loc}: {msg}{shown}"


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    """Validate a plain dict (from YAML, JSON, a form) into a RunConfig or raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError([f"config: must be a mapping of fields, got {type(raw).__name__}"])
    raw = _expand_presets(raw)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError([_describe(err) for err in e.errors()]) from e


def _expand_presets(raw: dict[str, Any]) -> dict[str, Any]:
    """Let ``teacher: tiny`` stand for the preset's sizes."""
    out = dict(raw)
    for role in ("teacher", "student"):
        value = out.get(role)
        if isinstance(value, str):
            if value not in SIZE_PRESETS:
                raise ConfigError([f"{role}: unknown preset {value!r}; allowed: {', '.join(SIZE_PRESETS)}"])
            out[role] = SIZE_PRESETS[value].model_dump()
    return out


def load_config(path: str | Path) -> RunConfig:
    """Read YAML or JSON (JSON is YAML) and validate it."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError([f"config file {str(p)!r}: cannot be read ({e.strerror})"]) from e
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError([f"config file {str(p)!r}: not valid YAML/JSON ({e})"]) from e
    return config_from_dict(raw)


def apply_overrides(config: RunConfig | dict[str, Any], overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` strings (values parsed as YAML scalars) and revalidate."""
    raw = config.model_dump() if isinstance(config, RunConfig) else dict(config)
    problems: list[str] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r}: expected section.field=value, e.g. distill.alpha=0.5")
            continue
        parts = key.strip().split(".")
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if depth == 0 and part in ("teacher", "student") and isinstance(child, str) and child in SIZE_PRESETS:
                child = SIZE_PRESETS[child].model_dump()  # `teacher=tiny` then `teacher.gru_units=8`
                node[part] = child
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = _parse_value(value)
    if problems:
        raise ConfigError(problems)
    return config_from_dict(raw)


def _parse_value(text: str) -> Any:
    """A YAML scalar (``0.5``, ``true``, ``null``), or the text itself.

    Only text that starts like a YAML collection becomes one, so a run name such as
    ``alpha: 0.5 run`` stays a string instead of turning into a mapping.
    """
    if not text.strip():
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (dict, list)) and not text.lstrip().startswith(("{", "[")):
        return text
    return value


def _type_name(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
    return text.replace(" | None", " or empty").replace("Literal[", "one of [")


_BOUND_SYMBOLS = {"Ge": ">=", "Gt": ">", "Le": "<=", "Lt": "<"}


def field_reference() -> list[dict[str, Any]]:
    """Every field with its default and constraints, for the README and ``kdcore schema``."""
    rows: list[dict[str, Any]] = []
    defaults = RunConfig().model_dump()

    def walk(model: type[BaseModel], prefix: str, defaults_here: dict[str, Any]) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.", defaults_here.get(name, {}))
                continue
            limits = [f"{_BOUND_SYMBOLS[type(m).__name__]} {getattr(m, type(m).__name__.lower())}"
                      for m in field.metadata if type(m).__name__ in _BOUND_SYMBOLS]
            rows.append({
                "field": prefix + name,
                "default": defaults_here.get(name),
                "allowed": ", ".join(limits) if limits else _type_name(annotation),
                "description": field.description or "",
            })

    walk(RunConfig, "", defaults)
    return rows
