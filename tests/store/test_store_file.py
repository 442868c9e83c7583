"""The store's file itself: never silently recreated over a home that has runs, and a removed or replaced
file is noticed (issue 17, item 10). No TensorFlow."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.cli.main import main as cli_main
from kdcore.config import RunConfig
from kdcore.store import NEW_STORE_ENV, RunStore, StoreFileMissing

ROOT = Path(__file__).resolve().parents[2]


def _home_with_a_run_but_no_store(kd_home: Path) -> Path:
    """A home whose database was deleted while a finished run's folder stayed."""
    with RunStore(kd_home) as store:
        run_id = store.create_run(RunConfig(name="kept"))
    paths.run_dir(run_id, kd_home).mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{paths.store_path(kd_home)}{suffix}").unlink(missing_ok=True)
    return paths.runs_dir(kd_home)


def test_run_store__missing_file_over_run_folders_is_refused(kd_home: Path) -> None:
    # given
    runs = _home_with_a_run_but_no_store(kd_home)
    # when
    with pytest.raises(StoreFileMissing) as raised:
        RunStore(kd_home)
    # then
    message = str(raised.value)
    assert str(runs) in message and str(paths.store_path(kd_home)) in message, f"names the folders: {message}"
    assert NEW_STORE_ENV in message, f"says how to start a fresh store anyway: {message}"
    assert not paths.store_path(kd_home).exists(), "no empty database was created over the runs"


def test_run_store__missing_file_is_created_when_asked(kd_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    _home_with_a_run_but_no_store(kd_home)
    # when: told so, by argument and by the environment
    explicit = RunStore(kd_home, create=True)
    explicit.close()
    os.remove(paths.store_path(kd_home))
    monkeypatch.setenv(NEW_STORE_ENV, "1")
    by_env = RunStore(kd_home)
    # then
    assert by_env.list_runs() == [], "a fresh, empty store"
    assert paths.store_path(kd_home).exists(), "its file exists"


def test_run_store__new_home_and_empty_runs_folder_need_no_permission(kd_home: Path) -> None:
    # given: a home with an empty runs folder and a stray file in it
    (kd_home / "runs").mkdir()
    (kd_home / "runs" / "notes.txt").write_text("not a run")
    # when / then
    with RunStore(kd_home) as store:
        assert store.list_runs() == [], "a first start creates the store without asking"


def test_run_store__foreground_run_folders_without_any_store_are_no_loss(kd_home: Path) -> None:
    # given: `kdcore run` wrote a run folder; no store was ever opened in this home
    paths.run_dir("20260101-000000-abcdef", kd_home).mkdir(parents=True)
    # when / then
    with RunStore(kd_home) as store:
        assert store.list_runs() == [], "the first store of a home is created without asking"


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_run_store__notices_its_file_removed_or_replaced(kd_home: Path, how: str) -> None:
    # given
    store = RunStore(kd_home)
    assert store.file_changed() is None, "the file it opened is still there"
    # when
    if how == "removed":
        os.remove(store.path)
    else:
        shutil.copy(store.path, kd_home / "copy.sqlite3")
        os.replace(kd_home / "copy.sqlite3", store.path)
    # then
    reason = store.file_changed()
    assert reason is not None and how in reason and str(store.path) in reason, f"says what happened: {reason!r}"
    store.close()


def test_cli__status_over_home_with_runs_but_no_store_exits_2(kd_home: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # given
    runs = _home_with_a_run_but_no_store(kd_home)
    # when
    code = cli_main(["status", "--home", str(kd_home)])
    # then
    err = capsys.readouterr().err
    assert code == 2, f"bad state, exit 2 (got {code})"
    assert str(runs) in err and "Traceback" not in err, f"a message naming the folder: {err}"
    assert not paths.store_path(kd_home).exists(), "status created no empty database"


def test_app__home_with_runs_but_no_store_says_so(kd_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    runs = _home_with_a_run_but_no_store(kd_home)
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker", lambda home=None, **kw: True)
    # when: the app's first page opens
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    # then
    assert not at.exception, f"page raised: {at.exception}"
    errors = " ".join(e.value for e in at.error)
    assert str(runs) in errors and NEW_STORE_ENV in errors, f"the page names the folder and the way out: {errors}"
    assert not paths.store_path(kd_home).exists(), "the app created no empty database"


def test_run_store__file_check_survives_a_locked_file(kd_home: Path) -> None:
    # given: another process holds the write lock
    store = RunStore(kd_home)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        # when / then: the check only stats the file
        assert store.file_changed() is None, "a locked file is still the same file"
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()
