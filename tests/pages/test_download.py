"""The Download page: the right bytes behind each button, read only when clicked."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from kdcore import paths


@pytest.fixture
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """file name -> the callable a download button would run when clicked."""
    captured: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def record(self: MediaFileManager, data_callable: Any, mimetype: Any, coordinates: str,
               file_name: str | None = None, **kw: Any) -> str:
        captured[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return captured


def test_download__buttons_offer_the_right_bytes(kd_home: Path, fixture_runs: dict[str, str],
                                                 deferred_downloads: dict[str, Any], open_page: Callable[..., AppTest],
                                                 artifact_bytes: dict[str, bytes]) -> None:
    run_id = fixture_runs["succeeded"]
    at = open_page("pages/download.py", {"run": run_id})
    assert not at.exception, f"page raised: {at.exception}"
    assert not at.get("download_button")[0].proto.disabled, "the student model is offered"
    assert deferred_downloads[f"{run_id}-student.keras"]() == artifact_bytes["student.keras"]
    assert deferred_downloads[f"{run_id}-student.weights.h5"]() == artifact_bytes["student.weights.h5"]
    archive = zipfile.ZipFile(BytesIO(deferred_downloads[f"kdstudio-{run_id}.zip"]()))
    names = set(archive.namelist())
    expected = {f"{run_id}/{n}" for n in ("config.json", "metrics.csv", "student.keras", "teacher.keras",
                                          "scratch.keras", "student.weights.h5")}
    assert expected <= names, f"zip should hold config, metrics and the three models: {names}"
    assert archive.read(f"{run_id}/teacher.keras") == artifact_bytes["teacher.keras"], "models byte for byte"


def test_download__files_are_read_only_on_click(kd_home: Path, fixture_runs: dict[str, str],
                                                deferred_downloads: dict[str, Any],
                                                open_page: Callable[..., AppTest]) -> None:
    run_id = fixture_runs["succeeded"]
    open_page("pages/download.py", {"run": run_id})
    (paths.run_dir(run_id, kd_home) / "student.keras").write_bytes(b"newer")
    assert deferred_downloads[f"{run_id}-student.keras"]() == b"newer", "bytes come from disk at click time"


def test_download__a_run_without_models_disables_their_buttons(kd_home: Path, fixture_runs: dict[str, str],
                                                               open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/download.py", {"run": fixture_runs["failed"]})
    assert not at.exception
    disabled = {b.label: b.proto.disabled for b in at.get("download_button")}
    assert disabled["Download student.keras"] and disabled["Download student.weights.h5"], f"{disabled}"
    assert not disabled["Download run.zip"], "the config and metrics are still offered"


def test_download__invalid_run_id_is_an_error(kd_home: Path, fixture_runs: dict[str, str],
                                              open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/download.py", {"run": "../../secrets"})
    assert not at.exception
    assert any("valid run" in e.value for e in at.error), "a bad id is refused before any file is touched"


def test_download__without_finished_runs_says_what_to_do(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/download.py")
    assert not at.exception
    assert "No finished runs yet" in at.info[0].value


def test_download__symlink_to_a_file_outside_is_not_offered(kd_home: Path, fixture_runs: dict[str, str],
                                                             deferred_downloads: dict[str, Any], tmp_path: Path,
                                                             open_page: Callable[..., AppTest]) -> None:
    # given: the succeeded run's student.keras replaced by a symlink to a file outside the run folder
    run_id = fixture_runs["succeeded"]
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    student = paths.run_dir(run_id, kd_home) / "student.keras"
    student.unlink()
    student.symlink_to(secret)

    # when
    at = open_page("pages/download.py", {"run": run_id})

    # then: its button is disabled and run.zip holds neither the link nor the secret
    assert not at.exception, f"page raised: {at.exception}"
    disabled = {b.label: b.proto.disabled for b in at.get("download_button")}
    assert disabled["Download student.keras"], f"a link out of the run folder is not offered: {disabled}"
    archive = zipfile.ZipFile(BytesIO(deferred_downloads[f"kdstudio-{run_id}.zip"]()))
    assert f"{run_id}/student.keras" not in archive.namelist(), f"not zipped: {archive.namelist()}"
    assert all(b"root:x:0" not in archive.read(n) for n in archive.namelist()), "the secret is in no member"


def test_download__sizes_are_the_downloaded_files_and_ratios_say_what_they_compare(
        kd_home: Path, fixture_runs: dict[str, str], open_page: Callable[..., AppTest],
        texts: Callable[[AppTest], str]) -> None:
    # given: the succeeded run's deployable files, the teacher's three times the student's bytes
    run_id = fixture_runs["succeeded"]
    folder = paths.run_dir(run_id, kd_home)
    (folder / "student.keras").write_bytes(b"s" * 1_000)
    (folder / "teacher.keras").write_bytes(b"t" * 3_000)
    # when: the Download page shows the run
    at = open_page("pages/download.py", {"run": run_id})
    # then: the student's card gives that file's size, says it holds no optimizer state, and names each ratio
    assert not at.exception, f"page raised: {at.exception}"
    shown = texts(at)
    assert "Size: 1000 B" in shown, f"the size is that of the student.keras served: {shown}"
    assert "no optimizer state" in shown, "the download is said to be the deployable model"
    assert "3.0× fewer bytes" in shown, f"the bytes ratio of the two files, labelled: {shown}"
    assert "2.2× fewer parameters" in shown, f"the parameters ratio (2,857,474 / 1,320,000), labelled: {shown}"


def test_download__a_run_on_own_data_offers_the_raw_text_student(kd_home: Path, fixture_runs: dict[str, str],
                                                                  deferred_downloads: dict[str, Any],
                                                                  open_page: Callable[..., AppTest]) -> None:
    # given a finished run that saved a raw-text student and its class names (a run on a registered dataset)
    run_id = fixture_runs["succeeded"]
    folder = paths.run_dir(run_id, kd_home)
    (folder / "student_text.keras").write_bytes(b"text model")
    (folder / "student_text.json").write_text('{"classes": ["a", "b", "c"]}')
    # when its Download page opens
    at = open_page("pages/download.py", {"run": run_id})
    # then both files are offered, byte for byte
    assert not at.exception, f"page raised: {at.exception}"
    labels = [b.label for b in at.get("download_button")]
    assert "Download student_text.keras" in labels, f"the raw-text student is offered: {labels}"
    assert deferred_downloads[f"{run_id}-student_text.keras"]() == b"text model"
    assert deferred_downloads[f"{run_id}-student_text.json"]() == b'{"classes": ["a", "b", "c"]}'


def test_download__an_imdb_run_offers_no_raw_text_student(kd_home: Path, fixture_runs: dict[str, str],
                                                          open_page: Callable[..., AppTest]) -> None:
    at = open_page("pages/download.py", {"run": fixture_runs["succeeded"]})
    labels = [b.label for b in at.get("download_button")]
    assert "Download student_text.keras" not in labels, f"IMDB's token-id student has no text model: {labels}"
