"""Students of any family (issue 20): a conv and an n-gram student train, distil, save, reload and read raw text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kdcore.config import SIZE_PRESETS, param_count
from kdcore.datasets import load_rows, register_frame
from kdcore.engine.models import build_classifier
from kdcore.engine.pipeline import run_experiment
from kdcore.engine.text import vectorise
from kdcore.engine.text_export import TEXT_MODEL
from kdcore.samples import tiny_config
from tests.engine.test_registered_run import learnable_frame

pytestmark = pytest.mark.slow

#: (family, the small preset a student of it takes in these tests, a layer only that family has)
FAMILY_STUDENTS = [("conv", "tiny-conv", "Conv1D"), ("ngram", "tiny-ngram", "GlobalAveragePooling1D")]
FAMILY_IDS = [family for family, _, _ in FAMILY_STUDENTS]

#: Loads a saved model with plain Keras (safe mode) in a process that cannot see kdcore, and predicts.
LOAD_PLAIN = """
import json, sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1], safe_mode=True)
x = np.array(json.loads(sys.argv[2]), dtype=sys.argv[3])
assert not any(m.startswith("kdcore") for m in sys.modules), "kdcore must not be needed"
print(json.dumps({"out": np.asarray(model(x)).tolist(), "layers": [type(l).__name__ for l in model.layers]}))
"""


def predict_plain(path: Path, rows: list, dtype: str) -> dict:
    """What ``path`` answers on ``rows`` when loaded by plain Keras in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", LOAD_PLAIN, str(path), json.dumps(rows), dtype], capture_output=True,
                          text=True, cwd="/", timeout=180, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"plain keras.models.load_model failed:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=FAMILY_STUDENTS, ids=FAMILY_IDS)
def family_run(request, synthetic_imdb, tmp_path_factory):
    """One tiny IMDB-layout run whose student is of another family than its (recurrent) teacher."""
    family, preset, layer = request.param
    home = tmp_path_factory.mktemp(f"home-{family}")
    config = tiny_config(synthetic_imdb, f"student={preset}")
    folder = home / "runs" / "r1"
    summary = run_experiment(config, folder, home=home, tick_interval=0.0)
    return family, layer, config, folder, summary


def test_run_experiment__student_of_another_family_trains_and_distils(family_run):
    # given a finished run with a conv or n-gram student under the recurrent teacher
    family, _, config, folder, summary = family_run
    # then both student arms trained, were counted as their family, and the pair was compared
    assert config.student.family == family and config.teacher.family == "recurrent", "the family is the student's"
    for arm in ("student", "scratch"):
        result = summary["arms"][arm]
        assert result["test_accuracy"] is not None, f"{family} {arm} was tested"
        assert result["params"] == param_count(config.student, config.data.vocab_size), f"{arm}: the family's count"
    student, scratch = summary["arms"]["student"], summary["arms"]["scratch"]
    assert student["gain_over_scratch"] == pytest.approx(student["test_accuracy"] - scratch["test_accuracy"]), \
        "the distilled student is paired with its scratch twin"
    assert summary["compression"] == pytest.approx(config.compression()), "compression counts the family's params"
    stored = json.loads((folder / "config.json").read_text())
    assert stored["student"]["family"] == family, "config.json says which family the student was"


def test_run_experiment__student_of_another_family_reloads_with_plain_keras(family_run):
    # given the run's student.keras
    family, layer, config, folder, summary = family_run
    tokens = np.random.default_rng(0).integers(0, config.data.vocab_size, size=(3, config.data.maxlen))
    in_process = keras.models.load_model(folder / "student.keras", compile=False)
    # when a fresh process loads it with plain Keras in safe mode
    out = predict_plain(folder / "student.keras", tokens.tolist(), "int32")
    # then it is the family's model, and answers as the one loaded here
    assert layer in out["layers"], f"a {family} student holds a {layer} layer: {out['layers']}"
    assert in_process.count_params() == summary["arms"]["student"]["params"], "the student alone, no Distiller"
    np.testing.assert_allclose(np.asarray(out["out"]), in_process.predict(tokens, verbose=0), atol=1e-5,
                               err_msg="the same logits in a process without kdcore")


def test_scratch_key__follows_the_students_family(synthetic_imdb):
    # given runs that differ only in the student's family, and one that differs in the student only
    recurrent = tiny_config(synthetic_imdb)
    conv = tiny_config(synthetic_imdb, "student=tiny-conv")
    # then the scratch twin is another model, the teacher the same one
    assert conv.scratch_key(0) != recurrent.scratch_key(0), "another family is another scratch student"
    assert conv.teacher_key() == recurrent.teacher_key(), "the teacher does not depend on the student"


@pytest.fixture(scope="module", params=FAMILY_STUDENTS, ids=FAMILY_IDS)
def registered_family_run(request, tmp_path_factory):
    """A tiny run on a registered 3-class dataset whose student is conv or n-gram: it exports the raw-text student."""
    family, preset, _ = request.param
    home = tmp_path_factory.mktemp(f"reg-{family}")
    manifest = register_frame(home, learnable_frame(), name="pets")
    config = tiny_config(Path("unused"), "data.path=null", f"data.dataset={manifest.id}", "data.validate_on=val",
                         f"student={preset}", "train.epochs=1", "train.teacher_epochs=1")
    folder = home / "runs" / "r1"
    run_experiment(config, folder, home=home, tick_interval=0.0)
    return family, config, folder, load_rows(home, manifest.id)


def test_text_export__raw_text_student_of_another_family(registered_family_run):
    # given the run's test texts, some without a single known token, and the token student's answers on their ids
    family, config, folder, rows = registered_family_run
    texts = rows.loc[rows["split"] == "test", "text"].tolist()[:10] + ["", "?!", "purr purr meow"]
    vocabulary = json.loads((folder / "vocabulary.json").read_text())["vocabulary"]
    student = keras.models.load_model(folder / "student.keras", compile=False)
    logits = student.predict(vectorise(texts, config.data, vocabulary, config.data.maxlen), verbose=0)
    # when student_text.keras classifies the same raw strings in a fresh process with plain Keras
    out = np.asarray(predict_plain(folder / TEXT_MODEL, [[t] for t in texts], "object")["out"])
    # then it gives the token student's class probabilities, finite for the empty texts too
    assert out.shape == (len(texts), 3), f"{family}: one row of 3 probabilities per text"
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-5,
                               err_msg=f"the raw-text {family} student answers as the token-id one")
    assert np.isfinite(out).all(), f"{family}: a text without a token still gets probabilities"


@pytest.mark.parametrize("preset", ["tiny-ngram", "tiny-conv"])
def test_build_classifier__post_padding_with_a_mask_builds_and_trains(preset: str):
    # given a student of another family built for post-padded texts (mask_padding, as for a post-padded dataset)
    keras.utils.set_random_seed(0)
    size = SIZE_PRESETS[preset]
    short = build_classifier(size, 30, 6, "short", num_classes=3, mask_padding=True)
    long = build_classifier(size, 30, 12, "long", num_classes=3, mask_padding=True)
    long.set_weights(short.get_weights())
    tokens = np.array([[5, 9, 3, 0, 0, 0]], dtype=np.int32)
    # when it takes a training step
    short.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = short.train_on_batch(tokens, np.array([1]))
    # then it trains; the n-gram family's masked average ignores the trailing zeros (a conv's max over time does not
    # take a mask: it is indifferent to where padding sits only up to the padding's own embedding)
    assert np.isfinite(loss), f"{preset}: a finite loss on a post-padded text"
    if size.family == "ngram":
        long.set_weights(short.get_weights())
        np.testing.assert_allclose(short.predict(tokens, verbose=0),
                                   long.predict(np.pad(tokens, ((0, 0), (0, 6))), verbose=0), atol=1e-5,
                                   err_msg="trailing zeros must not change the n-gram student's answer")
