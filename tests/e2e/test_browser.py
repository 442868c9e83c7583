"""The whole product in a real browser: fill the form, launch, watch it train, download the student.

Runs the real app and the real worker it starts, on the real IMDB file ($KDCORE_IMDB_PATH),
with a configuration small enough to train all three arms in a minute or two on a CPU.
Every wait polls the app's own state; there is no fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kdcore.config import SIZE_PRESETS, TINY, param_count
from kdcore.store import RunStore
from tests.e2e.browser import ARMS_DRAWN, choose, fill, key, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]

VOCAB = 2000


def test_a_tiny_run_goes_from_the_form_to_a_downloaded_student(page: Page, kd_app_server,
                                                               shared_imdb: Path, screenshots: Path,
                                                               tmp_path: Path) -> None:
    # given the app with an empty home
    page.goto(kd_app_server.url)
    wait_idle(page, timeout=60_000)
    expect(page.get_by_role("heading", name="New run")).to_be_visible()

    # when the form is filled with a tiny config
    fill(page, "form.name", "e2e tiny")
    fill(page, "form.data.path", shared_imdb)
    fill(page, "form.data.vocab_size", VOCAB)
    fill(page, "form.data.maxlen", 50)
    fill(page, "form.data.train_limit", 300)
    fill(page, "form.data.test_limit", 200)
    choose(page, "preset.teacher", "Tiny n-gram (for tests)")  # another family, reading its own longer view
    choose(page, "preset.student", "Tiny (for tests)")
    fill(page, "form.data.teacher_maxlen", 80)
    fill(page, "form.train.teacher_epochs", 2)
    fill(page, "form.train.epochs", 1)
    page.get_by_text("Advanced", exact=True).click()  # precision and XLA sit in the Advanced expander
    expect(page.locator(key("form.train.jit_compile"))).to_be_visible()
    page.wait_for_timeout(500)  # the expander's opening animation
    choose(page, "form.train.jit_compile", "off")
    ratio = param_count(SIZE_PRESETS["tiny-ngram"], VOCAB) / param_count(TINY, VOCAB)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Compression")).to_contain_text(f"{ratio:.1f}×")
    page.screenshot(path=str(screenshots / "new_run.png"), full_page=True)
    page.locator(f"{key('launch')} button").click()

    # then the live page follows the run until all three arms are drawn and it succeeds
    page.wait_for_url(re.compile(r"/live\?run="), timeout=30_000)
    run_id = re.search(r"run=([\w-]+)", page.url).group(1)
    page.wait_for_function(ARMS_DRAWN, arg=[["teacher", "student", "scratch"], 1], timeout=360_000, polling=1000)
    expect(page.get_by_text("succeeded").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    # the results table (the first one: the settings panel's tables come after it)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    page.screenshot(path=str(screenshots / "live.png"), full_page=True)

    # and the student downloads as a .keras file that Keras loads
    page.goto(f"{kd_app_server.url}/download?run={run_id}")
    wait_idle(page)
    with page.expect_download(timeout=60_000) as download:
        page.locator(f"{key('download.keras')} button").click()
    saved = tmp_path / "student.keras"
    download.value.save_as(saved)
    page.screenshot(path=str(screenshots / "download.png"), full_page=True)
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, keras; m = keras.models.load_model(sys.argv[1]); "
                               "print(json.dumps({'params': m.count_params()}))", str(saved)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert loaded.returncode == 0, f"keras could not load the downloaded student:\n{loaded.stderr[-3000:]}"
    params = json.loads(loaded.stdout.strip().splitlines()[-1])["params"]
    assert params == param_count(TINY, VOCAB), f"the downloaded model is the tiny student, got {params} parameters"
    config = RunStore(kd_app_server.home).get_run(run_id).run_config()
    assert (config.teacher.family, config.data.teacher_length, config.data.maxlen) == ("ngram", 80, 50), \
        f"the form's n-gram teacher ran, reading 80 tokens to the student's 50: {config.teacher}, {config.data}"
