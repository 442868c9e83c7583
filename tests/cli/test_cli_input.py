"""Bad input at the command line gets a message and exit 2, never a traceback (issue 17, items 12, 14, 15).

In process (``main([...])``): each case is refused before TensorFlow or a run folder is touched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdcore.cli.main import main
from kdcore.store import RunStore

TINY = ["--set", "teacher=tiny", "--set", "student=tiny"]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI and return its stderr, asserting exit 2 and no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"{argv}: exit {code}, stderr: {err}"
    assert "Traceback" not in err, err
    return err


# ----------------------------------------------------------------------------- config files


@pytest.mark.parametrize("command", ["submit", "run", "params"])
def test_cli__endless_config_file_is_refused_with_the_cap(command: str, kd_home: Path, capsys):
    # given --config /dev/zero (grew to 23 GB before)
    err = refused([command, "--config", "/dev/zero"], capsys)
    assert "/dev/zero" in err and "1 MB" in err, err
    assert not (kd_home / "runs").exists(), "nothing is written for a refused config"


@pytest.mark.parametrize("command", ["submit", "run", "params"])
def test_cli__binary_config_file_is_refused(command: str, kd_home: Path, tmp_path: Path, capsys):
    # given a binary file as the config (a traceback from UnicodeDecodeError before)
    path = tmp_path / "teacher.keras"
    path.write_bytes(b"PK\x03\x04\x00\xff\xfe binary")
    err = refused([command, "--config", str(path)], capsys)
    assert str(path) in err and "not a text file" in err, err


# ----------------------------------------------------------------------------- the home folder


@pytest.mark.parametrize("argv", [["status"], ["submit", *TINY], ["cancel", "x"], ["logs", "x"], ["run", *TINY],
                                  ["worker", "--exit-when-idle"]])
def test_cli__home_that_is_a_file_is_refused(argv: list[str], tmp_path: Path, monkeypatch, capsys):
    # given KDCORE_HOME naming a file (FileExistsError from mkdir before)
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    monkeypatch.setenv("KDCORE_HOME", str(home))
    err = refused(argv, capsys)
    assert str(home) in err and "names a file, not a folder" in err, err


def test_cli__home_under_a_file_is_refused(tmp_path: Path, capsys):
    # given --home inside a file's path
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = refused(["status", "--home", str(blocker / "home")], capsys)
    assert str(blocker) in err and "names a file, not a folder" in err, err


# ----------------------------------------------------------------------------- run ids


@pytest.mark.parametrize("run_id", ["../x", "a/b", "", ".hidden"])
def test_cli_run__unsafe_run_id_is_refused(run_id: str, kd_home: Path, capsys):
    # given run --run-id ../x (InvalidRunId traceback before)
    err = refused(["run", "--run-id", run_id, *TINY], capsys)
    assert "--run-id" in err and "run id must be 1-64 letters" in err, err
    assert not (kd_home / "runs").exists(), "no folder is made"


# ----------------------------------------------------------------------------- strict numbers and warnings


@pytest.mark.parametrize("command", ["submit", "run", "params"])
def test_cli__epochs_true_is_refused(command: str, kd_home: Path, capsys):
    err = refused([command, "--set", "train.epochs=true"], capsys)
    assert "train.epochs" in err and "true/false" in err, err


def test_cli_submit__huge_teacher_is_queued_with_a_warning(kd_home: Path, capsys):
    # given a teacher of billions of parameters: a warning, not a refusal
    code = main(["submit", "--set", "teacher=ngram", "--set", "teacher.embedding_dim=1024",
                 "--set", "teacher.bigram_buckets=4194304", "--set", "data.vocab_size=1000000"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "warning:" in err and "teacher" in err and "GB" in err, err
    assert out.strip(), "the run id is printed on stdout"


def test_cli_params__prints_the_memory_warning(kd_home: Path, capsys):
    assert main(["params", "--set", "teacher=ngram", "--set", "teacher.embedding_dim=4096"]) == 0
    assert "warning:" in capsys.readouterr().err


# ----------------------------------------------------------------------------- teacher_from


def _finished_run(home: Path, status: str = "succeeded", teacher: bool = True) -> str:
    """A run in the store with the given status and (maybe) a teacher.keras in its folder."""
    with RunStore(home) as store:
        run_id = store.create_run({"teacher": "tiny", "student": "tiny"})
        claimed = store.claim_next("w")
        assert claimed is not None and claimed.id == run_id
        store.finish(run_id, status, worker_id="w")
    folder = home / "runs" / run_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"teacher": "tiny"}))
    if teacher:
        (folder / "teacher.keras").write_bytes(b"PK")
    return run_id


@pytest.mark.parametrize("command", ["submit", "run"])
def test_cli__teacher_from_an_unknown_run_is_refused(command: str, kd_home: Path, capsys):
    err = refused([command, *TINY, "--set", "teacher_from=20990101-000000-abcdef"], capsys)
    assert "teacher_from" in err and "20990101-000000-abcdef" in err and "no run" in err, err


@pytest.mark.parametrize("command", ["submit", "run"])
def test_cli__teacher_from_a_failed_run_is_refused(command: str, kd_home: Path, capsys):
    run_id = _finished_run(kd_home, status="failed")
    err = refused([command, *TINY, "--set", f"teacher_from={run_id}"], capsys)
    assert "teacher_from" in err and "failed" in err and "succeeded" in err, err


@pytest.mark.parametrize("command", ["submit", "run"])
def test_cli__teacher_from_a_run_without_teacher_file_is_refused(command: str, kd_home: Path, capsys):
    run_id = _finished_run(kd_home, teacher=False)
    err = refused([command, *TINY, "--set", f"teacher_from={run_id}"], capsys)
    assert "teacher_from" in err and "teacher.keras" in err, err


def test_cli__teacher_from_an_unsafe_id_is_refused(kd_home: Path, capsys):
    err = refused(["submit", *TINY, "--set", "teacher_from=../../etc"], capsys)
    assert "teacher_from" in err and "run id must be" in err, err


def test_cli_submit__teacher_from_a_succeeded_run_with_its_teacher_is_queued(kd_home: Path, capsys):
    # given a succeeded run whose folder holds teacher.keras
    run_id = _finished_run(kd_home)
    # when a run reusing its teacher is submitted, then it is queued
    assert main(["submit", *TINY, "--set", f"teacher_from={run_id}"]) == 0, capsys.readouterr().err
    new_id = capsys.readouterr().out.strip()
    with RunStore(kd_home) as store:
        record = store.get_run(new_id)
    assert record is not None and record.config["teacher_from"] == run_id, record


def test_cli_run__teacher_from_a_foreground_run_needs_its_summary(kd_home: Path, capsys):
    # given a foreground run (not in the store) that stopped before writing summary.json
    folder = kd_home / "runs" / "fg"
    folder.mkdir(parents=True)
    (folder / "teacher.keras").write_bytes(b"PK")
    err = refused(["run", *TINY, "--set", "teacher_from=fg"], capsys)
    assert "teacher_from" in err and "did not finish" in err, err
