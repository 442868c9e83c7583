"""A registered 3-class dataset end to end: three arms of 3 logits, the run's vocabulary, the raw-text student."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from kdcore.config import param_count
from kdcore.datasets import get_manifest, load_rows, register_frame
from kdcore.engine.pipeline import run_experiment
from kdcore.engine.text import vectorise
from kdcore.engine.text_export import TEXT_MODEL, TEXT_SIDECAR
from kdcore.paths import RUN_ARTIFACTS, TEXT_ARTIFACTS
from kdcore.samples import tiny_config

pytestmark = pytest.mark.slow
CUES = {"cats": ["purr", "whisker", "meow", "nap"], "dogs": ["bark", "fetch", "woof", "leash"],
        "fish": ["swim", "fin", "bubble", "tank"]}
FILLER = [f"w{i}" for i in range(40)]

#: Loads the raw-text student with plain Keras in a process that cannot see kdcore, and classifies texts.
PREDICT_RAW = """
import json, sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1])
texts = json.loads(open(sys.argv[2]).read())
one = np.asarray(model(np.array([["a raw sentence"]])))
many = model.predict(np.array(texts, dtype=object), verbose=0)
direct = np.asarray(model(np.array(texts)))
assert not any(m.startswith("kdcore") for m in sys.modules), "kdcore must not be needed"
print(json.dumps({"one": one.tolist(), "many": many.tolist(), "direct": direct.tolist()}))
"""


def learnable_frame(seed: int = 0) -> pd.DataFrame:
    """135 short texts of 3 classes (90 train, 15 val, 30 test): each has 3 of its class's words among filler."""
    rng = np.random.default_rng(seed)
    records = []
    for split, n in (("train", 90), ("val", 15), ("test", 30)):
        for i in range(n):
            label = list(CUES)[i % 3]
            words = list(rng.choice(FILLER, size=int(rng.integers(6, 14))))
            for cue in rng.choice(CUES[label], size=3):
                words.insert(int(rng.integers(0, len(words) + 1)), str(cue))
            records.append({"text": " ".join(words).capitalize() + ".", "label": label, "split": split})
    return pd.DataFrame.from_records(records)


@pytest.fixture(scope="module")
def registered_run(tmp_path_factory):
    """One tiny run of all three arms on a registered 3-class dataset, shared read-only."""
    home = tmp_path_factory.mktemp("home")
    manifest = register_frame(home, learnable_frame(), name="pets")
    config = tiny_config(Path("unused"), "data.path=null", f"data.dataset={manifest.id}", "data.validate_on=val")
    folder = home / "runs" / "r1"
    summary = run_experiment(config, folder, home=home, tick_interval=0.0)
    (folder / TEXT_MODEL).unlink()  # a finished run read back again makes it anew from student.keras
    again = run_experiment(config, folder, home=home, tick_interval=0.0)
    assert again["arms"] == summary["arms"], "a finished registered run reads back the same results"
    return folder, summary, config, manifest, home


def test_registered_run__three_arms_of_three_logits(registered_run):
    folder, summary, config, _, _ = registered_run
    # then every arm trained and was counted with 3 logits
    for arm, size in (("teacher", config.teacher), ("student", config.student), ("scratch", config.student)):
        result = summary["arms"][arm]
        assert result["test_accuracy"] is not None, f"{arm} was tested"
        assert result["params"] == param_count(size, config.data.vocab_size, 3), f"{arm}'s params count 3 logits"
        model = keras.models.load_model(folder / f"{arm}.keras", compile=False)
        assert model.output_shape == (None, 3), f"{arm}.keras has 3 logits"
        assert model.count_params() == result["params"], f"{arm}: param_count equals Keras' count"
    assert summary["arms"]["teacher"]["test_accuracy"] > 0.5, "the synthetic task is learnable (chance is 1/3)"


def test_registered_run__writes_every_artifact(registered_run):
    folder, _, _, _, _ = registered_run
    missing = [name for name in RUN_ARTIFACTS + TEXT_ARTIFACTS if not (folder / name).is_file()]
    assert not missing, f"artifacts missing: {missing}"


def test_registered_run__vocabulary_names_the_data(registered_run):
    folder, _, config, manifest, home = registered_run
    record = json.loads((folder / "vocabulary.json").read_text())
    assert record["dataset"] == manifest.id and record["source_sha256"] == manifest.source_sha256, "data by hash"
    assert record["classes"] == ["cats", "dogs", "fish"], "classes in their fixed order"
    assert record["vocabulary"][:2] == ["", "[UNK]"], "TextVectorization's vocabulary, padding and OOV first"
    cached = home / "datasets" / manifest.id / "vocab" / f"{record['key']}.json"
    assert json.loads(cached.read_text())["vocabulary"] == record["vocabulary"], "the cached one is the run's"
    assert json.loads((folder / "config.json").read_text())["data"]["dataset"] == manifest.id, "config names it"


def test_registered_run__text_student_equals_the_token_student(registered_run, tmp_path: Path):
    # given the finished run's test texts (and some without a token), and the token-id student's answers on their ids
    folder, _, config, manifest, home = registered_run
    rows = load_rows(home, manifest.id)
    texts = rows.loc[rows["split"] == "test", "text"].tolist() + ["", "?!", "   ", "purr purr meow"]
    vocabulary = json.loads((folder / "vocabulary.json").read_text())["vocabulary"]
    student = keras.models.load_model(folder / "student.keras", compile=False)
    logits = student.predict(vectorise(texts, config.data, vocabulary, config.data.maxlen), verbose=0)
    # when the raw-text student classifies the same texts in a fresh process with plain Keras
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    done = subprocess.run([sys.executable, "-c", PREDICT_RAW, str(folder / TEXT_MODEL), str(tmp_path / "texts.json")],
                          capture_output=True, text=True, cwd="/", timeout=180,
                          env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"plain keras.models.load_model failed:\n{done.stderr[-2000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # then its classes are the token student's, and its outputs are their probabilities
    probabilities = np.asarray(out["many"])
    np.testing.assert_array_equal(probabilities.argmax(axis=1), logits.argmax(axis=1),
                                  err_msg="the raw-text student answers as the token-id student does")
    np.testing.assert_allclose(probabilities, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-5,
                               err_msg="class probabilities: the softmax of the student's logits")
    np.testing.assert_allclose(np.asarray(out["direct"]), probabilities, atol=1e-6, err_msg="calling it = predict")
    assert np.asarray(out["one"]).shape == (1, 3), "one raw sentence in, three probabilities out"
    assert np.asarray(out["one"]).sum() == pytest.approx(1.0, abs=1e-5), "probabilities sum to one"
    assert np.isfinite(probabilities).all(), "texts without a token (empty, punctuation only) get probabilities too"


def test_registered_run__sidecar_says_how_to_use_it(registered_run):
    folder, _, config, manifest, _ = registered_run
    sidecar = json.loads((folder / TEXT_SIDECAR).read_text())
    assert sidecar["classes"] == list(get_manifest(folder.parents[1], manifest.id).classes), "output order"
    assert sidecar["maxlen"] == config.data.maxlen and sidecar["vocab_size"] == config.data.vocab_size, "settings"
    assert sidecar["dataset"]["id"] == manifest.id and sidecar["dataset"]["source_sha256"], "the data, by hash"
    assert "load_model" in sidecar["load"] and sidecar["call"], "how to load and call it"


def test_registered_run__augmented_students_on_post_padded_texts(tmp_path: Path):
    # given a registered dataset and a run whose students see windows and masked words
    home = tmp_path / "home"
    manifest = register_frame(home, learnable_frame(seed=1), name="pets")
    config = tiny_config(Path("unused"), "data.path=null", f"data.dataset={manifest.id}", "data.validate_on=val",
                         "data.maxlen=8", "data.teacher_maxlen=20", "distill.augment_window=1.0",
                         "distill.augment_mask=0.2", "distill.teacher_view=student", "train.epochs=1",
                         "train.teacher_epochs=1")
    # when it runs
    summary = run_experiment(config, home / "runs" / "aug", home=home, tick_interval=0.0)
    # then all three arms finish, on 3 classes
    assert all(summary["arms"][arm]["test_accuracy"] is not None for arm in ("teacher", "student", "scratch"))
    assert keras.models.load_model(home / "runs" / "aug" / "student.keras").output_shape == (None, 3)


def test_registered_run__real_tweets_three_classes(shared_tweets: Path, tmp_path: Path):
    # given the real tweets (not UTF-8, CRLF, 3 string classes) registered as they are
    from kdcore.datasets import register

    home = tmp_path / "home"
    manifest = register(home, shared_tweets)
    config = tiny_config(Path("unused"), "data.path=null", f"data.dataset={manifest.id}", "data.validate_on=val",
                         "data.vocab_size=2000", "data.maxlen=32", "data.train_limit=1200", "data.test_limit=300",
                         "train.epochs=1", "train.teacher_epochs=1")
    # when a tiny run trains on a sample of them
    folder = home / "runs" / "tweets"
    summary = run_experiment(config, folder, home=home, tick_interval=0.0)
    # then every arm has 3 logits, and the raw-text student names the classes in order
    assert manifest.classes == ("negative", "neutral", "positive"), "sorted string labels"
    assert keras.models.load_model(folder / "teacher.keras").output_shape == (None, 3), "3 logits"
    assert summary["arms"]["student"]["params"] == param_count(config.student, 2000, 3), "counted with 3 logits"
    assert json.loads((folder / TEXT_SIDECAR).read_text())["classes"] == list(manifest.classes), "output order"
    assert summary["data"]["train"] == 1200 and summary["data"]["test"] == 300, "the limits apply"
