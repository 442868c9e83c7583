"""The one validated description of a distillation experiment.

A :class:`RunConfig` is parsed and checked before anything runs (no TensorFlow import
needed), so a bad value is refused with a message naming the field and what is allowed
instead of surfacing as a traceback twenty minutes into training. It is frozen: what was
validated is what runs, and what runs is what ``config.json`` records.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

FAMILY_HELP = ("Model family: recurrent (the notebook's BiLSTM+BiGRU; every student), ngram (unigram + hashed "
               "bigram embeddings, averaged) or conv (parallel Conv1D widths, max-pooled). The student is "
               "always recurrent.")


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
    teacher_maxlen: int | None = Field(
        None, ge=1, le=5000,
        description="The teacher's own review length (empty: maxlen). Its logits are per review, so a teacher "
        "may read more of each review than the student.",
    )
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

    @property
    def teacher_length(self) -> int:
        return self.teacher_maxlen if self.teacher_maxlen is not None else self.maxlen

    @model_validator(mode="after")
    def _val_split_exists(self) -> DataConfig:
        if self.validate_on == "val" and self.val_fraction == 0.0:
            raise ValueError("data.val_fraction must be > 0 when data.validate_on is 'val' "
                             "(or set data.validate_on to 'test', the notebook's protocol)")
        return self


class RecurrentSize(_Strict):
    """Sizes of Embedding -> BiLSTM -> BiGRU -> Dense(2), the notebook's model and every student.

    Dropouts keep cuDNN eligibility: spatial dropout after the embedding and dropout before
    the classifier, never recurrent dropout (it rules cuDNN out and is about 25x slower).
    """

    family: Literal["recurrent"] = Field("recurrent", description=FAMILY_HELP)
    embedding_dim: int = Field(ge=1, le=4096, description="Embedding width.")
    lstm_units: int = Field(ge=1, le=4096, description="Units per direction of the bidirectional LSTM.")
    gru_units: int = Field(ge=1, le=4096, description="Units per direction of the bidirectional GRU.")
    embedding_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Spatial dropout after the embedding.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout before the classifier.")


class NgramSize(_Strict):
    """fastText-style bag of n-grams (Joulin et al. 2016): unigram and hashed-bigram embeddings, averaged.

    Why a teacher family: on IMDB it beats the recurrent teacher by about 4 points at a small
    fraction of its training time, which is what lets distillation pay. Word order enters only
    through the bigrams; the hashing costs collisions instead of a bigram vocabulary.
    """

    family: Literal["ngram"] = Field("ngram", description=FAMILY_HELP)
    embedding_dim: int = Field(64, ge=1, le=4096, description="Width of the unigram and bigram embeddings.")
    bigram_buckets: int = Field(2**18, ge=2, le=2**22,
                                description="Rows of the hashed-bigram table (row 0 is padding); more rows, fewer "
                                "collisions.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the averaged embedding, before the classifier.")


class ConvSize(_Strict):
    """Kim (2014)-style convolutional text model: parallel Conv1D widths, max over time, Dense(2)."""

    family: Literal["conv"] = Field("conv", description=FAMILY_HELP)
    embedding_dim: int = Field(64, ge=1, le=4096, description="Embedding width.")
    filters: int = Field(64, ge=1, le=4096, description="Filters per kernel width.")
    kernel_sizes: tuple[int, ...] = Field((3, 4, 5), min_length=1, max_length=8,
                                          description="Kernel widths in tokens, e.g. 3,4,5 (each 1 to 64).")
    embedding_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Spatial dropout after the embedding.")
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="Dropout before the classifier.")

    @field_validator("kernel_sizes", mode="before")
    @classmethod
    def _widths_from_text(cls, value: Any) -> Any:
        """``3,4,5`` from a form or ``--set`` means (3, 4, 5)."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("give kernel widths as whole numbers separated by commas, e.g. 3,4,5")
            return tuple(int(p) for p in parts)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("kernel_sizes")
    @classmethod
    def _widths_in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [w for w in value if not 1 <= w <= 64]
        if bad:
            raise ValueError(f"each kernel width must be between 1 and 64, not {', '.join(map(str, bad))}")
        return value


ModelSize = RecurrentSize | NgramSize | ConvSize
TEACHER_FAMILIES: dict[str, type[_Strict]] = {"recurrent": RecurrentSize, "ngram": NgramSize, "conv": ConvSize}


def family_of(size: Any) -> str:
    """The family a size (a model, a dict or a preset name) describes; no family field means recurrent."""
    if isinstance(size, str):
        preset = SIZE_PRESETS.get(size)
        return preset.family if preset is not None else size
    if isinstance(size, dict):
        return size.get("family") or "recurrent"
    return getattr(size, "family", "recurrent")


TeacherSize = Annotated[
    Annotated[RecurrentSize, Tag("recurrent")] | Annotated[NgramSize, Tag("ngram")] | Annotated[ConvSize, Tag("conv")],
    Discriminator(family_of),
]


class DistillConfig(_Strict):
    alpha: float = Field(
        0.1, ge=0.0, le=1.0, description="Weight of the hard-label loss; 1 - alpha weights the teacher's soft targets."
    )
    temperature: float = Field(
        10.0, gt=0.0, le=1000.0, description="Softens both models' outputs; higher shows more of the teacher's doubt."
    )
    scale_t2: bool = Field(True, description="Multiply the soft loss by T^2 (Hinton et al. 2015). Off: notebook parity.")
    teacher_view: Literal["own", "student"] = Field(
        "own", description="What the teacher reads when it makes the soft targets: its own view (data.teacher_maxlen "
        "tokens) or the student's (data.maxlen tokens, the same words the student sees: a consistent teacher, Beyer "
        "et al. 2022). Only differs when the teacher reads longer reviews than the student.")
    augment_window: float = Field(
        0.0, ge=0.0, le=1.0, description="Transfer-set augmentation (Tang et al. 2019): the chance that the student "
        "is shown a random stretch of data.maxlen tokens from the teacher's longer view of a review instead of its "
        "last data.maxlen tokens, drawn anew each epoch (only when data.teacher_maxlen is above data.maxlen, and "
        "for reviews longer than data.maxlen). The teacher labels exactly those tokens on every step (no "
        "cached targets); the scratch student sees the same reviews with their true labels, so the gain measures the "
        "teacher, not the augmentation. 0: off.")
    augment_mask: float = Field(
        0.0, ge=0.0, le=0.5, description="Transfer-set augmentation: the chance that each word the student is shown "
        "becomes the unknown-word token, drawn anew each epoch; the teacher labels the masked review, the scratch "
        "student sees it with its true label. 0: off.")

    @property
    def augmented(self) -> bool:
        """Whether the distilled student trains on altered reviews that the teacher labels as it goes."""
        return self.augment_window > 0.0 or self.augment_mask > 0.0


class TrainConfig(_Strict):
    epochs: int = Field(3, ge=1, le=1000, description="Epochs for the student and scratch arms.")
    teacher_epochs: int | None = Field(None, ge=1, le=1000, description="Epochs for the teacher (empty: same as epochs).")
    batch_size: int = Field(32, ge=1, le=65536, description="Training batch size.")
    teacher_batch_size: int | None = Field(
        None, ge=1, le=65536, description="Training batch size for the teacher (empty: same as batch_size).")
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0, description="Adam learning rate.")
    teacher_learning_rate: float | None = Field(
        None, gt=0.0, le=10.0, description="Learning rate for the teacher (empty: same as learning_rate).")
    teacher_optimizer: Literal["adam", "lazy_adam"] = Field(
        "adam", description="How the teacher trains. adam: Keras' Adam, as every other arm. lazy_adam: Adam that "
        "updates only the embedding rows a batch touched (TensorFlow; on JAX it is Adam): the n-gram teacher's "
        "big bigram table trains about 2.5x faster per epoch on a CPU.")
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

    @property
    def teacher_rate(self) -> float:
        return self.teacher_learning_rate if self.teacher_learning_rate is not None else self.learning_rate

    @property
    def teacher_batch(self) -> int:
        return self.teacher_batch_size if self.teacher_batch_size is not None else self.batch_size


# Presets: the notebook's two models, the other teacher families' defaults, and small ones for tests.
NOTEBOOK_TEACHER = RecurrentSize(embedding_dim=128, lstm_units=64, gru_units=128)
NOTEBOOK_STUDENT = RecurrentSize(embedding_dim=64, lstm_units=32, gru_units=32)
TINY = RecurrentSize(embedding_dim=8, lstm_units=4, gru_units=4)
SIZE_PRESETS: dict[str, ModelSize] = {
    "notebook-teacher": NOTEBOOK_TEACHER,
    "notebook-student": NOTEBOOK_STUDENT,
    "tiny": TINY,
    "ngram": NgramSize(),
    "conv": ConvSize(),
    "tiny-ngram": NgramSize(embedding_dim=8, bigram_buckets=64),
    "tiny-conv": ConvSize(embedding_dim=8, filters=4, kernel_sizes=(2, 3)),
}

#: The sizes a teacher gets when its family is chosen without sizes.
FAMILY_DEFAULT_SIZES: dict[str, ModelSize] = {"recurrent": NOTEBOOK_TEACHER, "ngram": SIZE_PRESETS["ngram"],
                                              "conv": SIZE_PRESETS["conv"]}

#: What switching the teacher to a family brings along unless the user sets it: the settings
#: measured best for that family (bench/results/accuracy*.md). A config without a family is a
#: recurrent one, so the recurrent recipe is also RunConfig's default: the notebook's settings,
#: except the teacher's learning rate.
FAMILY_RECIPES: dict[str, dict[str, Any]] = {
    # bench/results/accuracy-teacher-lr.md: at Adam's 1e-3 the notebook's teacher peaked after one
    # epoch at 85.27 ± 0.62% over 3 seeds; at 3e-4, 86.96 ± 0.08% (every seed above 86%), and its
    # students gained +0.61 over scratch (95% interval ±1.87) where the 1e-3 teacher's lost 0.86.
    "recurrent": {"data.teacher_maxlen": None, "train.teacher_epochs": None, "train.teacher_optimizer": "adam",
                  "train.teacher_learning_rate": 3e-4, "train.epochs": 3,
                  "distill.alpha": 0.1, "distill.temperature": 10.0, "distill.teacher_view": "own",
                  "distill.augment_window": 0.0, "distill.augment_mask": 0.0},
    # bench/results/accuracy-ngram*.md: teacher 89.95% at its 3rd of 4 epochs (Adam). Of alpha/T
    # in {0.1, 0.5} x {2, 5, 10} (seed 0), 0.5/10 had the best student validation accuracy; over 3
    # seeds, targets made from the student's words beat the teacher's own view on validation
    # (88.24% against 87.79% mean) and on test (87.24% against 87.05%). LazyAdam (ngram_teacher.md,
    # accuracy-ngram-lazy.md): 50 s per epoch instead of 124, teacher 90.08%, students +0.46 ± 0.39.
    # Augmented transfer set (accuracy-ngram-augment*.md, 3 seeds): at alpha 0.1 the students reach
    # 87.53 ± 0.02% (the best and steadiest of every setting measured) against 86.92 ± 0.37% for
    # scratch twins on the same altered reviews, 86.68 ± 0.61% on plain ones; alpha 0.5 did worse.
    # A stronger set (accuracy-ngram-augment-e5.md: window 1.0, mask 0.2, 5 student epochs, of which
    # 2 of 3 seeds kept the 5th) lifted them to 87.83 ± 0.28% (validation 89.21% against 88.55%), +1.19
    # over their twins (86.64 ± 0.90%; 95% interval ±1.56), +1.15 over the plain scratch students.
    "ngram": {"data.teacher_maxlen": 400, "train.teacher_epochs": 4, "train.teacher_optimizer": "lazy_adam",
              "train.teacher_learning_rate": None, "train.epochs": 5,
              "distill.alpha": 0.1, "distill.temperature": 10.0, "distill.teacher_view": "student",
              "distill.augment_window": 1.0, "distill.augment_mask": 0.2},
    "conv": {"data.teacher_maxlen": 400, "train.teacher_epochs": 4, "train.teacher_optimizer": "adam",
             "train.teacher_learning_rate": None, "train.epochs": 3,
             "distill.alpha": 0.1, "distill.temperature": 10.0, "distill.teacher_view": "own",
             "distill.augment_window": 0.0, "distill.augment_mask": 0.0},
}


def _set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, BaseModel):
            child = child.model_dump()
        if not isinstance(child, dict):
            child = {}
        node[part] = child = dict(child)
        node = child
    node[parts[-1]] = value


def get_path(tree: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path (``train.seed``) of nested dicts or models; ``default`` where it is missing."""
    node: Any = tree
    for part in path.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, part, default)
        elif isinstance(node, dict):
            node = node.get(part, default)
        else:
            return default
    return node


def _is_set(tree: dict[str, Any], path: str) -> bool:
    """Whether ``path`` was given (a model section counts the fields it was built with).

    A section that is present but neither a mapping nor a model (``data: null``) counts as
    given: validation reports it.
    """
    section, _, name = path.partition(".")
    if section not in tree:
        return False
    node = tree[section]
    if isinstance(node, BaseModel):
        return name in node.model_fields_set
    if isinstance(node, dict):
        return name in node
    return True


def _recipe_value(path: str, value: Any, maxlen: Any) -> Any:
    """A recipe's value as it applies next to ``data.maxlen``: a teacher never reads less than the student."""
    if path == "data.teacher_maxlen" and value is not None and isinstance(maxlen, int):
        return max(value, maxlen)
    return value


_UNSET = object()


AUGMENT_FIELDS = ("distill.augment_window", "distill.augment_mask")


def switched_recipe(previous: str, family: str, current: dict[str, Any], maxlen_before: Any, maxlen_now: Any,
                    given: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Recipe fields (path -> value) that a switch of the teacher from ``previous`` to ``family`` sets.

    A field set explicitly (``given``) or no longer at the value the previous family's recipe
    gave it is the user's and stays; the others follow the new family. One rule for the
    command line (``apply_overrides``) and the New-run form.
    """
    before = FAMILY_RECIPES.get(previous, {})
    out: dict[str, Any] = {}
    for path, value in FAMILY_RECIPES.get(family, {}).items():
        now = current.get(path, _UNSET)
        if path in given or (path in before and now is not _UNSET
                             and now != _recipe_value(path, before[path], maxlen_before)):
            continue
        out[path] = _recipe_value(path, value, maxlen_now)
    return _views_agree(out, current)


def _views_agree(out: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Where a recipe's value meets the user's, make augmentation and the teacher's view fit together.

    Augmented batches are labelled by the teacher from the student's words: a recipe's own
    view gives way to augmentation the user keeps, and a recipe's augmentation to the own
    view the user keeps. Two values of the user's that conflict are left for validation.
    """
    def now(path: str) -> Any:
        return out[path] if path in out else current.get(path, _UNSET)

    if now("distill.teacher_view") != "own" or not any(now(p) not in (None, _UNSET, 0) for p in AUGMENT_FIELDS):
        return out
    if "distill.teacher_view" in out:
        out["distill.teacher_view"] = "student"
    else:
        out.update({p: 0.0 for p in AUGMENT_FIELDS if p in out})
    return out


class RunConfig(_Strict):
    name: str = Field("", max_length=200, description="Free-text label shown in the dashboard.")
    data: DataConfig = DataConfig()
    teacher: TeacherSize = NOTEBOOK_TEACHER
    student: RecurrentSize = NOTEBOOK_STUDENT
    distill: DistillConfig = DistillConfig()
    train: TrainConfig = TrainConfig()
    teacher_from: str | None = Field(
        None, description="Reuse the teacher of this earlier run id instead of training one."
    )

    @model_validator(mode="before")
    @classmethod
    def _family_recipe(cls, raw: Any) -> Any:
        """A teacher family's measured settings fill whatever the config leaves unset."""
        if not isinstance(raw, dict):
            return raw
        recipe = FAMILY_RECIPES.get(family_of(raw.get("teacher") or {}))
        if not recipe:
            return raw
        out = dict(raw)
        filled = {path: _recipe_value(path, value, get_path(out, "data.maxlen")) for path, value in recipe.items()
                  if not _is_set(out, path)}
        given = {path: get_path(raw, path) for path in ("distill.teacher_view", *AUGMENT_FIELDS) if _is_set(raw, path)}
        for path, value in _views_agree(filled, given).items():
            _set_path(out, path, value)
        return out

    @model_validator(mode="after")
    def _augmentation_fits(self) -> RunConfig:
        d = self.distill
        if d.augmented and d.teacher_view != "student" and self.data.teacher_length != self.data.maxlen:
            raise ValueError("distill.teacher_view must be 'student' (\"The student's words\") when "
                             "distill.augment_window or distill.augment_mask is above 0 and the teacher reads longer "
                             "reviews: the teacher labels the very tokens the student is shown. For the teacher's own "
                             "view, set both augmentation chances to 0")
        return self

    def augmentation(self) -> tuple[float, float]:
        """(window, mask) chances as they act: a window needs a teacher that reads more than the student."""
        window = self.distill.augment_window if self.data.teacher_length > self.data.maxlen else 0.0
        return window, self.distill.augment_mask

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
        reuses the first's weights. Not its soft targets: those also depend on what the teacher
        reads to make them (``distill.teacher_view``), so each run computes its own.
        """
        d = self.data
        t = self.train
        material = {
            "teacher": self.teacher.model_dump(),
            "data": {"maxlen": d.teacher_length,
                     **{k: getattr(d, k) for k in ("vocab_size", "train_limit", "val_fraction", "validate_on")}},
            "data_file": _file_identity(d.path),
            "train": {
                "epochs": t.teacher_epoch_count, "batch_size": t.teacher_batch, "learning_rate": t.teacher_rate,
                **{k: getattr(t, k) for k in ("seed", "keep_best", "monitor", "patience", "mixed_precision")},
            },
        }
        if d.validate_on == "test":
            material["data"]["test_limit"] = d.test_limit
        if t.teacher_optimizer != "adam":  # only then: the keys of teachers cached before the field stay valid
            material["train"]["optimizer"] = t.teacher_optimizer
        blob = json.dumps(material, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def scratch_key(self, seed_index: int) -> str:
        """Hash of everything that determines the scratch student of one seed (not the teacher, alpha or T).

        A sweep over alpha and T, or over teachers, trains the same scratch baseline again and
        again; runs with equal keys reuse the first one's result, which is also what makes
        their paired comparison exact: same initial weights, same data order, same model.
        """
        d, t = self.data, self.train
        material = {
            "student": self.student.model_dump(),
            "data": {k: getattr(d, k) for k in ("vocab_size", "maxlen", "train_limit", "test_limit", "val_fraction",
                                                 "validate_on")},
            "data_file": _file_identity(d.path),
            "train": {k: getattr(t, k) for k in ("epochs", "batch_size", "learning_rate", "seed", "keep_best",
                                                  "monitor", "patience", "mixed_precision", "jit_compile",
                                                  "eval_batch_size")},
            "seed_index": seed_index,
        }
        window, mask = self.augmentation()
        if window or mask:  # the scratch twin sees the same altered reviews (only then: older keys hold)
            material["augment"] = {"window": window, "mask": mask,
                                   **({"from_length": d.teacher_length} if window else {})}
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]

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
    """Parameters of the classifier, equal to Keras' count, without importing TensorFlow."""
    e = size.embedding_dim
    if isinstance(size, NgramSize):
        # unigram table V*E, bigram table B*E, Dense(2) on the E-wide average
        return vocab_size * e + size.bigram_buckets * e + 2 * e + 2
    if isinstance(size, ConvSize):
        # embedding V*E; per width k a Conv1D of k*E*F weights + F biases; Dense(2) on the pooled k-count*F
        convs = sum(k * e * size.filters + size.filters for k in size.kernel_sizes)
        return vocab_size * e + convs + 2 * len(size.kernel_sizes) * size.filters + 2
    # Embedding V*E; each LSTM direction 4*(in*u + u*u + u); each GRU direction (reset_after, Keras'
    # default and the cuDNN layout) 3*(in*u + u*u) + 2*3*u; Dense(2) on 2*gru + bias.
    lu, gu = size.lstm_units, size.gru_units
    embedding = vocab_size * e
    lstm = 2 * 4 * (e * lu + lu * lu + lu)
    gru_in = 2 * lu
    gru = 2 * (3 * (gru_in * gu + gu * gu) + 2 * 3 * gu)
    dense = 2 * gu * 2 + 2
    return embedding + lstm + gru + dense


# -- building configs from files, dicts and --set overrides -----------------------------


def _describe(error: dict[str, Any]) -> str:
    parts = [str(p) for p in error["loc"]]
    if len(parts) > 1 and parts[0] == "teacher" and parts[1] in TEACHER_FAMILIES:
        del parts[1]  # pydantic's union tag: `teacher.ngram.embedding_dim` -> `teacher.embedding_dim`
    loc = ".".join(parts) or "config"
    msg = error["msg"]
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"{loc}.family: unknown family {error['ctx']['tag']!r}; allowed: {', '.join(TEACHER_FAMILIES)}"
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


#: Fields added after runs were stored, with the value that reproduces a run stored without them.
#: A stored config (the database, a run's config.json) was complete when written, so a field it
#: lacks means "before the field existed", not "unset, let the family's recipe fill it in".
LATER_FIELDS: dict[str, Any] = {"distill.teacher_view": "own", "train.teacher_optimizer": "adam",
                                "train.teacher_batch_size": None, "train.teacher_learning_rate": None,
                                "distill.augment_window": 0.0, "distill.augment_mask": 0.0}


def stored_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a config that a run stored, giving the fields it predates their old meaning.

    Without this, an n-gram run queued before ``train.teacher_optimizer`` existed would resume
    with the recipe's LazyAdam on top of its Adam-trained checkpoint, and publish that mixed
    teacher under the LazyAdam teacher's cache key.
    """
    if not isinstance(raw, dict):
        return config_from_dict(raw)
    out = dict(raw)  # _set_path copies each section it writes into
    for path, value in LATER_FIELDS.items():
        if not _is_set(out, path):
            _set_path(out, path, value)
    return config_from_dict(out)


def _expand_presets(raw: dict[str, Any]) -> dict[str, Any]:
    """Let ``teacher: tiny`` stand for the preset's sizes."""
    out = dict(raw)
    for role in ("teacher", "student"):
        value = out.get(role)
        if isinstance(value, str):
            out[role] = _preset(role, value).model_dump()
    return out


def _preset(role: str, name: str) -> ModelSize:
    allowed = [n for n, size in SIZE_PRESETS.items() if role == "teacher" or size.family == "recurrent"]
    if name not in allowed:
        raise ConfigError([f"{role}: unknown preset {name!r}; allowed: {', '.join(allowed)}"])
    return SIZE_PRESETS[name]


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
    """Apply ``section.field=value`` strings (values parsed as YAML scalars) and revalidate.

    Overrides that pick the teacher (``teacher=ngram``, ``teacher.family=conv``) go first, so
    order does not matter (two that disagree are refused). A new family starts from its default
    sizes and brings its recipe (:data:`FAMILY_RECIPES`) for every recipe field that neither an
    override nor the config set: a field still at the previous family's recipe value follows
    the new family, one the user changed stays.
    """
    raw = config.model_dump() if isinstance(config, RunConfig) else dict(config)
    problems: list[str] = []
    parsed: list[tuple[list[str], Any]] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r}: expected section.field=value, e.g. distill.alpha=0.5")
            continue
        parsed.append((key.strip().split("."), _parse_value(value)))
    if problems:
        raise ConfigError(problems)
    family_before = family_of(raw.get("teacher") or {})
    before = copy.deepcopy(raw)  # what the previous family's recipe gave, before data.maxlen changes
    parsed.sort(key=lambda kv: kv[0] not in (["teacher"], ["teacher", "family"]))
    chosen = {family_of(value) if parts == ["teacher"] else value for parts, value in parsed
              if parts in (["teacher"], ["teacher", "family"]) and isinstance(value, str)}
    if len(chosen) > 1:
        raise ConfigError([f"teacher: the overrides choose different families ({', '.join(sorted(chosen))}); "
                           "choose one"])
    for parts, value in parsed:
        if parts == ["teacher", "family"] and value != family_of(raw.get("teacher") or {}):
            default = FAMILY_DEFAULT_SIZES.get(value)  # the new family's default sizes
            raw["teacher"] = default.model_dump() if default is not None else {"family": value}
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if depth == 0 and part in ("teacher", "student") and isinstance(child, str):
                child = _preset(part, child).model_dump()  # `teacher=tiny` then `teacher.gru_units=8`
                node[part] = child
            if isinstance(child, BaseModel):
                child = child.model_dump()
                node[part] = child
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    family_after = family_of(raw.get("teacher") or {})
    if family_after != family_before:
        current = {path: get_path(raw, path, _UNSET) for path in FAMILY_RECIPES.get(family_after, {})}
        changes = switched_recipe(family_before, family_after, {k: v for k, v in current.items() if v is not _UNSET},
                                  get_path(before, "data.maxlen"), get_path(raw, "data.maxlen"),
                                  given={".".join(parts) for parts, _ in parsed})
        for path, value in changes.items():
            _set_path(raw, path, value)
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
    """Every field with its default and constraints, for the README and ``kdcore schema``.

    The teacher's fields are listed per family, ``teacher.filters (conv)``, with that family's defaults.
    """
    rows: list[dict[str, Any]] = []
    defaults = RunConfig().model_dump()

    def walk(model: type[BaseModel], prefix: str, defaults_here: dict[str, Any], family: str = "") -> None:
        for name, field in model.model_fields.items():
            if model is RunConfig and name == "teacher":
                for fam, cls in TEACHER_FAMILIES.items():
                    here = defaults["teacher"] if fam == "recurrent" else SIZE_PRESETS[fam].model_dump()
                    walk(cls, "teacher.", here, fam)
                continue
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.", defaults_here.get(name, {}))
                continue
            if name == "family" and family:
                if family == "recurrent":  # one row for the choice itself
                    rows.append({"field": "teacher.family", "default": "recurrent",
                                 "allowed": f"one of {list(TEACHER_FAMILIES)}", "description": field.description})
                continue
            limits = [f"{_BOUND_SYMBOLS[type(m).__name__]} {getattr(m, type(m).__name__.lower())}"
                      for m in field.metadata if type(m).__name__ in _BOUND_SYMBOLS]
            rows.append({
                "field": prefix + name + (f" ({family})" if family else ""),
                "default": defaults_here.get(name),
                "allowed": ", ".join(limits) if limits else _type_name(annotation),
                "description": field.description or "",
            })

    walk(RunConfig, "", defaults)
    return rows
