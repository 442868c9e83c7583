"""The home folder and the run-id check that guards every path built from a run id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kdcore.paths import (
    HOME_ENV,
    HomeNotAFolder,
    InvalidRunId,
    check_home,
    home_dir,
    run_dir,
    runs_dir,
    store_path,
    teachers_dir,
    validate_run_id,
)


@pytest.mark.parametrize("run_id", [
    "20240131-235959-a1b2c3",
    "20991231-000000-zzzzzz",
    "a",
    "Run_1-b",
    "x" * 64,
])
def test_validate_run_id(run_id: str):
    # given / when
    result = validate_run_id(run_id)

    # then
    assert result == run_id, "a safe id is returned unchanged"


@pytest.mark.parametrize("run_id", [
    pytest.param("../x", id="parent"),
    pytest.param("..", id="dot-dot"),
    pytest.param("", id="empty"),
    pytest.param("a/b", id="slash"),
    pytest.param("a\\b", id="backslash"),
    pytest.param(".hidden", id="hidden"),
    pytest.param("-rf", id="leading-dash"),
    pytest.param("_x", id="leading-underscore"),
    pytest.param("x" * 65, id="too-long"),
    pytest.param("x" * 1000, id="very-long"),
    pytest.param("abc\n", id="trailing-newline"),
    pytest.param(" abc", id="leading-space"),
    pytest.param("a b", id="space"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("/etc", id="absolute"),
    pytest.param("runé", id="non-ascii"),
])
def test_validate_run_id__rejected(run_id: str):
    # given / when / then
    with pytest.raises(InvalidRunId) as error:
        validate_run_id(run_id)
    assert repr(run_id) in str(error.value), f"the message shows the bad id: {error.value}"


@pytest.mark.parametrize("run_id", [None, 123, b"abc", Path("abc"), ["abc"]])
def test_validate_run_id__non_string(run_id: Any):
    # given / when / then
    with pytest.raises(InvalidRunId):
        validate_run_id(run_id)


def test_invalid_run_id__is_a_value_error():
    # given / when / then
    assert issubclass(InvalidRunId, ValueError), "callers catching ValueError also catch InvalidRunId"


def test_run_dir__validates(tmp_path: Path):
    # given / when / then
    assert run_dir("abc", tmp_path) == tmp_path.resolve() / "runs" / "abc", "a run's folder is under runs/"
    with pytest.raises(InvalidRunId):
        run_dir("../escape", tmp_path)


def test_home_dir__argument_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given: both an argument and the environment variable
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))

    # when
    home = home_dir(tmp_path / "from-arg")

    # then
    assert home == (tmp_path / "from-arg").resolve(), "the argument wins over $KDCORE_HOME"


def test_home_dir__environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))

    # when / then
    assert home_dir() == (tmp_path / "from-env").resolve(), "$KDCORE_HOME is used without an argument"


@pytest.mark.parametrize("env_value", [None, ""])
def test_home_dir__default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_value: str | None):
    # given: no argument and $KDCORE_HOME unset or empty; ~ points at a temporary folder
    if env_value is None:
        monkeypatch.delenv(HOME_ENV, raising=False)
    else:
        monkeypatch.setenv(HOME_ENV, env_value)
    monkeypatch.setenv("HOME", str(tmp_path))

    # when
    home = home_dir()

    # then
    assert home == (tmp_path / ".kdstudio").resolve(), f"the default is ~/.kdstudio, got {home}"


def test_home_dir__expands_user_and_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("HOME", str(tmp_path))

    # when
    home = home_dir("~/elsewhere")

    # then
    assert home == (tmp_path / "elsewhere").resolve(), "~ is expanded"
    assert home.is_absolute(), "the home is absolute"
    assert not home.exists(), "home_dir creates nothing"


def test_home_subpaths(kd_home: Path):
    # given: $KDCORE_HOME set by the fixture
    # when / then
    assert runs_dir() == kd_home.resolve() / "runs", "runs live in <home>/runs"
    assert teachers_dir() == kd_home.resolve() / "teachers", "teachers live in <home>/teachers"
    assert store_path() == kd_home.resolve() / "kdstudio.sqlite3", "the store is <home>/kdstudio.sqlite3"


def test_check_home__a_folder_or_a_missing_one_is_fine(tmp_path: Path):
    # given an existing folder and a path that does not exist yet
    # when / then both are homes, and nothing is created
    assert check_home(tmp_path) == tmp_path.resolve(), "an existing folder"
    assert check_home(tmp_path / "new" / "home") == (tmp_path / "new" / "home").resolve(), "made later, when needed"
    assert not (tmp_path / "new").exists(), "check_home creates nothing"


def test_check_home__a_file_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given $KDCORE_HOME naming a file (FileExistsError from mkdir before)
    file = tmp_path / "kdstudio"
    file.write_text("x")
    monkeypatch.setenv(HOME_ENV, str(file))

    # when / then
    with pytest.raises(HomeNotAFolder, match="names a file, not a folder") as info:
        check_home()
    assert str(file) in str(info.value) and HOME_ENV in str(info.value), str(info.value)


def test_check_home__a_path_through_a_file_is_refused_naming_the_file(tmp_path: Path):
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(HomeNotAFolder) as info:
        check_home(file / "a" / "home")
    assert f"cannot be made: {file} names a file" in str(info.value), str(info.value)
