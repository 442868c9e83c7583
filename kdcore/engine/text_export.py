"""``student_text.keras``: the trained student behind its own ``TextVectorization``, reading raw strings.

Why a second download: ``student.keras`` takes token ids, and the ids are those of a vocabulary
fitted on the run's training split, so a user would have to rebuild the exact vectorizer to
use it. Here the fitted vocabulary, the standardisation, the split and the student's padding
(its last ``maxlen`` tokens, padded in front) sit inside the model, followed by the student and a softmax:
strings in, class probabilities out. Built from Keras' own layers only, so it loads with plain
``keras.models.load_model`` (safe mode) in a process without kdcore. ``student_text.json`` says
which column is which class, how to load and call it, and which data it was trained on, by hash.
Any family's student fits behind it: each reads the same token ids, and a text with no known
token becomes one OOV id, so the n-gram student's masked average never divides by zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
from keras import layers

from kdcore.config import DataConfig
from kdcore.datasets import Manifest
from kdcore.engine.files import atomic_write_text, save_deployable
from kdcore.engine.text import keep_last, never_empty, vectorizer

TEXT_MODEL = "student_text.keras"
TEXT_SIDECAR = "student_text.json"
#: How to call the file, as tested (tests/engine/test_text_export.py) in a fresh process. ``predict`` refuses
#: NumPy's fixed-width str arrays and 2-D object arrays; calling the model takes either.
CALL_FORMS = {
    "one text": "model(np.array([['a raw sentence']])) -> shape (1, K)",
    "a list of strings": "model.predict(np.array(texts, dtype=object), verbose=0) -> shape (len(texts), K)",
    "directly": "model(np.array(texts)) -> shape (len(texts), K), one row per text",
}


def text_student(student: keras.Model, data: DataConfig, vocabulary: list[str]) -> keras.Model:
    """Strings of shape (1,) -> the run's vectorizer at the student's length -> the student -> softmax.

    An empty text becomes one OOV id, as in training (:func:`~kdcore.engine.text.never_empty`).
    """
    texts = keras.Input(shape=(1,), dtype="string", name="text")
    tokens = never_empty(keep_last(vectorizer(data, vocabulary)(texts), data.maxlen))
    probabilities = layers.Activation("softmax", dtype="float32", name="probabilities")(student(tokens))
    return keras.Model(texts, probabilities, name="student_text")


def sidecar(manifest: Manifest, data: DataConfig, vocabulary: list[str]) -> dict[str, Any]:
    """What ``student_text.json`` says: the classes in output order, the text settings, the data, how to call it."""
    return {
        "model": TEXT_MODEL,
        "classes": list(manifest.classes),
        "output": "class probabilities (softmax), one column per class in the order of 'classes'",
        "input": "raw text strings, one per row (shape (n, 1) or (n,)); the model standardises, splits and pads",
        "maxlen": data.maxlen, "padding": "pre (the last maxlen tokens are read, padded in front)",
        "vocab_size": data.vocab_size, "vocabulary_tokens": len(vocabulary),
        "standardize": data.standardize, "split": data.split,
        "dataset": {"id": manifest.id, "name": manifest.name, "source_name": manifest.source_name,
                    "source_sha256": manifest.source_sha256},
        "load": "import keras, numpy as np; model = keras.models.load_model('student_text.keras')",
        "call": CALL_FORMS,
        "note": "model.predict refuses NumPy str arrays (dtype '<U...') and 2-D object arrays (Keras 3.15); call the "
                "model itself, or give predict a 1-D array of dtype object",
        "needs": "keras 3 on the TensorFlow backend (TextVectorization runs on tf.strings)",
    }


def export_text_student(run_dir: Path, manifest: Manifest, data: DataConfig, vocabulary: list[str]) -> int | None:
    """Write ``student_text.keras`` and its sidecar from the run's ``student.keras``; its size, None without one.

    Built from the saved student (not the one in memory), so a finished run read back again, or
    resumed after its students, exports the same model; both files are written aside and renamed.
    """
    student_file = run_dir / "student.keras"
    if not student_file.is_file():
        return None
    student = keras.models.load_model(student_file, compile=False, safe_mode=True)
    size = save_deployable(text_student(student, data, vocabulary), run_dir / TEXT_MODEL)
    atomic_write_text(run_dir / TEXT_SIDECAR, json.dumps(sidecar(manifest, data, vocabulary), indent=1) + "\n")
    return size
