"""Cache keys: what decides a trained teacher, or a scratch student, hashed into 16 hex digits.

Two runs with equal keys would train bit-for-bit the same model, so the second reuses the
first's. The material is frozen history: a field enters it only when it differs from the
value every older run had, so the keys of models cached before the field existed stay valid.
Change what goes in here only on purpose (tests/config/test_keys.py pins known keys).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # RunConfig's methods call in here
    from kdcore.config.schema import RunConfig


def digest(material: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of the material's sorted JSON."""
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def file_identity(path: str | None) -> str | None:
    """Name and size of the data file: a different file must not reuse a teacher."""
    if not path:
        return None
    p = Path(path).expanduser()
    try:
        return f"{p.name}:{p.stat().st_size}"
    except OSError:
        return p.name


def dataset_material(config: RunConfig) -> dict[str, Any]:
    """A registered dataset and how its texts become tokens (none for IMDB, so older keys hold).

    The id is the hash of the dataset's rows and split, and the vocabulary is fitted on its
    training split with these settings, so together they decide the token ids a model sees.
    """
    d = config.data
    if not d.registered:
        return {}
    return {"dataset": {"id": d.dataset, "standardize": d.standardize, "split": d.split}}


def teacher_material(config: RunConfig) -> dict[str, Any]:
    """Everything that determines the trained teacher (not alpha, T or the student)."""
    d, t = config.data, config.train
    material: dict[str, Any] = {
        "teacher": config.teacher.model_dump(),
        "data": {"maxlen": d.teacher_length,
                 **{k: getattr(d, k) for k in ("vocab_size", "train_limit", "val_fraction", "validate_on")}},
        "data_file": file_identity(d.path),
        "train": {
            "epochs": t.teacher_epoch_count, "batch_size": t.teacher_batch, "learning_rate": t.teacher_rate,
            **{k: getattr(t, k) for k in ("seed", "keep_best", "monitor", "patience", "mixed_precision")},
        },
    }
    if d.validate_on == "test":
        material["data"]["test_limit"] = d.test_limit
    material.update(dataset_material(config))
    source = config.teacher_source
    if source.kind != "trained":  # only then: the keys of teachers trained here stay valid
        material["source"] = {"kind": source.kind, "file": file_identity(source.file),
                              "test_file": file_identity(source.test_file), "input": source.input,
                              "output": source.output, "id_column": source.id_column,
                              "members": [file_identity(m) if m.endswith(".keras") else m for m in source.members],
                              "combine": source.combine}
    if t.teacher_optimizer != "adam":  # only then: the keys of teachers cached before the field stay valid
        material["train"]["optimizer"] = t.teacher_optimizer
    return material


def scratch_material(config: RunConfig, seed_index: int) -> dict[str, Any]:
    """Everything that determines the scratch student of one seed (not the teacher, alpha or T).

    The student's dump names its family (every size model has a ``family`` field, recurrent
    included), so a conv and a recurrent student that share their other fields never share a key.
    """
    d, t = config.data, config.train
    material: dict[str, Any] = {
        "student": config.student.model_dump(),
        "data": {k: getattr(d, k) for k in ("vocab_size", "maxlen", "train_limit", "test_limit", "val_fraction",
                                             "validate_on")},
        "data_file": file_identity(d.path),
        "train": {k: getattr(t, k) for k in ("epochs", "batch_size", "learning_rate", "seed", "keep_best",
                                              "monitor", "patience", "mixed_precision", "jit_compile",
                                              "eval_batch_size")},
        "seed_index": seed_index,
    }
    material.update(dataset_material(config))
    window, mask = config.augmentation()
    if window or mask:  # the scratch twin sees the same altered reviews (only then: older keys hold)
        material["augment"] = {"window": window, "mask": mask,
                               **({"from_length": d.teacher_length} if window else {})}
    return material
