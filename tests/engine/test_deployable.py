"""What a user downloads is the deployable model: architecture and weights, no optimizer state.

Adam keeps two slots per weight, so a file with its state is about three times the model; the
sizes shown ("Size on disk", "smaller by") must be those of the files a user gets. What resume
needs (the optimizer state) stays in ``checkpoints/``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from kdcore.config import RecurrentSize
from kdcore.engine.context import score_on_test
from kdcore.engine.data import load_splits
from kdcore.engine.files import save_deployable
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.pipeline import run_experiment
from kdcore.progress import RecordingReporter
from kdcore.samples import tiny_config

SMALL = RecurrentSize(embedding_dim=4, lstm_units=2, gru_units=2)
MODELS = ("student.keras", "scratch.keras", "teacher.keras")


def h5_names(file: h5py.File) -> list[str]:
    """Every group and dataset path in an HDF5 file."""
    names: list[str] = []
    file.visit(names.append)
    return names


def optimizer_entries(path: Path) -> list[str]:
    """The optimizer variables a saved ``.keras`` or ``.weights.h5`` file holds (empty for a deployable one)."""
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as inner, h5py.File(inner) as f:
            return [n for n in h5_names(f) if n.startswith("optimizer")]
    with h5py.File(path) as f:
        return [n for n in h5_names(f) if n.startswith("optimizer")]


def trained_model(seed: int = 0) -> tuple[keras.Model, np.ndarray]:
    """A tiny classifier after one fit step (its Adam state is built and non-zero) and reviews to predict."""
    keras.utils.set_random_seed(seed)
    model = compile_classifier(build_classifier(SMALL, 50, 8, "student"), 1e-2, False)
    x = np.random.default_rng(seed).integers(1, 50, size=(16, 8))
    model.fit(x, np.arange(16) % 2, batch_size=8, epochs=1, verbose=0)
    return model, x


def test_save_deployable__no_optimizer_state_and_the_same_logits(tmp_path: Path) -> None:
    # given: a trained, compiled model whose optimizer holds state
    model, x = trained_model()
    before = np.asarray(model.predict(x, verbose=0))
    assert model.optimizer.variables, "the fixture's optimizer has state to leave out"
    # when: it is saved as the download, with its weights file beside it
    size = save_deployable(model, tmp_path / "student.keras", tmp_path / "student.weights.h5")
    # then: neither file holds optimizer variables, the size is the file's, and plain Keras predicts the same
    for name in ("student.keras", "student.weights.h5"):
        assert optimizer_entries(tmp_path / name) == [], f"{name} must not carry optimizer state"
    assert size == (tmp_path / "student.keras").stat().st_size, "the size reported is that of the saved file"
    loaded = keras.models.load_model(tmp_path / "student.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6,
                               err_msg="the deployable model predicts what the trained one did")
    assert model.optimizer is not None and model.optimizer.variables, "the trained model keeps its own optimizer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.keras", "student.weights.h5"], "no temporary"


def test_save_deployable__the_weights_file_fits_a_model_built_by_hand(tmp_path: Path) -> None:
    # given: a trained model saved for download
    model, x = trained_model(seed=1)
    save_deployable(model, tmp_path / "student.keras", tmp_path / "student.weights.h5")
    # when: a user builds the same architecture and loads the weights file alone
    mine = build_classifier(SMALL, 50, 8, "student")
    mine.load_weights(tmp_path / "student.weights.h5")
    # then: it predicts what the trained model did
    np.testing.assert_allclose(mine.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6,
                               err_msg="the weights file holds exactly the model's weights")


@pytest.fixture(scope="module")
def tiny_run(synthetic_imdb, tmp_path_factory):
    """One complete tiny run, read only by the tests below."""
    home = tmp_path_factory.mktemp("home")
    folder = home / "runs" / "d1"
    config = tiny_config(synthetic_imdb)
    summary = run_experiment(config, folder, RecordingReporter(), home=home, tick_interval=0.0)
    return folder, summary, config


@pytest.mark.slow
def test_run_experiment__downloads_hold_no_optimizer_state(tiny_run) -> None:
    # given: a finished tiny run
    folder, _, _ = tiny_run
    # when: each file a user can download is opened
    # then: none carries the optimizer's variables (what resume needs lives in checkpoints/ only)
    for name in (*MODELS, "student.weights.h5"):
        assert optimizer_entries(folder / name) == [], f"{name} holds optimizer state"


@pytest.mark.slow
def test_run_experiment__sizes_are_the_downloaded_files(tiny_run) -> None:
    # given: a finished tiny run
    folder, summary, config = tiny_run
    arms = summary["arms"]
    # when: its reported sizes are compared with the files on disk
    # then: each saved arm's size is its deployable file's, and both ratios are labelled for what they compare
    for arm in ("student", "scratch", "teacher"):
        on_disk = (folder / f"{arm}.keras").stat().st_size
        assert arms[arm]["file_bytes"] == on_disk, f"{arm}: the size reported is that of {arm}.keras"
    assert summary["compression"] == pytest.approx(config.compression()), "compression is the parameters ratio"
    assert summary["bytes_ratio"] == pytest.approx(arms["teacher"]["file_bytes"] / arms["student"]["file_bytes"]), \
        "bytes_ratio is teacher.keras over student.keras"


@pytest.mark.slow
def test_run_experiment__the_download_scores_what_the_summary_says(tiny_run, synthetic_imdb) -> None:
    # given: a finished tiny run, its student scored on the test set before it was saved
    folder, summary, config = tiny_run
    splits = load_splits(config.data, config.train.seed)
    # when: the downloaded student.keras is loaded with plain Keras in safe mode and scored again
    student = keras.models.load_model(folder / "student.keras", safe_mode=True)
    test, _ = score_on_test(student, splits.x_test, splits.y_test, config.train.eval_batch_size)
    # then: it gives the same figures: the file is the model that was measured
    assert test["accuracy"] == pytest.approx(summary["arms"]["student"]["test_accuracy"]), "same accuracy"
    assert test["loss"] == pytest.approx(summary["arms"]["student"]["test_loss"], rel=1e-5), "same loss"
