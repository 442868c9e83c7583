"""Each deployable form of a run's student: written, reloaded, checked, scored on the test set.

One function per format, each returning the fields of a
:class:`~kdcore.results.deployment.FormatResult`; :func:`attempt` turns any exception into a
``failed`` row with a one-line reason, so an export that this TensorFlow cannot do is reported,
never a failed run. What works for which family in TF 2.21 / Keras 3.15 is in ``docs/deploy.md``:
in short, the SavedModel, int8 and ONNX work for every family; TFLite's built-in ops take the
conv and n-gram students as they are, while the recurrent ones (Keras 3 LSTM/GRU loop over a
TensorList, which only Flex ops carry) convert here once their loops are unrolled.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.engine.context import score_logits
from kdcore.engine.files import deployable_copy

#: Test rows a reloaded SavedModel or int8 file must predict as the model it came from does.
CHECK_ROWS = 16
#: Largest difference in logits allowed between a model and its reloaded export.
SAME_LOGITS = 1e-4
#: Rows per interpreter call when scoring a TFLite or ONNX file on the test set.
SCORE_BATCH = 256
#: How a recurrent student became a TFLite file.
UNROLLED = ("built-in TFLite ops, LSTM/GRU unrolled (as they are, Keras 3's recurrent loops need Flex ops: "
            "tf.TensorListReserve)")


def one_line(exc: BaseException) -> str:
    """An exception as one readable line: the converter's own ``error:`` line when it has one, else the last."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line.split("error:", 1)[1].strip() for line in lines if "error:" in line]
    text = errors[-1] if errors else (lines[-1] if lines else type(exc).__name__)
    return (text[:300] + "…") if len(text) > 300 else text


def attempt(name: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``make()``'s format row, or a ``failed`` one naming the error: an export never fails the run."""
    try:
        return {"format": name, "status": "ok", **make()}
    except Exception as exc:  # noqa: BLE001 - any converter error becomes the format's status
        return {"format": name, "file": None, "bytes": None, "status": "failed", "detail": one_line(exc),
                "test_accuracy": None}


def skipped(name: str, why: str) -> dict[str, Any]:
    return {"format": name, "file": None, "bytes": None, "status": "skipped", "detail": why, "test_accuracy": None}


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (a SavedModel)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(model.predict(x, batch_size=SCORE_BATCH, verbose=0)), np.float64)


def _same(reference: np.ndarray, other: Any, what: str) -> float:
    """The largest logit difference; raises when it is above :data:`SAME_LOGITS`."""
    gap = float(np.max(np.abs(reference - np.asarray(other, dtype=np.float64)))) if len(reference) else 0.0
    if gap > SAME_LOGITS:
        raise ValueError(f"{what} predicts differently from student.keras (logits differ by up to {gap:.3g})")
    return gap


def savedmodel(student: keras.Model, folder: Path, x_check: np.ndarray, accuracy: float | None) -> dict[str, Any]:
    """``student_savedmodel/``: ``model.export`` as a TF SavedModel, reloaded and checked on a few test rows."""
    import tensorflow as tf

    target, tmp = folder / "student_savedmodel", folder / "student_savedmodel.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    student.export(str(tmp), format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(tmp))
    gap = _same(_logits(student, x_check), reloaded.serve(tf.constant(x_check, tf.int32)).numpy(), "the SavedModel")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return {"file": target.name, "bytes": size_of(target), "test_accuracy": accuracy,
            "detail": f"tf.saved_model.load(path).serve(tokens); same logits as student.keras on {len(x_check)} "
                      f"test rows (max difference {gap:.1g})"}


def int8(student: keras.Model, folder: Path, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """``student_int8.keras``: Keras' own ``quantize("int8")`` (Dense, Embedding), scored, reloaded by plain Keras."""
    quantized = deployable_copy(student)
    with warnings.catch_warnings():  # "Layer LSTM does not have a `quantize` method": those stay float
        warnings.simplefilter("ignore")
        quantized.quantize("int8")
    logits = _logits(quantized, x_test)
    target, tmp = folder / "student_int8.keras", folder / "student_int8.tmp.keras"
    quantized.save(tmp)
    reloaded = keras.models.load_model(tmp, compile=False, safe_mode=True)
    _same(logits[:CHECK_ROWS], _logits(reloaded, x_test[:CHECK_ROWS]), "student_int8.keras reloaded")
    os.replace(tmp, target)
    kinds = sorted({type(layer).__name__ for layer in quantized.layers if "int8" in str(layer.dtype_policy.name)})
    return {"file": target.name, "bytes": size_of(target), "test_accuracy": score_logits(logits, y_test).accuracy,
            "detail": f"int8 weights in {', '.join(kinds) or 'no layer'}; keras.models.load_model(path) reloads it"}


def unrolled(model: keras.Model) -> keras.Model | None:
    """A copy whose LSTM/GRU loops are unrolled (same weights, same logits); None without recurrent layers.

    TFLite's built-in ops cannot carry the TensorList a Keras 3 recurrent loop writes into;
    an unrolled loop is plain ops, at the cost of a file that grows with the input length.
    """
    found = False

    def unroll(node: Any) -> None:
        nonlocal found
        if isinstance(node, dict):
            if node.get("class_name") in ("LSTM", "GRU", "SimpleRNN"):
                node["config"]["unroll"], found = True, True
            for value in node.values():
                unroll(value)
        elif isinstance(node, list):
            for value in node:
                unroll(value)

    config = model.get_config()
    unroll(config)
    if not found:
        return None
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _convert_tflite(model: keras.Model) -> bytes:
    """The converter's bytes; the listing of endpoints it prints (it exports a SavedModel first) is dropped."""
    import tensorflow as tf

    with contextlib.redirect_stdout(io.StringIO()):
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def tflite(student: keras.Model, folder: Path, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """``student.tflite`` with built-in ops only (a recurrent student unrolled first), scored by TF's interpreter.

    A recurrent student goes unrolled straight away: as it is, its conversion fails every time (the
    TensorList of Keras 3's loop), and a failed conversion costs as long as a good one.
    """
    loops = unrolled(student)
    tries = [(loops, UNROLLED)] if loops is not None else []
    tries.append((student, "built-in TFLite ops"))
    errors = []
    for model, how in tries:
        try:
            flat, detail = _convert_tflite(model), how
            break
        except Exception as exc:  # noqa: BLE001 - the next try, or the reason of the failure
            errors.append(one_line(exc))
    else:
        raise ValueError(f"needs Flex ops (SELECT_TF_OPS): {'; '.join(errors)}")
    target = folder / "student.tflite"
    tmp = folder / "student.tmp.tflite"
    tmp.write_bytes(flat)
    os.replace(tmp, target)
    return {"file": target.name, "bytes": size_of(target),
            "test_accuracy": score_logits(tflite_logits(flat, x_test), y_test).accuracy, "detail": detail}


def tflite_logits(flat: bytes, x: np.ndarray) -> np.ndarray:
    """Logits of a TFLite model over ``x``, in full batches (the last one padded with zeros rows)."""
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter is deprecated for ai_edge_litert's, which is the same
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=flat, num_threads=1)
    given, taken = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(given["index"], (SCORE_BATCH, x.shape[1]))
    interpreter.allocate_tensors()
    out = []
    for start in range(0, len(x), SCORE_BATCH):
        chunk = np.asarray(x[start:start + SCORE_BATCH], dtype=np.int32)
        padded = np.zeros((SCORE_BATCH, x.shape[1]), dtype=np.int32)
        padded[: len(chunk)] = chunk
        interpreter.set_tensor(given["index"], padded)
        interpreter.invoke()
        out.append(np.array(interpreter.get_tensor(taken["index"]))[: len(chunk)])
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2))


def onnx_available() -> str | None:
    """Why the ONNX export cannot be tried here, or None when tf2onnx is installed."""
    if importlib.util.find_spec("tf2onnx") is None:
        return "tf2onnx is not installed (pip install tf2onnx onnx onnxruntime, as requirements.txt pins them)"
    return None


def onnx(student: keras.Model, folder: Path, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """``student.onnx`` through tf2onnx (opset 17), scored by onnxruntime when it is installed."""
    import tensorflow as tf
    import tf2onnx

    target, tmp = folder / "student.onnx", folder / "student.tmp.onnx"
    spec = (tf.TensorSpec((None, int(student.input_shape[1])), tf.int32, name="tokens"),)
    tf2onnx.convert.from_keras(student, input_signature=spec, opset=17, output_path=str(tmp))
    os.replace(tmp, target)
    accuracy, how = None, "tf2onnx, opset 17; input 'tokens' (int32 ids)"
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        logits = np.concatenate([session.run(None, {name: np.asarray(x_test[i:i + SCORE_BATCH], np.int32)})[0]
                                 for i in range(0, len(x_test), SCORE_BATCH)]) if len(x_test) else np.zeros((0, 2))
        accuracy = score_logits(logits, y_test).accuracy
        how += "; scored by onnxruntime"
    return {"file": target.name, "bytes": size_of(target), "test_accuracy": accuracy, "detail": how}
