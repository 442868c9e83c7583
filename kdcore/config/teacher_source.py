"""Where the teacher comes from: trained here (a family), an uploaded ``.keras`` model, soft labels, an ensemble.

Why a section of its own and not a family: the families say how KD Studio builds and trains a
teacher; a source says whether it trains one at all. A big model someone already has (a
downloaded ``teacher.keras``, a fine-tuned transformer whose outputs were exported from PyTorch
or JAX, or several earlier teachers averaged, as Hinton et al. 2015 did) is distilled the same
way once its logits on the training rows exist. ``teacher`` (the family and sizes) only matters
for ``kind: trained``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kdcore.config.base import StrictModel
from kdcore.paths import RUN_ID_PATTERN

#: Teacher sources whose model runs in the worker: only they can label an altered batch on every step.
MODEL_SOURCES = ("trained", "keras")
#: Members of an ensemble: at least two, and a bound that keeps the form and the logits' memory sane.
MIN_MEMBERS, MAX_MEMBERS = 2, 16


class TeacherSourceConfig(StrictModel):
    kind: Literal["trained", "keras", "soft_labels", "ensemble"] = Field(
        "trained", description="trained: a teacher of the `teacher` family, trained here (or reused). keras: an "
        "uploaded .keras model (teacher_source.file). soft_labels: a file of per-row teacher outputs from any "
        "framework (teacher_source.file). ensemble: the mean of several teachers (teacher_source.members).")
    file: str | None = Field(
        None, description="kind keras: the .keras file; kind soft_labels: the CSV, Parquet or .npy file of K "
        "columns of logits or probabilities for the training split. Uploads are kept under <home>/uploads/.")
    test_file: str | None = Field(
        None, description="kind soft_labels: the same for the test split (optional: without it the teacher has no "
        "test accuracy, and the summary says so).")
    input: Literal["auto", "text", "tokens"] = Field(
        "auto", description="kind keras: what the model reads: raw strings (its own preprocessing inside) or the "
        "token ids of this run's data; auto: from its input's dtype.")
    output: Literal["auto", "logits", "probabilities"] = Field(
        "auto", description="keras and soft_labels: whether the outputs are logits or probabilities (which become "
        "log-probabilities before the temperature); auto: a softmax/sigmoid last layer, or rows summing to 1.")
    id_column: str | None = Field(
        None, description="kind soft_labels: the column holding each row's number in the registered dataset "
        "(0-based, in the order of the registered file's training rows); empty: the file's rows are the training "
        "split's, in that order.")
    members: list[str] = Field(
        default_factory=list,
        description="kind ensemble: earlier run ids (their teachers) and/or .keras files, 2 to 16.")
    combine: Literal["log_probabilities", "probabilities"] = Field(
        "log_probabilities", description="kind ensemble: average the members' log-probabilities (a geometric mean, "
        "the default) or their probabilities (an arithmetic mean, taken back to logs).")

    @field_validator("file", "test_file", "id_column", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("members", mode="before")
    @classmethod
    def _members_from_text(cls, value: object) -> object:
        """``run-a,run-b`` from a form or ``--set`` is a list of two."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _what_each_kind_needs(self) -> TeacherSourceConfig:
        if self.kind in ("keras", "soft_labels") and not self.file:
            raise ValueError(f"teacher_source.file is needed when teacher_source.kind is {self.kind!r}: the "
                             + (".keras model" if self.kind == "keras" else "file of soft labels"))
        if self.kind == "ensemble":
            if not MIN_MEMBERS <= len(self.members) <= MAX_MEMBERS:
                raise ValueError(f"teacher_source.members: an ensemble needs {MIN_MEMBERS} to {MAX_MEMBERS} members "
                                 f"(earlier run ids or .keras files), got {len(self.members)}")
            for member in self.members:
                if not (member.endswith(".keras") or RUN_ID_PATTERN.match(member)):
                    raise ValueError(f"teacher_source.members: {member!r} is neither an earlier run's id nor a "
                                     ".keras file")
        if self.kind != "soft_labels" and (self.test_file or self.id_column):
            raise ValueError("teacher_source.test_file and teacher_source.id_column are for kind 'soft_labels' only")
        return self

    @property
    def runs_here(self) -> bool:
        """Whether the teacher is a model in the worker (it can label an altered batch on every step)."""
        return self.kind in MODEL_SOURCES
