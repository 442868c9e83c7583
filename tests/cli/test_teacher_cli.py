"""``python -m kdcore teacher check``: a JSON report on the last line, exit 0 when the teacher fits and 2 when not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdcore.cli.main import main
from kdcore.datasets import register_frame

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "data.maxlen=40", "--set", "data.vocab_size=200"]


def _data(npz: Path) -> list[str]:
    return ["--set", f"data.path={npz}", *TINY]


def _report(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert out, "the command printed nothing on stdout"
    return json.loads(out[-1])


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A teacher that fits tiny_config's data (40 ids, 200 words, 2 classes) and one of 3 outputs."""
    import keras

    folder = tmp_path_factory.mktemp("cli_teachers")
    files = {}
    for name, width in (("fits", 2), ("wide", 3)):
        model = keras.Sequential([keras.Input((40,), dtype="int32"), keras.layers.Embedding(200, 4),
                                  keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(width)])
        files[name] = folder / f"{name}.keras"
        model.save(files[name])
    return files


def test_teacher_check__fitting_keras_model_exits_0_with_a_json_report(keras_files, synthetic_imdb, tmp_path, capsys):
    # when a fitting model is checked against the synthetic IMDB
    code = main(["teacher", "check", str(keras_files["fits"]), *_data(synthetic_imdb), "--home", str(tmp_path)])
    # then the exit code is 0 and the last line is the report
    report = _report(capsys)
    assert code == 0, report
    assert report["ok"] is True and report["check"] == "keras", report
    assert (report["input"], report["input_length"], report["outputs"]) == ("tokens", 40, 2), report


def test_teacher_check__wrong_width_exits_2_with_the_problem(keras_files, synthetic_imdb, tmp_path, capsys):
    code = main(["teacher", "check", str(keras_files["wide"]), *_data(synthetic_imdb), "--home", str(tmp_path)])
    report = _report(capsys)
    assert code == 2, report
    assert report["ok"] is False and any("2 classes" in p for p in report["problems"]), report


def test_teacher_check__the_configs_file_under_uploads(keras_files, synthetic_imdb, tmp_path, capsys):
    # given the model kept under <home>/uploads/ and named by the config alone
    home = tmp_path / "home"
    (home / "uploads").mkdir(parents=True)
    (home / "uploads" / "mine.keras").write_bytes(keras_files["fits"].read_bytes())
    # when the check is given no file
    code = main(["teacher", "check", *_data(synthetic_imdb), "--set", "teacher_source.kind=keras",
                 "--set", "teacher_source.file=mine.keras", "--home", str(home)])
    # then it finds the upload
    report = _report(capsys)
    assert code == 0 and report["file"] == "mine.keras", report


def test_teacher_check__soft_labels_against_imdb_train_and_test(synthetic_imdb, tmp_path, capsys):
    # given logits for the synthetic IMDB's 400 training rows
    np.save(tmp_path / "train.npy", np.random.default_rng(0).normal(size=(400, 2)))
    # when checked for the training split, then for the test split (200 rows)
    ok = main(["teacher", "check", "--soft-labels", str(tmp_path / "train.npy"), *_data(synthetic_imdb),
               "--home", str(tmp_path)])
    ok_report = _report(capsys)
    wrong = main(["teacher", "check", "--soft-labels", str(tmp_path / "train.npy"), "--split", "test",
                  *_data(synthetic_imdb), "--home", str(tmp_path)])
    wrong_report = _report(capsys)
    # then the first fits and the second says the counts
    assert ok == 0 and ok_report["kind"] == "logits" and ok_report["rows"] == 400, ok_report
    assert len(ok_report["sha256"]) == 64, ok_report
    assert wrong == 2 and "400 rows" in wrong_report["problems"][0] and "200" in wrong_report["problems"][0], (
        wrong_report)


def test_teacher_check__soft_labels_of_a_registered_dataset_by_id(tmp_path, capsys):
    # given a registered 3-class dataset and probabilities for its training rows, shuffled, with ids
    home = tmp_path / "home"
    frame = pd.DataFrame({"text": [f"text {c} number {i}" for c in "abc" for i in range(20)],
                          "label": [c for c in "abc" for _ in range(20)]})
    manifest = register_frame(home, frame, name="abc")
    rows = manifest.split_sizes["train"]
    p = np.full((rows, 3), 1 / 3)
    table = pd.DataFrame(p, columns=["a", "b", "c"])
    table.insert(0, "row", np.arange(rows))
    table.sample(frac=1.0, random_state=0).to_csv(tmp_path / "probs.csv", index=False)
    # when checked with the id column
    code = main(["teacher", "check", "--soft-labels", str(tmp_path / "probs.csv"), "--id-column", "row",
                 "--set", f"data.dataset={manifest.id}", "--home", str(home)])
    # then it fits, as probabilities
    report = _report(capsys)
    assert code == 0 and report["kind"] == "probabilities" and report["rows"] == rows, report


def test_teacher_check__config_problems_and_nothing_to_check_exit_2_with_json(tmp_path, capsys):
    bad = main(["teacher", "check", "--set", "data.bogus=1", "--home", str(tmp_path)])
    bad_report = _report(capsys)
    nothing = main(["teacher", "check", "--home", str(tmp_path)])
    nothing_report = _report(capsys)
    missing = main(["teacher", "check", str(tmp_path / "absent.keras"), "--home", str(tmp_path)])
    missing_report = _report(capsys)
    assert bad == 2 and "data.bogus" in bad_report["problems"][0], bad_report
    assert nothing == 2 and "nothing to check" in nothing_report["problems"][0], nothing_report
    assert missing == 2 and "no such file" in missing_report["problems"][0], missing_report


@pytest.mark.slow
def test_teacher_check__soft_labels_never_import_tensorflow(synthetic_imdb, tmp_path):
    # given a soft-label file and a fresh interpreter
    np.save(tmp_path / "train.npy", np.random.default_rng(1).normal(size=(400, 2)))
    script = ("import sys, json; from kdcore.cli.main import main; "
              f"code = main(['teacher', 'check', '--soft-labels', {str(tmp_path / 'train.npy')!r}, "
              f"'--set', 'data.path={synthetic_imdb}', '--home', {str(tmp_path)!r}]); "
              "print(json.dumps({'code': code, 'tf': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules}))")
    # when the check runs there
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    # then it passed without loading TensorFlow or Keras
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "tf": False, "keras": False}, (result, done.stderr[-2000:])


def test_split_shape__is_the_engines_source_count(synthetic_imdb, tmp_path):
    # given the synthetic IMDB, with a limit and a hold-out that the source order ignores
    from kdcore.cli.teacher import split_shape
    from kdcore.config import DataConfig
    from kdcore.engine.data import load_split_views

    data = DataConfig(path=str(synthetic_imdb), maxlen=40, vocab_size=200, train_limit=100, test_limit=50)
    splits = load_split_views(data, 0, [40], tmp_path)[40]
    # then the rows a soft-label file must hold are the engine's source counts, not the limited ones
    counts = (split_shape(data, "train", tmp_path)[0], split_shape(data, "test", tmp_path)[0])
    assert counts == splits.source_counts, (counts, splits.source_counts)
    assert split_shape(data, "train", tmp_path) == (400, 2) and split_shape(data, "test", tmp_path) == (200, 2)


@pytest.mark.slow
def test_split_shape__full_imdb_has_25000_rows_each(shared_imdb, tmp_path):
    from kdcore.cli.teacher import split_shape
    from kdcore.config import DataConfig

    data = DataConfig(path=str(shared_imdb))
    assert split_shape(data, "train", tmp_path) == (25000, 2), "x_train of Keras' imdb.npz"
    assert split_shape(data, "test", tmp_path) == (25000, 2), "x_test of Keras' imdb.npz"
