"""Own teacher in a real browser: a teacher downloaded from an earlier run is uploaded and distilled from.

The journey of issue 19's acceptance: an earlier run (trained from the command line, as a
colleague's would be) is downloaded as run.zip from the Download page; its ``teacher.keras``
is uploaded on New run as "An uploaded .keras model", checked by the worker-side command (the
app never imports TensorFlow), and the run distils from it without training a teacher.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kdcore.store import RunStore
from tests.e2e.browser import ARMS_DRAWN, choose, fill, key, poll, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
VOCAB, MAXLEN, TRAIN, TEST = 2000, 50, 300, 200


def earlier_run(home: Path, imdb: Path) -> str:
    """A tiny run queued from the command line into the app's home, trained by the app's worker; its id."""
    settings = [f"data.path={imdb}", f"data.vocab_size={VOCAB}", f"data.maxlen={MAXLEN}",
                f"data.train_limit={TRAIN}", f"data.test_limit={TEST}", "teacher=tiny-ngram", "student=tiny",
                "data.teacher_maxlen=50", "train.teacher_epochs=2", "train.epochs=1", "train.jit_compile=off",
                "name=earlier"]
    command = [sys.executable, "-m", "kdcore", "submit", "--home", str(home)]
    for setting in settings:
        command += ["--set", setting]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, f"the earlier run was not queued:\n{done.stderr[-3000:]}"
    run_id = done.stdout.strip().splitlines()[-1].split()[-1]
    store = RunStore(home)
    record = poll(lambda: (r := store.get_run(run_id)) is not None and r.status in ("succeeded", "failed") and r,
                  timeout=600, what=f"the earlier run {run_id} to finish")
    assert record.status == "succeeded", f"the earlier run failed: {record.error}"
    return run_id


def upload_teacher(page: Page, teacher_file: Path) -> None:
    """Upload the file until the app has saved it (it fills the teacher-file field with the saved path); an
    upload that lands while a rerun is pending can be dropped, as a click can."""
    field = page.locator(f"{key('form.teacher_source.file')} input")
    for _ in range(3):
        page.locator(f"{key('teacher_source.upload.keras')} input[type='file']").set_input_files(str(teacher_file))
        wait_idle(page, timeout=60_000)
        try:
            expect(field).to_have_value(re.compile(r"teacher\.keras$"), timeout=20_000)
            return
        except AssertionError:
            continue
    expect(field).to_have_value(re.compile(r"teacher\.keras$"))


def test_a_teacher_downloaded_from_an_earlier_run_is_uploaded_and_distilled_from(
        page: Page, kd_app_server, shared_imdb: Path, screenshots: Path, tmp_path: Path) -> None:
    # given an earlier run (queued once the app, and so its worker, is up), downloaded as run.zip
    page.goto(kd_app_server.url)
    wait_idle(page, timeout=60_000)
    earlier = earlier_run(kd_app_server.home, shared_imdb)
    earlier_summary = json.loads((kd_app_server.home / "runs" / earlier / "summary.json").read_text())
    earlier_teacher = earlier_summary["arms"]["teacher"]
    page.goto(f"{kd_app_server.url}/download?run={earlier}")
    wait_idle(page, timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        page.locator(f"{key('download.zip')} button").click()
    archive = tmp_path / "earlier.zip"
    download.value.save_as(archive)
    teacher_file = tmp_path / "teacher.keras"
    teacher_file.write_bytes(zipfile.ZipFile(archive).read(f"{earlier}/teacher.keras"))

    # when a new run takes that file as its teacher, checked before Launch
    page.goto(kd_app_server.url)
    wait_idle(page, timeout=60_000)
    fill(page, "form.name", "e2e own teacher")
    fill(page, "form.data.path", shared_imdb)
    fill(page, "form.data.vocab_size", VOCAB)
    fill(page, "form.data.maxlen", MAXLEN)
    fill(page, "form.data.train_limit", TRAIN)
    fill(page, "form.data.test_limit", TEST)
    choose(page, "preset.student", "Tiny (for tests)")
    fill(page, "form.train.epochs", 1)
    choose(page, "form.teacher_source.kind", "An uploaded .keras model")
    upload_teacher(page, teacher_file)
    fill(page, "form.data.teacher_maxlen", MAXLEN)  # the earlier teacher reads the student's 50 tokens
    page.wait_for_timeout(500)
    check = page.get_by_role("button", name="Check teacher").last
    expect(check).to_be_enabled(timeout=60_000)
    check.click()  # the worker-side check, in a subprocess
    expect(page.get_by_text(re.compile(r"reads token ids of length 50")).first).to_be_visible(timeout=180_000)
    wait_idle(page, timeout=60_000)
    page.screenshot(path=str(screenshots / "new_run_own_teacher.png"), full_page=True)
    page.locator(f"{key('launch')} button").click()

    # then the run distils from it: no teacher trained, its test accuracy is the earlier teacher's
    page.wait_for_url(re.compile(r"/live\?run="), timeout=180_000)
    run_id = re.search(r"run=([\w-]+)", page.url).group(1)
    page.wait_for_function(ARMS_DRAWN, arg=[["student", "scratch"], 1], timeout=360_000, polling=1000)
    expect(page.get_by_text("succeeded").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    page.screenshot(path=str(screenshots / "live_own_teacher.png"), full_page=True)
    record = RunStore(kd_app_server.home).get_run(run_id)
    config = record.run_config()
    assert config.teacher_source.kind == "keras", f"the run's teacher is the uploaded file: {config.teacher_source}"
    teacher = record.summary["arms"]["teacher"]
    assert teacher["test_accuracy"] == pytest.approx(earlier_teacher["test_accuracy"], abs=1e-9), \
        f"the uploaded teacher scores as it did in its own run: {teacher} vs {earlier_teacher}"
