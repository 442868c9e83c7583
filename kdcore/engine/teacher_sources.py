"""A teacher KD Studio does not train: an uploaded ``.keras`` model, soft labels from any framework, an ensemble.

Each becomes the same thing a trained teacher gives the students: its logits (or
log-probabilities) on this run's training rows, and on the test rows for its test accuracy.
Rows are matched by their index in the data's source order (``Splits.train_rows`` /
``test_rows``), so a file of outputs for the whole training split serves any limit, hold-out
or shuffle of it.

Why the outputs of a model are cached by the file's sha256 and the exact input rows (not by
run): the same uploaded teacher, or an earlier run's teacher in several ensembles, is run on
the same rows by many runs; its logits are the slow part, and they depend on the bytes of the
model and of its inputs only. ``<home>/teachers/uploaded/<sha 16>/`` keeps what the model is
(``model.json``: input kind and length, whether it outputs probabilities, parameters) and one
``<view key>.npy`` per input matrix it was run on.

Probabilities (a softmax/sigmoid last layer, or ``teacher_source.output=probabilities``) become
log-probabilities (log of the clipped p) before the temperature: softmax(log p / T) is the
teacher's distribution softened, exactly as softmax(z / T) is for its logits z.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.config import RunConfig
from kdcore.config.teacher_source import TeacherSourceConfig
from kdcore.engine.data import Splits, repad
from kdcore.engine.files import atomic_save_npy, atomic_write_text
from kdcore.paths import home_dir, run_dir, teachers_dir

#: The smallest probability taken to its log (as for soft labels, so a model and its exported outputs agree).
PROB_FLOOR = 1e-12
MODEL_RECORD = "model.json"


class TeacherSourceError(ValueError):
    """The teacher source cannot be used as given; the message names the field or file and what to do."""


@dataclass(frozen=True)
class TeacherOutputs:
    """One teacher's outputs on this run's rows, and what the summary says of it."""

    #: Logits or log-probabilities of the training rows (the teacher's view), None when not needed.
    train: np.ndarray | None
    #: The same on the test rows; None without test outputs (soft labels without ``test_file``).
    test: np.ndarray | None
    #: Parameters of the model (or of every member); None for soft labels.
    params: int | None
    #: The teacher in words, for the run log and the summary's ``teacher_source``.
    description: str
    #: kind keras: the model file (copied as the run's ``teacher.keras``); its bytes for ensembles.
    model_file: Path | None = None
    file_bytes: int | None = None
    #: kind keras: whether the model outputs probabilities (wrapped to log-probabilities when run per step).
    probabilities: bool = False
    #: kind keras: whether the model reads raw strings (it cannot label altered token ids).
    reads_text: bool = False
    members: list[TeacherOutputs] = field(default_factory=list)


def given_teacher(config: RunConfig, splits: Splits, student_view: Splits, home: Path | None,
                  need_train: bool = True, log: Callable[[str], None] | None = None) -> TeacherOutputs:
    """The outputs of the run's teacher source (kind keras, soft_labels or ensemble) on this run's rows.

    ``splits`` is the teacher's view (padded to ``data.teacher_maxlen``), ``student_view`` the
    students'; ``need_train=False`` (an augmented transfer set: the model labels each altered
    batch) skips the training rows.
    """
    source = config.teacher_source
    if source.kind == "keras":
        path = resolve_file(source.file, "teacher_source.file", home)
        return model_outputs(path, config, splits, student_view, home, need_train,
                             f"uploaded model {path.name}")
    if source.kind == "soft_labels":
        return soft_label_outputs(source, splits, home)
    if source.kind == "ensemble":
        return ensemble_outputs(config, splits, student_view, home, need_train, log or (lambda _: None))
    raise TeacherSourceError(f"teacher_source.kind={source.kind!r} trains its teacher here; nothing is given")


def resolve_file(name: str | None, label: str, home: Path | None) -> Path:
    """A file the config names: as given (``~`` expanded), else under ``<home>/uploads/``."""
    if not name:
        raise TeacherSourceError(f"{label} is empty")
    given = Path(name).expanduser()
    for candidate in (given, home_dir(home) / "uploads" / name):
        if candidate.is_file():
            return candidate
    raise TeacherSourceError(f"{label}: {name} is not a file (looked as given and under {home_dir(home) / 'uploads'})")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def log_probabilities(p: np.ndarray) -> np.ndarray:
    """Probabilities as the log-probabilities a temperature can soften: the log of ``p`` clipped to a floor."""
    return np.log(np.clip(np.asarray(p, dtype=np.float64), PROB_FLOOR, 1.0))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=-1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=-1, keepdims=True))


def combine_members(members: list[np.ndarray], how: str) -> np.ndarray:
    """An ensemble's log-probabilities: the mean of the members' (a geometric mean), or the log of their mean p."""
    logp = np.stack([log_softmax(m) for m in members])
    if how == "log_probabilities":
        return logp.mean(axis=0)
    return np.log(np.clip(np.exp(logp).mean(axis=0), PROB_FLOOR, 1.0))


# ---------------------------------------------------------------- a model: uploaded, or an ensemble's member


def uploaded_dir(home: Path | None, sha256: str) -> Path:
    return teachers_dir(home) / "uploaded" / sha256[:16]


def model_record(path: Path, folder: Path) -> tuple[dict[str, Any], keras.Model | None]:
    """What the model is (input kind and length, probabilities out, parameters), and the model if it was loaded.

    Read back from ``model.json`` when an earlier run loaded the same file, else loaded (with the
    refusals of :func:`kdcore.engine.teacher_check.load_teacher_model`) and recorded.
    """
    record_path = folder / MODEL_RECORD
    if record_path.is_file():
        try:
            return json.loads(record_path.read_text()), None
        except (OSError, ValueError):
            pass  # damaged: loaded again below
    from kdcore.engine.teacher_check import (
        load_teacher_model,
        model_input_kind,
        model_input_length,
        output_is_probabilities,
    )

    model = load_teacher_model(path)
    record = {"input": model_input_kind(model), "length": model_input_length(model),
              "probabilities": bool(output_is_probabilities(model)), "params": int(model.count_params())}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record_path, json.dumps(record))
    return record, model


def model_inputs(record: dict[str, Any], source: TeacherSourceConfig, config: RunConfig, splits: Splits,
                 student_view: Splits, what: str) -> tuple[Any, Any]:
    """(training rows, test rows) as the model reads them: token ids at its length, or the raw texts."""
    kind = record["input"]
    if source.input != "auto" and source.input != kind:
        raise TeacherSourceError(f"{what}: teacher_source.input={source.input} but the model reads "
                                 f"{'raw strings' if kind == 'text' else 'token ids'}; set teacher_source.input="
                                 f"{kind} (or auto)")
    if kind == "text":
        if splits.texts_train is None or splits.texts_test is None:
            raise TeacherSourceError(f"{what} reads raw text, and IMDB's npz holds token ids only; register "
                                     "imdb_reviews.csv.gz as a dataset (Datasets page) and choose it as data.dataset")
        return np.asarray(splits.texts_train, dtype=object), np.asarray(splits.texts_test, dtype=object)
    length, wanted = record.get("length"), config.data.teacher_length
    if length is not None and length != wanted:
        raise TeacherSourceError(f"{what} reads {length} token ids per row, this run's teacher view has {wanted} "
                                 f"(data.teacher_maxlen, else data.maxlen); set data.teacher_maxlen={length}")
    train = (splits.x_train if config.distill.teacher_view == "own"
             else repad(student_view.x_train, wanted, student_view.padding))
    return train, splits.x_test


def view_key(inputs: Any, probabilities: bool) -> str:
    """The cache key of one input matrix (its bytes, or its texts) and how the outputs were taken to logs."""
    digest = hashlib.sha256(b"p" if probabilities else b"z")
    if isinstance(inputs, np.ndarray) and inputs.dtype != object:
        digest.update(f"{inputs.dtype}{inputs.shape}".encode())
        digest.update(np.ascontiguousarray(inputs).tobytes())
    else:
        for text in inputs:
            digest.update(str(text).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:24]


def predict_outputs(model: keras.Model, inputs: Any, batch_size: int, num_classes: int, probabilities: bool,
                    what: str) -> np.ndarray:
    """The model's outputs on ``inputs`` as float64 logits or log-probabilities, checked: (n, K), finite."""
    if isinstance(inputs, np.ndarray) and inputs.dtype == object:
        import tensorflow as tf

        inputs = tf.constant([str(t) for t in inputs], dtype=tf.string)
    try:
        raw = keras.ops.convert_to_numpy(model.predict(inputs, batch_size=batch_size, verbose=0))
    except Exception as e:  # noqa: BLE001 - any failure inside the model means the same to the user
        raise TeacherSourceError(f"{what} failed on this run's rows ({type(e).__name__}: {e})") from e
    out = np.asarray(raw, dtype=np.float64)
    if out.ndim != 2 or out.shape[1] != num_classes:
        raise TeacherSourceError(f"{what} returns outputs of shape {tuple(out.shape)}, not (rows, {num_classes}): "
                                 f"one value per class of this run's data")
    if not np.isfinite(out).all():
        raise TeacherSourceError(f"{what} returns non-finite outputs (NaN or infinity) for some rows")
    return log_probabilities(out) if probabilities else out


def model_outputs(path: Path, config: RunConfig, splits: Splits, student_view: Splits, home: Path | None,
                  need_train: bool, what: str) -> TeacherOutputs:
    """A ``.keras`` teacher's logits on this run's training and test rows, from the cache or computed once."""
    folder = uploaded_dir(home, file_sha256(path))
    record, model = model_record(path, folder)
    source = config.teacher_source
    probabilities = source.output == "probabilities" or (source.output == "auto" and record["probabilities"])
    train_in, test_in = model_inputs(record, source, config, splits, student_view, what)
    outputs = []
    for inputs, wanted in ((train_in, need_train), (test_in, True)):
        if not wanted:
            outputs.append(None)
            continue
        cached = folder / f"{view_key(inputs, probabilities)}.npy"
        if cached.is_file():
            outputs.append(np.load(cached))
            continue
        if model is None:
            from kdcore.engine.teacher_check import load_teacher_model

            model = load_teacher_model(path)
        values = predict_outputs(model, inputs, config.train.eval_batch_size, splits.num_classes, probabilities,
                                 what)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(cached, values)
        outputs.append(values)
    return TeacherOutputs(train=outputs[0], test=outputs[1], params=int(record["params"]), description=what,
                          model_file=path, file_bytes=path.stat().st_size, probabilities=probabilities,
                          reads_text=record["input"] == "text")


# ---------------------------------------------------------------- soft labels


def soft_label_outputs(source: TeacherSourceConfig, splits: Splits, home: Path | None) -> TeacherOutputs:
    """Soft labels for the source's training rows (and optionally its test rows), picked for this run's rows."""
    if splits.train_rows is None or splits.test_rows is None or splits.source_counts is None:
        raise TeacherSourceError("the data does not say which source rows this run holds; soft labels cannot "
                                 "be matched to them")
    train_count, test_count = splits.source_counts
    path = resolve_file(source.file, "teacher_source.file", home)
    train = read_labels(path, "teacher_source.file", source, train_count, splits.num_classes, "training")
    test_values, note = None, "no test outputs given: no test accuracy"
    if source.test_file:
        test_path = resolve_file(source.test_file, "teacher_source.test_file", home)
        test = read_labels(test_path, "teacher_source.test_file", source, test_count, splits.num_classes, "test")
        test_values = np.asarray(test.values, dtype=np.float64)[splits.test_rows]
        note = f"test outputs {test_path.name}"
    values = np.asarray(train.values, dtype=np.float64)[splits.train_rows]
    return TeacherOutputs(train=values, test=test_values, params=None,
                          description=f"soft labels from {path.name} ({train.kind}; {note})")


def read_labels(path: Path, label: str, source: TeacherSourceConfig, rows: int, num_classes: int, split: str) -> Any:
    """:func:`kdcore.datasets.soft_labels.read_soft_labels`, its refusal prefixed with the setting that named it."""
    from kdcore.datasets import DatasetError
    from kdcore.datasets.soft_labels import read_soft_labels

    try:
        return read_soft_labels(path, rows=rows, num_classes=num_classes, id_column=source.id_column,
                                output=source.output, split=split)
    except DatasetError as e:
        raise TeacherSourceError(f"{label}: {e}") from None


# ---------------------------------------------------------------- an ensemble


def member_file(member: str, config: RunConfig, home: Path | None) -> tuple[Path, str]:
    """(the member's ``.keras`` file, its name in words): an earlier run's teacher, or a file."""
    if member.endswith(".keras"):
        path = resolve_file(member, "teacher_source.members", home)
        return path, f"file {path.name}"
    folder = run_dir(member, home)
    path = folder / "teacher.keras"
    if not path.is_file():
        raise TeacherSourceError(f"teacher_source.members: run {member!r} has no teacher.keras (did it finish its "
                                 "teacher? a run whose teacher was soft labels or an ensemble has none)")
    check_member_data(folder / "config.json", config, member)
    return path, f"run {member}"


def check_member_data(config_file: Path, config: RunConfig, member: str) -> None:
    """An earlier run's teacher reads the ids of its own data: the dataset and the vocabulary settings must match."""
    try:
        theirs = json.loads(config_file.read_text()).get("data", {})
    except (OSError, ValueError):
        return  # no readable config: the model's own checks (input length, output width) still apply
    d = config.data
    mine = {"dataset": d.dataset, "vocab_size": d.vocab_size}
    if d.registered:
        mine.update(standardize=d.standardize, split=d.split)
    for name, value in mine.items():
        if name in theirs and theirs[name] != value:
            raise TeacherSourceError(f"teacher_source.members: run {member!r} used data.{name}={theirs[name]}, this "
                                     f"run {value}; its teacher reads the token ids of its own data, so they must "
                                     "match")


def ensemble_outputs(config: RunConfig, splits: Splits, student_view: Splits, home: Path | None,
                     need_train: bool, log: Callable[[str], None]) -> TeacherOutputs:
    """Each member's outputs (cached per member), combined; each member's and the ensemble's test accuracy logged."""
    from kdcore.engine.context import score_logits

    source = config.teacher_source
    members = []
    for member in source.members:
        path, name = member_file(member, config, home)
        members.append(model_outputs(path, config, splits, student_view, home, need_train, name))
    train = combine_members([m.train for m in members], source.combine) if need_train else None
    test = combine_members([m.test for m in members], source.combine)
    parts = [f"{m.description} {score_logits(m.test, splits.y_test).accuracy:.1%}" for m in members]
    mean = "mean of log-probabilities" if source.combine == "log_probabilities" else "mean of probabilities"
    description = (f"ensemble of {len(members)} ({mean}): {', '.join(parts)} -> "
                   f"{score_logits(test, splits.y_test).accuracy:.1%}")
    log(f"Teacher: {description} test accuracy.")
    return TeacherOutputs(train=train, test=test, params=sum(m.params or 0 for m in members),
                          description=description, file_bytes=sum(m.file_bytes or 0 for m in members),
                          members=members)


def logits_model(model: keras.Model) -> keras.Model:
    """A model that outputs probabilities, wrapped to output their logs: what the Distiller softens per step."""
    inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype)
    return keras.Model(inputs, keras.ops.log(keras.ops.clip(model(inputs), PROB_FLOOR, 1.0)))
