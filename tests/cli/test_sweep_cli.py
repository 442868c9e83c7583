"""``kdcore sweep`` and ``kdcore sweeps``: plan, queue, list, show as CSV, cancel; a bad grid exits 2 naming it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kdcore.cli.main import main
from kdcore.store import RunStore

GRID = ["--grid", "distill.alpha=0.1,0.5", "--grid", "distill.temperature=2,5"]


def test_sweep__dry_run_prints_the_plan_and_queues_nothing(kd_home: Path, capsys: pytest.CaptureFixture) -> None:
    # when
    code = main(["sweep", "--set", "student=tiny", *GRID, "--dry-run", "--home", str(kd_home)])
    # then
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "4 runs: 1 teacher(s) to train, 4 distilled student(s), 1 scratch student(s)" in err, err
    assert out.splitlines() == ["alpha=0.1 temperature=2", "alpha=0.1 temperature=5", "alpha=0.5 temperature=2",
                                "alpha=0.5 temperature=5"], out
    assert RunStore(kd_home).list_runs() == [], "a dry run queues nothing"


def test_sweep__queues_every_run_and_prints_the_sweep_id(kd_home: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    # given
    base = tmp_path / "base.yaml"
    base.write_text("student: tiny\ntrain:\n  epochs: 2\n")
    # when
    code = main(["sweep", "--config", str(base), *GRID, "--name", "kd", "--home", str(kd_home)])
    # then
    out = capsys.readouterr().out.strip()
    assert code == 0 and out.startswith("sweep-"), out
    runs = RunStore(kd_home).sweep_runs(out)
    assert len(runs) == 4 and all(r.run_config().train.epochs == 2 for r in runs), "the base applies to each run"
    assert runs[0].name == "kd · alpha=0.1 temperature=2", runs[0].name


def test_sweep__spec_file_with_halving(kd_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # given
    spec = tmp_path / "sweep.yaml"
    spec.write_text("name: halving\nbase:\n  train:\n    epochs: 4\ngrid:\n  distill.alpha: [0.1, 0.5, 0.9]\n"
                    "halving:\n  enabled: true\n  eta: 3\n")
    # when
    code = main(["sweep", "--spec", str(spec), "--home", str(kd_home)])
    # then
    sweep_id = capsys.readouterr().out.strip()
    sweep = RunStore(kd_home).get_sweep(sweep_id)
    assert code == 0 and sweep is not None, sweep_id
    assert sweep.spec["halving"] == {"enabled": True, "eta": 3, "min_epochs": 1}, sweep.spec


@pytest.mark.parametrize(("args", "expected"), [
    (["--grid", "distill.alpha=0.1,7"], "grid.distill.alpha=7: distill.alpha"),
    (["--grid", "distill.alfa=0.1"], "grid.distill.alfa=0.1: distill.alfa: unknown field"),
    (["--grid", "distill.alpha"], "expected field=value1,value2"),
    ([], "grid: give at least one --grid"),
    (["--grid", "train.seed=" + ",".join(str(i) for i in range(201))], "more than the limit of 200"),
    (["--grid", "student=tiny,notebook-student", "--halving"], "halving: a sweep over student sizes"),
])
def test_sweep__bad_grid_exits_2_naming_the_field(args: list[str], expected: str, kd_home: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    # when
    code = main(["sweep", *args, "--home", str(kd_home)])
    # then
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert RunStore(kd_home).list_runs() == [], "nothing queued"


def test_sweeps__list_show_csv_and_cancel(kd_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # given
    store = RunStore(kd_home)
    sweep_id = store.create_sweep({"name": "kd", "grid": {"distill.alpha": [0.1, 0.5]}})
    home = ["--home", str(kd_home)]
    # when / then: list
    assert main(["sweeps", *home]) == 0
    assert f"{sweep_id}  0/2 finished  kd" in capsys.readouterr().out
    # when / then: CSV
    table = tmp_path / "sweep.csv"
    assert main(["sweeps", sweep_id, "--csv", str(table), *home]) == 0
    rows = list(csv.DictReader(table.open()))
    assert [r["distill.alpha"] for r in rows] == ["0.1", "0.5"] and rows[0]["status"] == "queued", rows
    # when / then: cancel
    capsys.readouterr()
    assert main(["sweeps", sweep_id, "--cancel", *home]) == 0
    assert "cancelled 2" in capsys.readouterr().out
    assert {r.status for r in store.sweep_runs(sweep_id)} == {"cancelled"}
    # when / then: an unknown sweep
    assert main(["sweeps", "sweep-nope", *home]) == 2
    assert "no sweep 'sweep-nope'" in capsys.readouterr().err


def test_python_api__sweep_returns_the_id_of_the_queued_sweep(kd_home: Path) -> None:
    # given
    import kdcore

    # when
    sweep_id = kdcore.sweep({"distill.alpha": [0.1, 0.5]}, base={"student": "tiny"}, name="api",
                            halving={"enabled": True}, home=str(kd_home))
    # then
    store = RunStore(kd_home)
    assert [r.run_config().distill.alpha for r in store.sweep_runs(sweep_id)] == [0.1, 0.5], "both points queued"
    assert store.get_sweep(sweep_id).spec["halving"]["enabled"] is True, "halving kept"
    with pytest.raises(kdcore.ConfigError, match="grid.distill.alpha=2"):
        kdcore.sweep({"distill.alpha": [2]}, home=str(kd_home))
