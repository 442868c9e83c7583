"""What a registered dataset is, in ``<home>/datasets/<id>/manifest.json``: columns, classes, source, splits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from kdcore.datasets.errors import DatasetError

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """A dataset's identity and shape; ``classes[i]`` is the name of label ``i`` in ``rows.parquet``.

    ``id`` is the first 16 hex digits of the sha256 of the parsed rows (texts, labels, splits),
    so the same content registered twice is the same dataset whatever the file was called.
    """

    id: str
    name: str
    classes: tuple[str, ...]
    text_column: str
    label_column: str
    source_name: str
    source_sha256: str
    encoding: str
    split_sizes: dict[str, int]
    split_origin: str
    rows: int
    created: str
    builtin: bool = field(default=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["version"] = MANIFEST_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {f.name for f in fields(cls)}
        try:
            values = {k: v for k, v in data.items() if k in known}
            values["classes"] = tuple(str(c) for c in values["classes"])
            values["split_sizes"] = {str(k): int(v) for k, v in values["split_sizes"].items()}
            return cls(**values)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise DatasetError(f"a dataset manifest is incomplete or damaged ({e})") from None


#: The built-in IMDB (Keras' npz of token ids): listed first, never stored under ``<home>/datasets``.
IMDB_BUILTIN = Manifest(
    id="imdb", name="IMDB movie reviews (built in)", classes=("negative", "positive"), text_column="text",
    label_column="label", source_name="imdb.npz (Keras)", source_sha256="", encoding="token ids",
    split_sizes={"train": 25000, "val": 0, "test": 25000},
    split_origin="Keras' train/test split (validation carved from train by data.val_fraction)", rows=50000,
    created="", builtin=True)
