"""An uploaded ``.keras`` teacher: loaded in safe mode only, refused with the reason, checked on a few rows.

Why a check before the run: a model that cannot be loaded, reads the wrong input or returns
the wrong number of outputs would otherwise fail the run in the worker after TensorFlow, the
data and maybe a long queue. ``kdcore teacher check`` (a subprocess of the New-run form) runs
:func:`check_teacher` on 8 rows of the run's own data and reports every problem in words.

Loading is ``keras.models.load_model(path, safe_mode=True, compile=False)`` and nothing else:
a ``Lambda`` layer (Python bytecode) and unknown classes are refused, never enabled. Before
Keras sees the file it is checked to be a ``.keras`` zip holding ``config.json`` whose declared
size is bounded, since Keras' own errors for a wrong file say "File not found".
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np

from kdcore.config import RunConfig

#: How many rows of the run's data the check runs the model on.
CHECK_ROWS = 8
#: The largest uncompressed content a ``.keras`` zip may declare (weights included): a bound on memory, not a taste.
MAX_MODEL_BYTES = 8 * 2**30
SAFE_MODE_ONLY = "KD Studio loads models in safe mode only"
PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")
InputKind = Literal["text", "tokens"]


class TeacherFileError(ValueError):
    """A ``.keras`` file KD Studio will not use as a teacher; the message names the file and the reason."""


def load_teacher_model(path: Path) -> keras.Model:
    """The model in ``path``, loaded in safe mode without compiling; TeacherFileError with the reason otherwise."""
    path = Path(path)
    config = _archive_config(path)
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises many types; each becomes a reason in words
        raise TeacherFileError(_load_failure(path, config, e)) from None
    if not isinstance(model, keras.Model):
        raise TeacherFileError(f"{path.name} holds a {type(model).__name__}, not a Keras model")
    _one_input_one_output(model, path.name)
    return model


def _archive_config(path: Path) -> dict[str, Any]:
    """``config.json`` of the ``.keras`` zip; TeacherFileError for a missing, damaged or non-Keras file."""
    if not path.is_file():
        raise TeacherFileError(f"{path}: no such file")
    if path.suffix.lower() != ".keras":
        raise TeacherFileError(f"{path.name}: not a Keras .keras file (the name must end in .keras; KD Studio "
                               "does not read legacy .h5 files or SavedModel folders: save with model.save('x.keras'))")
    not_keras = f"{path.name}: not a Keras .keras file"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise TeacherFileError(f"{not_keras} (a zip without config.json; it holds "
                                       f"{', '.join(sorted(names)[:5]) or 'nothing'})")
            declared = sum(info.file_size for info in archive.infolist())
            if declared > MAX_MODEL_BYTES:
                raise TeacherFileError(f"{path.name} declares {declared / 2**30:,.1f} GiB uncompressed, over the "
                                       f"{MAX_MODEL_BYTES / 2**30:.0f} GiB a teacher may have")
            config = json.loads(archive.read("config.json"))
    except zipfile.BadZipFile:
        raise TeacherFileError(f"{not_keras} (not a zip archive, or a truncated one)") from None
    except (ValueError, OSError, EOFError) as e:
        if isinstance(e, TeacherFileError):
            raise
        raise TeacherFileError(f"{not_keras} (its config.json cannot be read: {e})") from None
    if not isinstance(config, dict):
        raise TeacherFileError(f"{not_keras} (its config.json holds no model)")
    return config


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every serialised object (a dict with ``class_name``) of a config, outside ``compile_config``."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for key, value in node.items():
            if key != "compile_config":  # compile=False: the optimizer and loss are never deserialised
                yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def custom_objects(config: dict[str, Any]) -> list[str]:
    """Classes plain Keras does not ship: a registered name (``package>Class``) or a module outside keras."""
    found = []
    for obj in _objects(config):
        module, registered = obj.get("module"), obj.get("registered_name")
        outside = isinstance(module, str) and not module.startswith("keras")
        if (registered and registered != obj.get("class_name")) or outside:
            found.append(str(registered or obj.get("class_name")))
    return sorted(set(found))


def _load_failure(path: Path, config: dict[str, Any], error: Exception) -> str:
    """Why Keras did not load the file, in words: Lambda, custom objects, or the damage it reports."""
    text = str(error).strip()
    first = (text.splitlines()[0] if text else type(error).__name__)[:300]
    if any(obj.get("class_name") == "Lambda" for obj in _objects(config)):
        return (f"{path.name} needs unsafe deserialization (a Lambda layer); {SAFE_MODE_ONLY}. Rebuild the model "
                "with built-in layers (or keras.ops in a layer Keras ships), save it again and upload that")
    custom = custom_objects(config)
    if custom:
        return (f"{path.name} uses custom objects {', '.join(custom)} that plain Keras does not know; KD Studio "
                "loads no code from uploads. Use built-in Keras layers only")
    if "safe_mode" in text:
        return f"{path.name} needs unsafe deserialization; {SAFE_MODE_ONLY} (Keras says: {first})"
    return f"{path.name}: not a Keras .keras file, or a damaged one (Keras says: {first})"


def _one_input_one_output(model: keras.Model, name: str) -> None:
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise TeacherFileError(f"{name}: the model has no defined input or output (a Sequential saved before it "
                               "was built); start it with keras.Input(...) and save it again")
    if len(inputs) != 1 or len(outputs) != 1:
        raise TeacherFileError(f"{name}: the model has {len(inputs)} inputs and {len(outputs)} outputs; a teacher "
                               "reads one input (texts or token ids) and returns one output of K values per row")


def model_input_kind(model: keras.Model) -> InputKind:
    """``text`` for a string input, ``tokens`` for integer ids; a float input is refused (unless it feeds an Embedding).

    Why the exception: ``keras.Input((200,))`` is float32 by default, and an ``Embedding``
    right after it casts to ids, so such a model reads token ids whatever its input dtype says.
    """
    dtype = str(model.inputs[0].dtype)
    if dtype == "string":
        return "text"
    if dtype.startswith(("int", "uint")):
        return "tokens"
    if _first_layer_is_embedding(model):
        return "tokens"
    raise TeacherFileError(f"the model {model.name!r} reads {dtype} inputs (features, not text); a teacher reads "
                           "raw strings (its own preprocessing inside) or token ids (an int input, or an Embedding "
                           "first)")


def _first_layer_is_embedding(model: keras.Model) -> bool:
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return bool(layers) and isinstance(layers[0], keras.layers.Embedding)


def model_input_length(model: keras.Model) -> int | None:
    """The number of token ids per row the model was built for (its input's second dimension), None if free."""
    shape = tuple(model.inputs[0].shape)
    if len(shape) >= 2 and isinstance(shape[1], int):
        return int(shape[1])
    return None


def embedding_size(model: keras.Model) -> int | None:
    """How many token ids the first Embedding knows (its ``input_dim``), None without one."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    return None


def _last_layer(model: keras.Model) -> Any:
    history = getattr(model.outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None) if history is not None else None
    layer = layer if layer is not None else (model.layers[-1] if model.layers else None)
    if isinstance(layer, keras.Model) and layer is not model and layer.outputs:
        return _last_layer(layer)
    return layer


def output_is_probabilities(model: keras.Model) -> bool:
    """Whether the output is probabilities: a softmax/sigmoid last activation, or a Softmax layer last."""
    layer = _last_layer(model)
    if layer is None:
        return False
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", "") if activation is not None else ""
    return name in PROBABILITY_ACTIVATIONS


def check_teacher(path: Path, config: RunConfig, home: Path | None = None) -> dict[str, Any]:
    """The JSON-able report of ``path`` as this run's teacher; a bad file is a problem in the report, never raised.

    ``{"ok", "problems", "input", "input_length", "outputs", "probabilities", "params", "name", "file"}``.
    """
    path = Path(path)
    report: dict[str, Any] = {"ok": False, "problems": [], "input": None, "input_length": None, "outputs": None,
                              "probabilities": None, "params": None, "name": None, "file": path.name}
    problems: list[str] = report["problems"]
    try:
        model = load_teacher_model(path)
        report.update(name=model.name, params=int(model.count_params()), input_length=model_input_length(model))
        report["probabilities"] = _probabilities(model, config)
        kind = report["input"] = model_input_kind(model)
    except TeacherFileError as e:
        said = str(e)
        problems.append(said if said.startswith((path.name, str(path))) else f"{path.name}: {said}")
        return report
    problems.extend(_input_problems(kind, report["input_length"], config, path.name))
    if kind == "tokens" or config.data.registered:  # run at its own length: every other problem is found too
        _run_on_rows(model, kind, report, config, home, path.name)
    report["ok"] = not problems
    return report


def _probabilities(model: keras.Model, config: RunConfig) -> bool:
    said = config.teacher_source.output
    return said == "probabilities" or (said == "auto" and output_is_probabilities(model))


def _input_problems(kind: InputKind, length: int | None, config: RunConfig, name: str) -> list[str]:
    """What the model reads against what this run gives: strings on IMDB's npz, the input field, the length."""
    problems, data, said = [], config.data, config.teacher_source.input
    reads = "raw strings" if kind == "text" else "token ids"
    if said != "auto" and said != kind:
        problems.append(f"{name} reads {reads}, but teacher_source.input={said}; set teacher_source.input={kind} "
                        "(or auto)")
    if kind == "text" and not data.registered:
        problems.append(f"{name} reads raw strings, and the built-in IMDB holds token ids only: register "
                        "imdb_reviews.csv.gz and use that dataset (data.dataset)")
    if kind == "tokens" and length is not None and length != data.teacher_length:
        problems.append(f"{name} reads {length} token ids per row, and this run's teacher view has "
                        f"{data.teacher_length} (data.teacher_maxlen, else data.maxlen): set data.teacher_maxlen="
                        f"{length}")
    return problems


def _rows(kind: InputKind, length: int, config: RunConfig, home: Path | None) -> tuple[Any, int, int | None]:
    """The first training rows as the model reads them (ids at ``length``, or raw texts), the data's K, and how
    many token ids its vocabulary has (None for texts)."""
    import tensorflow as tf

    from kdcore.datasets import load_rows
    from kdcore.engine.data import load_split_views
    from kdcore.engine.text import dataset_manifest
    from kdcore.paths import home_dir

    data = config.data
    if kind == "text":
        manifest = dataset_manifest(data, home)
        rows = load_rows(home_dir(home), data.dataset)
        texts = rows.loc[rows["split"] == "train", "text"].head(CHECK_ROWS).astype(str).tolist()
        return tf.constant(texts, dtype=tf.string), manifest.num_classes, None
    splits = load_split_views(data, config.train.seed, [length], home)[length]
    ids = len(splits.vocabulary) if splits.vocabulary is not None else data.vocab_size
    return splits.x_train[:CHECK_ROWS], splits.num_classes, ids


def _run_on_rows(model: keras.Model, kind: InputKind, report: dict[str, Any], config: RunConfig,
                 home: Path | None, name: str) -> None:
    """Run the model on a few rows of the data; every way that fails becomes a problem in the report."""
    problems = report["problems"]
    try:
        inputs, num_classes, ids = _rows(kind, report["input_length"] or config.data.teacher_length, config, home)
    except Exception as e:  # noqa: BLE001 - a missing dataset or npz: said, not raised
        problems.append(f"the run's data cannot be read to check {name}: {e}")
        return
    known = embedding_size(model)
    if ids is not None and known is not None and known < ids:
        problems.append(f"{name}'s Embedding knows {known:,} token ids and this run's vocabulary has {ids:,} "
                        f"(data.vocab_size={config.data.vocab_size:,}): set data.vocab_size={known} or fewer")
        return
    try:
        out = np.asarray(keras.ops.convert_to_numpy(model.predict(inputs, batch_size=CHECK_ROWS, verbose=0)))
    except Exception as e:  # noqa: BLE001 - anything inside the model means the same to the user
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        problems.append(f"{name} fails on {CHECK_ROWS} rows of this run's data ({type(e).__name__}: {first})")
        return
    n = len(inputs)
    report["outputs"] = int(out.shape[-1]) if out.ndim >= 1 else None
    if out.shape != (n, num_classes):
        hint = " (a single sigmoid output is not enough: give one output per class)" if (
            num_classes == 2 and out.shape == (n, 1)) else ""
        problems.append(f"{name} returns outputs of shape {out.shape} for {n} rows; this run's data has "
                        f"{num_classes} classes, so ({n}, {num_classes}) is expected{hint}")
        return
    if not np.isfinite(out).all():
        problems.append(f"{name} returns non-finite outputs (NaN or infinity) on {CHECK_ROWS} rows of this run's data")
