"""How to read a dataset file: which columns, which encoding, how to split, what to do with gaps."""

from __future__ import annotations

from dataclasses import dataclass

from kdcore.datasets.errors import DatasetError


@dataclass(frozen=True)
class ReadOptions:
    """The user's choices; ``None`` means "guess" (columns, split column) or "detect" (encoding).

    ``val_fraction``/``test_fraction`` are the shares of each class that a seeded stratified
    split gives to validation and test when the file does not say (see :mod:`kdcore.datasets.splits`).
    ``drop_missing`` drops rows without a text or a label instead of refusing the file.
    """

    text_column: str | None = None
    label_column: str | None = None
    split_column: str | None = None
    encoding: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0
    drop_missing: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0 or not 0.0 < self.test_fraction < 1.0 \
                or self.val_fraction + self.test_fraction >= 1.0:
            raise DatasetError(f"val_fraction ({self.val_fraction}) must be in [0, 1), test_fraction "
                               f"({self.test_fraction}) in (0, 1), and together under 1 (the rest trains)")
        for field in ("text_column", "label_column", "split_column"):
            value = getattr(self, field)
            if value is not None and not str(value).strip():
                raise DatasetError(f"{field} is blank; give a column name or leave it empty to guess")


#: The defaults, shared (the dataclass is frozen): guess the columns, detect the encoding, split 70/10/20.
DEFAULT_OPTIONS = ReadOptions()
