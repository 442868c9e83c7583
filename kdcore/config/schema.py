"""The schema of a run: its sections and :class:`RunConfig`, each field with its limits and its meaning.

A :class:`RunConfig` is parsed and checked before anything runs (no TensorFlow import
needed), so a bad value is refused with a message naming the field and what is allowed
instead of surfacing as a traceback twenty minutes into training. It is frozen: what was
validated is what runs, and what runs is what ``config.json`` records.
"""

from __future__ import annotations

import functools
import operator
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from kdcore.config.base import StrictModel
from kdcore.config.families import (
    DEFAULT_FAMILY,
    FAMILIES,
    NOTEBOOK_STUDENT,
    family_of,
    param_count,
)
from kdcore.config.keys import digest, scratch_material, teacher_material
from kdcore.config.recipes import with_recipe
from kdcore.config.report import ReportConfig
from kdcore.config.teacher_source import TeacherSourceConfig
from kdcore.paths import validate_run_id

#: float32 weights plus Adam's two moments: what training a parameter holds in memory, at least.
TRAINING_BYTES_PER_PARAM = 4 * 3
#: Above this estimate a config gets a warning (:meth:`RunConfig.warnings`).
MEMORY_WARNING_BYTES = 8 * 10**9


#: The id ``kdcore dataset add`` gives a registered dataset: 16 hex digits of its content's hash.
DATASET_ID_PATTERN = r"[0-9a-f]{16}"


class DataConfig(StrictModel):
    dataset: str = Field(
        "imdb",
        description="'imdb' (built in: Keras' npz, token ids) or the id of a registered dataset (kdcore dataset "
        "list): raw texts, tokenised by a TextVectorization fitted on its training split.",
    )
    standardize: Literal["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"] = Field(
        "lower_and_strip_punctuation",
        description="How a registered dataset's texts are normalised before splitting into tokens (TextVectorization).",
    )
    split: Literal["whitespace", "character"] = Field(
        "whitespace", description="How a registered dataset's texts are split into tokens: words, or characters.")
    path: str | None = Field(
        None,
        description="IMDB file in Keras' npz layout. Empty: $KDCORE_IMDB_PATH, else the Keras cache "
        "(~/.keras/datasets/imdb.npz), else Keras' download.",
    )
    vocab_size: int = Field(20000, ge=4, le=1_000_000, description="Keep the most frequent words (num_words).")
    maxlen: int = Field(
        200, ge=1, le=5000, description="Pad/truncate each text to this many tokens (IMDB: its last tokens, padded "
        "in front, as Keras does; a registered dataset: its first tokens, padded at the end).")
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

    @field_validator("dataset")
    @classmethod
    def _dataset_is_imdb_or_an_id(cls, value: str) -> str:
        if value != "imdb" and not re.fullmatch(DATASET_ID_PATTERN, value):
            raise ValueError(f"{value!r} is neither 'imdb' nor a registered dataset's id (16 hex digits, "
                             "as `kdcore dataset list` shows them)")
        return value

    @property
    def registered(self) -> bool:
        """Whether the data is a registered dataset of raw texts (not the built-in IMDB token ids)."""
        return self.dataset != "imdb"

    @model_validator(mode="after")
    def _path_is_imdb_only(self) -> DataConfig:
        if self.registered and self.path:
            raise ValueError("data.path names the IMDB npz file; a registered dataset (data.dataset="
                             f"{self.dataset}) is read from the home, so leave data.path empty")
        return self

    @model_validator(mode="after")
    def _val_split_exists(self) -> DataConfig:
        if self.validate_on == "val" and self.val_fraction == 0.0:
            raise ValueError("data.val_fraction must be > 0 when data.validate_on is 'val' "
                             "(or set data.validate_on to 'test', the notebook's protocol)")
        return self


#: A model of any registered family, told apart by its ``family`` field (none: the default family, as
#: configs stored before families existed say it). The teacher and the student are each one.
ClassifierSize = Annotated[
    functools.reduce(operator.or_, [Annotated[family.size, Tag(name)] for name, family in FAMILIES.items()]),
    Discriminator(family_of),
]
TeacherSize = ClassifierSize
#: The student may be of any family too: the smallest fast students need not be recurrent.
StudentSize = ClassifierSize


class DistillConfig(StrictModel):
    alpha: float = Field(
        0.1, ge=0.0, le=1.0, description="Weight of the hard-label loss; 1 - alpha weights the teacher's soft targets."
    )
    temperature: float = Field(
        10.0, gt=0.0, le=1000.0, description="Softens both models' outputs; higher shows more of the teacher's doubt."
    )
    scale_t2: bool = Field(
        True, description="Multiply the soft loss by T^2 (Hinton et al. 2015). Off: notebook parity.")
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


class TrainConfig(StrictModel):
    epochs: int = Field(3, ge=1, le=1000, description="Epochs for the student and scratch arms.")
    teacher_epochs: int | None = Field(
        None, ge=1, le=1000, description="Epochs for the teacher (empty: same as epochs).")
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


class RunConfig(StrictModel):
    name: str = Field("", max_length=200, description="Free-text label shown in the dashboard.")
    data: DataConfig = DataConfig()
    teacher: TeacherSize = FAMILIES[DEFAULT_FAMILY].default_size
    student: StudentSize = NOTEBOOK_STUDENT
    distill: DistillConfig = DistillConfig()
    train: TrainConfig = TrainConfig()
    teacher_from: str | None = Field(
        None, description="Reuse the teacher of this earlier run id instead of training one."
    )
    teacher_source: TeacherSourceConfig = TeacherSourceConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("teacher_from", mode="before")
    @classmethod
    def _teacher_from_is_a_run_id(cls, value: Any) -> Any:
        """A run id, as kdcore makes them (no ``../``); empty text means none, as the form's empty box does."""
        if isinstance(value, str) and not value.strip():
            return None
        return validate_run_id(value) if isinstance(value, str) else value  # its InvalidRunId is a ValueError

    @model_validator(mode="before")
    @classmethod
    def _family_recipe(cls, raw: Any) -> Any:
        """A teacher family's measured settings fill whatever the config leaves unset."""
        return with_recipe(raw)

    @model_validator(mode="after")
    def _augmentation_fits(self) -> RunConfig:
        d = self.distill
        if d.augmented and d.teacher_view != "student" and self.data.teacher_length != self.data.maxlen:
            raise ValueError("distill.teacher_view must be 'student' (\"The student's words\") when "
                             "distill.augment_window or distill.augment_mask is above 0 and the teacher reads longer "
                             "reviews: the teacher labels the very tokens the student is shown. For the teacher's own "
                             "view, set both augmentation chances to 0")
        return self

    @model_validator(mode="after")
    def _source_fits(self) -> RunConfig:
        source = self.teacher_source
        if source.kind != "trained" and self.teacher_from:
            raise ValueError(f"teacher_from reuses a trained teacher; teacher_source.kind is {source.kind!r}. "
                             "Choose one: empty teacher_from, or teacher_source.kind 'trained'")
        if not source.runs_here and self.distill.augmented:
            raise ValueError(f"distill.augment_window and distill.augment_mask need a teacher that labels each "
                             f"altered batch as the student trains; a teacher given as {source.kind} has fixed "
                             "outputs only. Set both to 0, or use a trained or .keras teacher")
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
        """How many times fewer parameters the student has than the teacher (a ratio of parameters, not bytes)."""
        return self.teacher_params() / self.student_params()

    def warnings(self) -> list[str]:
        """What is allowed but likely to fail: a model whose training state may not fit in memory.

        Not a refusal, since a big GPU may hold it; the CLI prints these, the New-run form can show them.
        """
        out = []
        for role, params in (("teacher", self.teacher_params()), ("student", self.student_params())):
            needed = params * TRAINING_BYTES_PER_PARAM
            if needed > MEMORY_WARNING_BYTES:
                out.append(f"{role}: {params:,} parameters need about {needed / 1e9:,.1f} GB for the weights and "
                           f"Adam's two moments (float32), more than the {MEMORY_WARNING_BYTES / 1e9:.0f} GB "
                           "that fits on most machines; training may run out of memory")
        return out

    def teacher_key(self) -> str:
        """Hash of everything that determines the trained teacher (not alpha, T or the student).

        Two runs with equal keys would train bit-for-bit the same teacher, so the second
        reuses the first's weights. Not its soft targets: those also depend on what the teacher
        reads to make them (``distill.teacher_view``), so each run computes its own.
        """
        return digest(teacher_material(self))

    def scratch_key(self, seed_index: int) -> str:
        """Hash of everything that determines the scratch student of one seed (not the teacher, alpha or T).

        A sweep over alpha and T, or over teachers, trains the same scratch baseline again and
        again; runs with equal keys reuse the first one's result, which is also what makes
        their paired comparison exact: same initial weights, same data order, same model.
        """
        return digest(scratch_material(self, seed_index))

    # -- I/O ---------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")
