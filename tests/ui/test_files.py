"""Download files: only regular files whose real path stays inside the run's folder are offered, read or zipped."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from kdcore import paths
from kdcore.ui import files as ui_files

RUN_ID = "run-links"
SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


@pytest.fixture
def run_folder(kd_home: Path) -> Path:
    """A run folder with a real config.json and teacher.keras."""
    folder = paths.run_dir(RUN_ID, kd_home)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"name": "links"}')
    (folder / "teacher.keras").write_bytes(b"PK-teacher")
    return folder


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every run folder, standing in for /etc/passwd."""
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def zip_contents(kd_home: Path) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(ui_files.build_run_zip(RUN_ID, kd_home)))
    return {name: archive.read(name) for name in archive.namelist()}


def test_files__symlink_out_of_the_run_folder_is_not_served(kd_home: Path, run_folder: Path, secret: Path) -> None:
    # given: student.keras planted as a symlink to a file outside the run folder
    (run_folder / "student.keras").symlink_to(secret)

    # when
    offered = ui_files.available_artifacts(RUN_ID, kd_home)
    zipped = zip_contents(kd_home)
    reader = ui_files.artifact_reader(RUN_ID, "student.keras", kd_home)

    # then: not offered, not zipped, and reading it is refused with a message naming it
    assert "student.keras" not in offered, f"the link is not offered: {offered}"
    assert set(offered) == {"config.json", "teacher.keras"}, f"the real files still are: {offered}"
    assert SECRET not in b"".join(zipped.values()), f"the secret is not in run.zip: {sorted(zipped)}"
    assert f"{RUN_ID}/teacher.keras" in zipped, "the real files are zipped"
    with pytest.raises(ui_files.UnsafeArtifact, match="student.keras"):
        reader()


def test_files__symlinked_run_folder_is_not_served(kd_home: Path, tmp_path: Path) -> None:
    # given: the run's folder itself is a symlink to a folder elsewhere that holds a config.json
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_bytes(SECRET)
    paths.runs_dir(kd_home).mkdir(parents=True)
    paths.run_dir(RUN_ID, kd_home).symlink_to(elsewhere, target_is_directory=True)

    # when
    offered = ui_files.available_artifacts(RUN_ID, kd_home)
    zipped = zip_contents(kd_home)

    # then
    assert offered == {}, f"nothing outside the runs folder is offered: {offered}"
    assert SECRET not in b"".join(zipped.values()), "nothing outside the runs folder is zipped"


def test_files__symlink_within_the_run_folder_is_served(kd_home: Path, run_folder: Path) -> None:
    # given: scratch.keras links to teacher.keras in the same folder (the real path stays inside)
    (run_folder / "scratch.keras").symlink_to("teacher.keras")

    # when / then
    assert ui_files.available_artifacts(RUN_ID, kd_home).get("scratch.keras") == len(b"PK-teacher"), "offered"
    assert ui_files.artifact_reader(RUN_ID, "scratch.keras", kd_home)() == b"PK-teacher", "read through"


@pytest.mark.timeout(30)
def test_files__special_files_are_not_served(kd_home: Path, run_folder: Path) -> None:
    # given: a FIFO (reading it would block forever) and a link to a device (endless bytes)
    os.mkfifo(run_folder / "metrics.csv")
    (run_folder / "summary.json").symlink_to("/dev/zero")

    # when
    offered = ui_files.available_artifacts(RUN_ID, kd_home)
    zipped = zip_contents(kd_home)

    # then
    assert "metrics.csv" not in offered and "summary.json" not in offered, f"only regular files: {offered}"
    assert f"{RUN_ID}/metrics.csv" not in zipped and f"{RUN_ID}/summary.json" not in zipped, f"{sorted(zipped)}"


@pytest.mark.timeout(30)
def test_files__swapped_for_a_link_after_the_page_drew(kd_home: Path, run_folder: Path, secret: Path) -> None:
    # given: the page made its reader while student.keras was a real file
    (run_folder / "student.keras").write_bytes(b"PK-student")
    reader = ui_files.artifact_reader(RUN_ID, "student.keras", kd_home)

    # when: the file is replaced by a symlink before the click
    (run_folder / "student.keras").unlink()
    (run_folder / "student.keras").symlink_to(secret)

    # then: the click is refused, the secret never read
    with pytest.raises(ui_files.UnsafeArtifact, match="student.keras"):
        reader()
