"""A Kim (2014)-style convolutional text classifier: parallel Conv1D widths, max over time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from kdcore.config.families.family import FAMILY_HELP, Family, FamilySize, Preset


class ConvSize(FamilySize):
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


def conv_params(size: ConvSize, vocab_size: int, num_classes: int = 2) -> int:
    """Keras' count: embedding V*E; per width k a Conv1D of k*E*F weights + F biases; Dense(K) on the k*F pooled."""
    e, f = size.embedding_dim, size.filters
    convs = sum(k * e * f + f for k in size.kernel_sizes)
    return vocab_size * e + convs + num_classes * len(size.kernel_sizes) * f + num_classes


def conv_text(size: Mapping[str, Any]) -> str:
    """``conv 64d, 64×[3,4,5]``: embedding width, filters per width, the widths."""
    widths = ",".join(str(w) for w in size.get("kernel_sizes") or [])
    return f"conv {size.get('embedding_dim', '?')}d, {size.get('filters', '?')}×[{widths}]"


#: Student sizes: about half the notebook student's parameters, and an eighth (vocabulary 20,000).
CONV_STUDENT = ConvSize(embedding_dim=32, filters=32)
SMALL_CONV = ConvSize(embedding_dim=8, filters=16, kernel_sizes=(3, 5))

CONV = Family(
    name="conv",
    size=ConvSize,
    default_size=ConvSize(),
    student_size=CONV_STUDENT,
    presets=(Preset("conv", ConvSize(), "Conv teacher"),
             Preset("conv-student", CONV_STUDENT, "Conv student (32d, 32×[3,4,5])"),
             Preset("small-conv", SMALL_CONV, "Small conv student (8d, 16×[3,5])"),
             Preset("tiny-conv", ConvSize(embedding_dim=8, filters=4, kernel_sizes=(2, 3)), "Tiny conv",
                    for_tests=True)),
    label="Convolutional (Conv1D widths)",
    caption="Embedding → one Conv1D per kernel width → max over time → Dense(2).",
    form_fields={"embedding_dim": "embedding dim", "filters": "filters per width", "kernel_sizes": "kernel widths",
                 "embedding_dropout": "embedding dropout", "dropout": "dropout"},
    # Untuned: the n-gram teacher's length and epochs, the notebook's distillation settings.
    recipe={"data.teacher_maxlen": 400, "train.teacher_epochs": 4, "train.teacher_optimizer": "adam",
            "train.teacher_learning_rate": None, "train.epochs": 3,
            "distill.alpha": 0.1, "distill.temperature": 10.0, "distill.teacher_view": "own",
            "distill.augment_window": 0.0, "distill.augment_mask": 0.0},
    param_count=conv_params,
    size_text=conv_text,
    builder="kdcore.engine.families.conv:build_conv",
)
