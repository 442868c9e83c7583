"""``python -m kdcore``: help, config errors without tracebacks, and the quick run on real IMDB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdcore.cli.main import main
from kdcore.paths import RUN_ARTIFACTS as ARTIFACT_FILES

ROOT = Path(__file__).resolve().parents[2]


def kdcore_cli(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KDCORE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kdcore", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def test_cli_run_help__documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--config", "--set", "--home", "--run-id", "--tick-interval"):
        assert option in text, f"run --help must document {option}"


def test_cli_schema__lists_every_field(capsys):
    assert main(["schema"]) == 0
    text = capsys.readouterr().out
    for field in ("distill.alpha", "distill.temperature", "train.epochs", "teacher.lstm_units", "data.path"):
        assert f"`{field}`" in text


@pytest.mark.parametrize(("override", "field"), [("distill.alpha=1.3", "distill.alpha"),
                                                 ("student.gru_units=0", "student.gru_units"),
                                                 ("train.epochs=0", "train.epochs"),
                                                 ("bogus=1", "bogus")])
def test_cli_run__bad_config_exits_2_naming_the_field(override, field, kd_home, capsys):
    assert main(["run", "--set", override]) == 2, "a bad config is a usage error"
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err, err
    assert not (kd_home / "runs").exists(), "nothing is written for a refused config"


def test_cli_params__counts_without_tensorflow(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "2,857,474" in out and "1,323,778" in out, "the notebook's counts"


def test_cli_run__missing_data_file_is_a_clear_error(tmp_path):
    done = kdcore_cli("run", "--set", f"data.path={tmp_path / 'nope.npz'}", "--set", "teacher=tiny",
                      "--set", "student=tiny", home=tmp_path, timeout=180)
    assert done.returncode == 1, done.stderr[-1000:]
    assert "data.path" in done.stderr and "Traceback" not in done.stderr, done.stderr[-1000:]


@pytest.mark.slow
def test_cli_run__quick_run_on_imdb_slice_writes_every_artifact(shared_imdb, tmp_path):
    # given the quick run: 2,000 train / 1,000 test reviews, maxlen 100, 1 epoch per arm
    done = kdcore_cli("run", "--run-id", "quick", "--set", f"data.path={shared_imdb}",
                      "--set", "data.train_limit=2000", "--set", "data.test_limit=1000", "--set", "data.maxlen=100",
                      "--set", "train.epochs=1", home=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "runs" / "quick"
    missing = [name for name in ARTIFACT_FILES if not (folder / name).is_file()]
    assert not missing, f"artifacts missing: {missing}"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["arms"]["teacher"]["params"] == 2_857_474, "the notebook teacher by default"
    assert "[student] epoch 1/1" in done.stdout, "progress per arm is printed"
    # then the student loads with plain keras, without kdcore, and predicts on new input
    from tests.engine.test_pipeline import load_without_kdcore

    assert "(3, 2)" in load_without_kdcore(folder / "student.keras")
