"""Teachers not trained here: source rows, an uploaded .keras, soft labels, an ensemble, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from kdcore.config import apply_overrides
from kdcore.datasets import load_rows, register_frame
from kdcore.engine.data import load_split_views
from kdcore.engine.pipeline import run_experiment
from kdcore.engine.teacher_sources import (
    TeacherSourceError,
    combine_members,
    given_teacher,
    log_softmax,
    model_inputs,
)
from kdcore.samples import tiny_config


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_combine_members__log_probabilities_is_the_mean_of_log_softmax():
    # given two members' logits of 5 rows and 3 classes
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) * 3
    # when they are combined by their log-probabilities
    combined = combine_members([a, b], "log_probabilities")
    # then the result is the mean of their log-softmax, computed independently
    expected = (np.log(_softmax(a)) + np.log(_softmax(b))) / 2
    np.testing.assert_allclose(combined, expected, atol=1e-12, err_msg="not the mean of the log-probabilities")


def test_combine_members__probabilities_is_the_log_of_the_mean_softmax():
    # given two members' logits
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    # when they are combined by their probabilities
    combined = combine_members([a, b], "probabilities")
    # then it is the log of the mean probability, and its rows are distributions
    np.testing.assert_allclose(combined, np.log((_softmax(a) + _softmax(b)) / 2), atol=1e-12,
                               err_msg="not the log of the mean probabilities")
    np.testing.assert_allclose(np.exp(combined).sum(axis=1), 1.0, atol=1e-12, err_msg="rows must sum to 1")


def test_log_softmax__is_shift_invariant_and_normalised():
    # given logits and the same logits shifted per row
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 50.0]])
    # when taken to log-probabilities
    out = log_softmax(z)
    # then they are normalised and equal to the shifted rows'
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, err_msg="log_softmax rows do not sum to 1")
    np.testing.assert_allclose(out, log_softmax(z + np.array([[5.0], [-7.0]])), err_msg="not shift invariant")


def test_train_rows__imdb_rows_follow_the_limit_and_the_hold_out(synthetic_imdb):
    # given the whole training split (no hold-out) and a run with a limit and a validation hold-out
    whole = tiny_config(synthetic_imdb, "data.validate_on=test")
    part = tiny_config(synthetic_imdb, "data.train_limit=300", "data.test_limit=50", "data.validate_on=val")
    full = load_split_views(whole.data, 0, [40])[40]
    run = load_split_views(part.data, 0, [40])[40]
    # then each run row is the source row its index names, in the training and the test split
    assert full.source_counts == (400, 200), f"source counts {full.source_counts}"
    np.testing.assert_array_equal(full.x_train[run.train_rows], run.x_train, err_msg="train rows do not map")
    np.testing.assert_array_equal(full.y_train[run.train_rows], run.y_train, err_msg="train labels do not map")
    np.testing.assert_array_equal(full.x_test[run.test_rows], run.x_test, err_msg="test rows do not map")
    assert run.train_rows.max() < 300 and len(run.train_rows) < 300, "the hold-out must leave the limit's rows"


def _texts_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    records = [{"text": f"{'good fine' if i % 2 else 'bad poor'} w{int(rng.integers(0, 9))} item{i}",
                "label": "pos" if i % 2 else "neg", "split": split}
               for split, n in (("train", 40), ("val", 8), ("test", 12)) for i in range(n)]
    return pd.DataFrame.from_records(records)


def test_train_rows__registered_rows_index_the_split_in_rows_parquet_order(tmp_path):
    # given a registered dataset and a run that limits its training split
    home = tmp_path / "home"
    manifest = register_frame(home, _texts_frame(), name="texts")
    config = tiny_config(Path("unused"), "data.path=", f"data.dataset={manifest.id}", "data.train_limit=25")
    splits = load_split_views(config.data, 0, [40], home)[40]
    # then each row's index names its text among the stored training rows, in their stored order
    rows = load_rows(home, manifest.id)
    train = rows[rows["split"] == "train"]["text"].tolist()
    test = rows[rows["split"] == "test"]["text"].tolist()
    assert splits.source_counts == (len(train), len(test)), f"source counts {splits.source_counts}"
    assert [train[i] for i in splits.train_rows] == splits.texts_train, "train_rows do not name the texts"
    assert [test[i] for i in splits.test_rows] == splits.texts_test, "test_rows do not name the texts"
    assert len(splits.texts_train) == 25, "the limit must hold"


def test_model_inputs__a_token_teacher_of_another_length_is_refused(synthetic_imdb):
    # given a run whose teacher view is 40 tokens and a model that reads 50
    config = tiny_config(synthetic_imdb)
    splits = load_split_views(config.data, 0, [40])[40]
    # when its inputs are made, then the refusal says which setting to change
    with pytest.raises(TeacherSourceError, match="set data.teacher_maxlen=50"):
        model_inputs({"input": "tokens", "length": 50}, config.teacher_source, config, splits, splits, "file t.keras")


def test_model_inputs__a_text_teacher_on_imdb_npz_is_refused(synthetic_imdb):
    # given IMDB's npz (token ids, no texts) and a model that reads strings
    config = tiny_config(synthetic_imdb)
    splits = load_split_views(config.data, 0, [40])[40]
    # when its inputs are made, then the refusal says to register the CSV of texts
    with pytest.raises(TeacherSourceError, match="register imdb_reviews.csv.gz"):
        model_inputs({"input": "text", "length": None}, config.teacher_source, config, splits, splits, "file t.keras")


def test_model_inputs__a_declared_input_the_model_does_not_read_is_refused(synthetic_imdb):
    # given teacher_source.input=text and a model of token ids
    config = tiny_config(synthetic_imdb, "teacher_source.kind=keras", "teacher_source.file=t.keras",
                         "teacher_source.input=text")
    splits = load_split_views(config.data, 0, [40])[40]
    # then the mismatch is refused, naming the setting
    with pytest.raises(TeacherSourceError, match="teacher_source.input=tokens"):
        model_inputs({"input": "tokens", "length": 40}, config.teacher_source, config, splits, splits, "file t.keras")


# ---------------------------------------------------------------- end to end, on tiny runs (slow)


@pytest.fixture(scope="module")
def earlier(synthetic_imdb, tmp_path_factory):
    """A home with two finished tiny runs (a recurrent and an n-gram teacher), shared read-only."""
    home = tmp_path_factory.mktemp("home")
    runs = {}
    for run_id, extra in (("rec", ()), ("ngram", ("teacher=tiny-ngram", "data.teacher_maxlen=40"))):
        config = tiny_config(synthetic_imdb, "train.epochs=1", *extra)
        runs[run_id] = run_experiment(config, home / "runs" / run_id, home=home)
    return home, runs


def _student_weights(folder: Path) -> list[np.ndarray]:
    return keras.models.load_model(folder / "student.keras", compile=False).get_weights()


def _assert_same_weights(a: list[np.ndarray], b: list[np.ndarray], what: str) -> None:
    assert len(a) == len(b), f"{what}: different numbers of weights"
    for left, right in zip(a, b):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.slow
def test_keras_teacher__its_test_accuracy_is_the_earlier_teachers(earlier, synthetic_imdb):
    # given an earlier run's teacher.keras, uploaded as a file
    home, runs = earlier
    file = home / "runs" / "rec" / "teacher.keras"
    config = tiny_config(synthetic_imdb, "train.epochs=1", "teacher_source.kind=keras", f"teacher_source.file={file}")
    # when a run distils from it
    summary = run_experiment(config, home / "runs" / "up", home=home)
    # then its teacher scores what the earlier teacher scored, with its real parameters, and is not trained
    teacher, before = summary["arms"]["teacher"], runs["rec"]["arms"]["teacher"]
    assert teacher["test_accuracy"] == pytest.approx(before["test_accuracy"]), "not the earlier teacher's accuracy"
    assert teacher["params"] == before["params"], "params must be the model's count"
    assert teacher["epochs_trained"] == 0, "an uploaded teacher is not trained"
    assert summary["compression"] == pytest.approx(runs["rec"]["compression"]), "compression from the model"
    assert (home / "runs" / "up" / "teacher.keras").is_file(), "the uploaded model is kept as teacher.keras"
    assert list((home / "teachers" / "uploaded").iterdir()), "its logits are cached under teachers/uploaded"
    # and the finished run read back again (the logits from the cache) reports the same
    again = run_experiment(config, home / "runs" / "up", home=home)
    assert again["arms"] == summary["arms"], "a finished run read back must report the same arms"


@pytest.mark.slow
def test_keras_teacher__a_softmax_output_gives_the_student_of_its_logits_twin(earlier, synthetic_imdb, tmp_path):
    # given the earlier teacher and its twin that ends in a softmax
    home, _ = earlier
    logits_file = home / "runs" / "rec" / "teacher.keras"
    teacher = keras.models.load_model(logits_file, compile=False)
    inputs = keras.Input(shape=teacher.input_shape[1:], dtype="int32")
    twin = keras.Model(inputs, keras.layers.Softmax()(teacher(inputs)))
    twin_file = tmp_path / "softmax_teacher.keras"
    twin.save(twin_file)
    # when a student is distilled from each
    folders = {}
    for name, file in (("logits", logits_file), ("softmax", twin_file)):
        config = tiny_config(synthetic_imdb, "train.epochs=1", "train.train_scratch=false",
                             "teacher_source.kind=keras", f"teacher_source.file={file}")
        folders[name] = home / "runs" / f"twin-{name}"
        run_experiment(config, folders[name], home=home)
    # then the two students are the same
    _assert_same_weights(_student_weights(folders["logits"]), _student_weights(folders["softmax"]),
                         "a softmax teacher must give its logits twin's student")


@pytest.mark.slow
def test_soft_labels__give_the_student_of_the_trained_here_path(synthetic_imdb, tmp_path):
    # given a run that trained its teacher here, and that teacher's training logits exported in source order
    home = tmp_path / "home"
    config = tiny_config(synthetic_imdb, "train.epochs=2", "train.train_scratch=false")
    trained = home / "runs" / "here"
    run_experiment(config, trained, home=home)
    splits = load_split_views(config.data, config.train.seed, [config.data.maxlen])[config.data.maxlen]
    logits = np.load(trained / "checkpoints" / "teacher_logits.npy")
    exported = np.zeros((splits.source_counts[0], 2), dtype=np.float64)  # held-out rows: any finite outputs
    exported[splits.train_rows] = logits
    file = tmp_path / "soft.npy"
    np.save(file, exported)
    teacher = keras.models.load_model(trained / "teacher.keras", compile=False)
    exported_test = np.zeros((splits.source_counts[1], 2), dtype=np.float64)
    exported_test[splits.test_rows] = teacher.predict(splits.x_test, verbose=0)
    test_file = tmp_path / "soft_test.npy"
    np.save(test_file, exported_test)
    # when a run distils from the files of soft labels
    soft = apply_overrides(config, ["teacher_source.kind=soft_labels", f"teacher_source.file={file}",
                                    f"teacher_source.test_file={test_file}", "teacher_source.output=logits"])
    summary = run_experiment(soft, home / "runs" / "soft", home=home)
    # then its student has the trained-here student's weights, and its teacher the trained teacher's accuracy
    _assert_same_weights(_student_weights(trained), _student_weights(home / "runs" / "soft"),
                         "soft labels must give the trained-here student")
    here = json.loads((trained / "summary.json").read_text())
    assert summary["arms"]["teacher"]["test_accuracy"] == pytest.approx(here["arms"]["teacher"]["test_accuracy"]), (
        "the test outputs must give the teacher's test accuracy")
    assert summary["compression"] is None, "soft labels have no parameter count"
    assert not (home / "runs" / "soft" / "teacher.keras").exists(), "soft labels write no teacher.keras"


def test_soft_labels__without_test_outputs_the_teacher_has_no_test_accuracy(synthetic_imdb, tmp_path):
    # given soft labels for the 400 source training rows and no test file
    file = tmp_path / "soft.npy"
    values = np.random.default_rng(0).normal(size=(400, 2))
    np.save(file, values)
    config = tiny_config(synthetic_imdb, "teacher_source.kind=soft_labels", f"teacher_source.file={file}")
    splits = load_split_views(config.data, 0, [40])[40]
    # when the teacher's outputs are made
    given = given_teacher(config, splits, splits, tmp_path)
    # then the run's rows are picked by their source index, and the description says there is no test accuracy
    np.testing.assert_array_equal(given.train, values[splits.train_rows], err_msg="rows not picked by train_rows")
    assert given.test is None and given.params is None, "no test outputs, no parameters"
    assert "soft labels from soft.npy" in given.description and "no test accuracy" in given.description, (
        f"description: {given.description}")


def test_soft_labels__a_file_of_the_wrong_row_count_is_refused_naming_the_setting(synthetic_imdb, tmp_path):
    # given soft labels for 300 rows where the source training split has 400
    file = tmp_path / "short.npy"
    np.save(file, np.zeros((300, 2)))
    config = tiny_config(synthetic_imdb, "teacher_source.kind=soft_labels", f"teacher_source.file={file}")
    splits = load_split_views(config.data, 0, [40])[40]
    # then making the outputs is refused, naming the setting and the file
    with pytest.raises(TeacherSourceError, match=r"teacher_source.file: .*short.npy"):
        given_teacher(config, splits, splits, tmp_path)


@pytest.mark.slow
def test_ensemble__combines_the_members_log_probabilities_and_logs_each_accuracy(earlier, synthetic_imdb):
    # given two earlier runs' teachers as an ensemble
    home, runs = earlier
    config = tiny_config(synthetic_imdb, "teacher_source.kind=ensemble", "teacher_source.members=rec,ngram")
    views = load_split_views(config.data, config.train.seed, [40])
    # when its outputs are made
    logged: list[str] = []
    given = given_teacher(config, views[40], views[40], home, log=logged.append)
    # then they are the mean of the members' log-softmax, computed here with numpy from each model
    members = [keras.models.load_model(home / "runs" / r / "teacher.keras", compile=False) for r in ("rec", "ngram")]
    member_logits = [np.asarray(m.predict(views[40].x_train, verbose=0), dtype=np.float64) for m in members]
    expected = np.mean([z - np.log(np.exp(z).sum(axis=1, keepdims=True)) for z in member_logits], axis=0)
    np.testing.assert_allclose(given.train, expected, rtol=1e-5, atol=1e-5, err_msg="not the mean log-softmax")
    # and each member's test accuracy is the earlier run's, in the log and the description
    for run_id in ("rec", "ngram"):
        accuracy = runs[run_id]["arms"]["teacher"]["test_accuracy"]
        assert f"run {run_id} {accuracy:.1%}" in logged[0], f"member {run_id} missing from {logged}"
    assert given.params == sum(runs[r]["arms"]["teacher"]["params"] for r in ("rec", "ngram")), "params summed"
    # and a run of it records the ensemble's accuracy, says what it is, and writes no teacher.keras
    summary = run_experiment(config, home / "runs" / "ensemble", home=home, students=False)
    accuracy = summary["arms"]["teacher"]["test_accuracy"]
    assert summary["teacher_source"].startswith("ensemble of 2"), f"summary says {summary['teacher_source']}"
    assert summary["teacher_source"].endswith(f"-> {accuracy:.1%}"), f"summary says {summary['teacher_source']}"
    assert not (home / "runs" / "ensemble" / "teacher.keras").exists(), "an ensemble has no single teacher.keras"


@pytest.mark.slow
def test_keras_teacher__a_wrong_input_length_stops_the_run_with_the_setting(earlier, synthetic_imdb):
    # given the earlier 40-token teacher and a run whose teacher view is 60 tokens
    home, _ = earlier
    file = home / "runs" / "rec" / "teacher.keras"
    config = tiny_config(synthetic_imdb, "data.teacher_maxlen=60", "teacher_source.kind=keras",
                         f"teacher_source.file={file}")
    # when the run starts, then it stops with the reason
    with pytest.raises(TeacherSourceError, match="set data.teacher_maxlen=40"):
        run_experiment(config, home / "runs" / "wrong-length", home=home)


@pytest.mark.slow
def test_keras_teacher__labels_altered_batches_when_augmented(earlier, synthetic_imdb, tmp_path):
    # given the earlier teacher's softmax twin (probabilities out) and an augmented transfer set
    home, _ = earlier
    teacher = keras.models.load_model(home / "runs" / "rec" / "teacher.keras", compile=False)
    inputs = keras.Input(shape=teacher.input_shape[1:], dtype="int32")
    twin_file = tmp_path / "softmax_teacher.keras"
    keras.Model(inputs, keras.layers.Softmax()(teacher(inputs))).save(twin_file)
    config = tiny_config(synthetic_imdb, "train.epochs=1", "train.train_scratch=false", "distill.augment_mask=0.2",
                         "teacher_source.kind=keras", f"teacher_source.file={twin_file}")
    # when a run distils from it, the model labelling each altered batch (its probabilities taken to logs)
    summary = run_experiment(config, home / "runs" / "augmented", home=home)
    # then the student trained and the teacher is the uploaded model's
    student = summary["arms"]["student"]
    assert student["epochs_trained"] == 1 and np.isfinite(student["test_loss"]), f"student: {student}"
    assert summary["arms"]["teacher"]["params"] == teacher.count_params(), "the twin's parameters"


@pytest.mark.slow
def test_keras_teacher__a_raw_text_model_reads_the_registered_texts(tmp_path):
    # given a registered dataset and the raw-text student an earlier run exported
    home = tmp_path / "home"
    manifest = register_frame(home, _texts_frame(), name="texts")
    base = ("data.path=", f"data.dataset={manifest.id}", "train.epochs=2", "train.train_scratch=false")
    first = run_experiment(tiny_config(Path("unused"), *base), home / "runs" / "first", home=home)
    text_model = home / "runs" / "first" / "student_text.keras"
    # when it is the teacher of a run on the same dataset
    config = tiny_config(Path("unused"), *base, "teacher_source.kind=keras", f"teacher_source.file={text_model}")
    summary = run_experiment(config, home / "runs" / "second", home=home, students=False)
    # then it reads the raw texts and scores what the student scored
    assert summary["arms"]["teacher"]["test_accuracy"] == pytest.approx(first["arms"]["student"]["test_accuracy"]), (
        "the raw-text model must score as the student it was exported from")
