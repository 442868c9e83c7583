"""``python -m kdcore dataset``: add prints the preview and the id, list/show/rename/rm, errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdcore.cli.main import main
from kdcore.config import RunConfig
from kdcore.store import RunStore


def _csv(tmp_path: Path, name: str = "reviews.csv") -> Path:
    path = tmp_path / name
    lines = ["body,stars"] + [f"a {'good' if i % 2 else 'bad'} film number {i},{i % 2 + 1}" for i in range(20)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _add(tmp_path: Path, home: Path, capsys, *extra: str) -> str:
    assert main(["dataset", "add", str(_csv(tmp_path)), "--home", str(home), *extra]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_dataset_add__prints_summary_then_the_id(tmp_path: Path, capsys):
    home = tmp_path / "home"
    assert main(["dataset", "add", str(_csv(tmp_path)), "--home", str(home), "--name", "Films"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "20 rows" in out[0] and "'body'" in out[0] and "'stars'" in out[0], out[0]
    assert (home / "datasets" / out[-1] / "manifest.json").is_file(), "the last line is the id"


def test_dataset_list_show_rename(tmp_path: Path, capsys):
    home = tmp_path / "home"
    dataset_id = _add(tmp_path, home, capsys, "--name", "Films")
    assert main(["dataset", "list", "--home", str(home)]) == 0
    listed = capsys.readouterr().out
    assert dataset_id in listed and "Films" in listed and "imdb" in listed, listed
    assert main(["dataset", "rename", dataset_id, "Movies", "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["dataset", "show", dataset_id, "--home", str(home)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "Movies" and shown["classes"] == ["1", "2"], shown


def test_dataset_rm__refused_while_a_queued_run_uses_it(tmp_path: Path, capsys):
    # given a dataset and a queued run on it
    home = tmp_path / "home"
    dataset_id = _add(tmp_path, home, capsys)
    with RunStore(home) as store:
        run_id = store.create_run(RunConfig.model_validate({"data": {"dataset": dataset_id}}))
    assert main(["dataset", "rm", dataset_id, "--home", str(home)]) == 2, "refused: a usage error"
    err = capsys.readouterr().err
    assert run_id in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # when the run is cancelled, then the dataset can go
    with RunStore(home) as store:
        store.request_cancel(run_id)
    assert main(["dataset", "rm", dataset_id, "--home", str(home)]) == 0
    assert not (home / "datasets" / dataset_id).exists(), "deleted"


@pytest.mark.parametrize(("argv", "words"), [
    (["dataset", "show", "0123456789abcdef"], "no registered dataset"),
    (["dataset", "show", "../x"], "not a dataset id"),
    (["dataset", "rm", "imdb"], "cannot be deleted"),
    (["dataset", "add", "/nonexistent/file.csv"], "no such file"),
])
def test_dataset__errors_are_one_line_exit_2(argv: list[str], words: str, tmp_path: Path, capsys):
    assert main([*argv, "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_dataset_add__bad_file_is_refused_and_nothing_stored(tmp_path: Path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n\"never closed,pos\nx,neg\n")
    assert main(["dataset", "add", str(bad), "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv line 2" in err, err
    assert not (tmp_path / "home" / "datasets").exists() or not any((tmp_path / "home" / "datasets").iterdir())


def test_dataset_add__options_reach_the_reader(tmp_path: Path, capsys):
    home = tmp_path / "home"
    source = tmp_path / "x.csv"
    source.write_text("a,b,c\n" + "".join(f"text {i},{i % 2},{'train' if i < 16 else 'test'}\n" for i in range(20)))
    assert main(["dataset", "add", str(source), "--home", str(home), "--text-column", "a", "--label-column", "b",
                 "--split-column", "c", "--seed", "3"]) == 0
    dataset_id = capsys.readouterr().out.strip().splitlines()[-1]
    manifest = json.loads((home / "datasets" / dataset_id / "manifest.json").read_text())
    assert manifest["split_sizes"]["test"] == 4 and "'c'" in manifest["split_origin"], manifest
