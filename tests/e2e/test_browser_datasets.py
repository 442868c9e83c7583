"""Own data in a real browser: upload a CSV, preview and register it, distil on it, classify raw text.

The journey of issue 18's acceptance: a 3-class CSV made here (string labels, one text column,
one label column) goes through the Datasets page's uploader, its preview and Register; the New
run form picks it; the run trains live with three logits; the downloaded ``student_text.keras``
loads with plain Keras in a fresh process and classifies raw sentences.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from kdcore.datasets import list_datasets
from kdcore.store import RunStore
from tests.e2e.browser import ARMS_DRAWN, choose, fill, key, poll, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CLASSES = {"negative": ["awful", "bad", "boring", "worst"], "neutral": ["okay", "fine", "average", "plain"],
           "positive": ["great", "good", "lovely", "best"]}
FILLER = ["the", "film", "was", "really", "quite", "a", "story", "and", "it", "show", "today", "my"]


def write_posts(path: Path, rows: int = 600) -> Path:
    """A learnable 3-class CSV: each post has filler words and two words of its class; labels as strings."""
    rng = np.random.default_rng(0)
    names = sorted(CLASSES)
    lines = ["label,text"]
    for i in range(rows):
        label = names[i % 3]
        words = list(rng.choice(FILLER, size=6)) + list(rng.choice(CLASSES[label], size=2))
        rng.shuffle(words)
        lines.append(f'{label},"{" ".join(words)}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def register_by_click(page: Page, home: Path, name: str) -> list:
    """Click Register until the dataset is stored (a click that lands while a rerun is pending is lost; a
    second click of the same content is harmless: it is the same dataset), and return those named ``name``."""
    def named() -> list:
        return [m for m in list_datasets(home) if m.name == name]

    for _ in range(3):
        page.locator(f"{key('datasets.register')} button").click()
        wait_idle(page, timeout=60_000)
        try:
            return poll(named, timeout=20, what=f"a dataset named {name!r} under {home}")
        except TimeoutError:
            continue
    return named()


def test_an_uploaded_csv_is_distilled_into_a_student_that_reads_raw_text(page: Page, kd_app_server,
                                                                           screenshots: Path, tmp_path: Path) -> None:
    # given the Datasets page and a 3-class CSV on the user's machine
    posts = write_posts(tmp_path / "posts.csv")
    page.goto(f"{kd_app_server.url}/datasets")
    wait_idle(page, timeout=60_000)

    # when the file is uploaded, previewed and registered under a name
    page.locator(f"{key('datasets.upload')} input[type='file']").set_input_files(str(posts))
    wait_idle(page, timeout=60_000)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Classes")).to_contain_text("3")
    fill(page, "datasets.name", "e2e posts")
    page.screenshot(path=str(screenshots / "datasets.png"), full_page=True)
    registered = register_by_click(page, kd_app_server.home, "e2e posts")
    assert len(registered) == 1, "Register stored exactly one dataset named as typed"
    manifest = registered[0]
    assert manifest.classes == ("negative", "neutral", "positive"), f"classes in sorted order: {manifest.classes}"

    # and a tiny run on it is launched from the New run form
    page.goto(kd_app_server.url)
    wait_idle(page, timeout=60_000)
    page.locator(key("form.data.dataset")).click()
    page.get_by_role("option", name=re.compile(r"^e2e posts")).click()
    wait_idle(page)
    expect(page.locator(f"{key('form.data.dataset')} input")).to_have_value(re.compile(r"^e2e posts"))
    fill(page, "form.name", "e2e posts run")
    fill(page, "form.data.vocab_size", 200)
    fill(page, "form.data.maxlen", 12)
    choose(page, "preset.teacher", "Tiny n-gram (for tests)")
    choose(page, "preset.student", "Tiny (for tests)")
    fill(page, "form.data.teacher_maxlen", 12)
    fill(page, "form.train.teacher_epochs", 2)
    fill(page, "form.train.epochs", 2)
    page.locator(f"{key('launch')} button").click()

    # then the live page follows it to the end, with a confusion matrix per arm
    page.wait_for_url(re.compile(r"/live\?run="), timeout=30_000)
    run_id = re.search(r"run=([\w-]+)", page.url).group(1)
    page.wait_for_function(ARMS_DRAWN, arg=[["teacher", "student", "scratch"], 1], timeout=360_000, polling=1000)
    expect(page.get_by_text("succeeded").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    expect(page.get_by_text("Confusion", exact=False).first).to_be_visible()
    page.screenshot(path=str(screenshots / "live_dataset.png"), full_page=True)
    config = RunStore(kd_app_server.home).get_run(run_id).run_config()
    assert config.data.dataset == manifest.id, f"the run used the registered dataset: {config.data}"

    # and the raw-text student downloads, loads with plain Keras in a fresh process and classifies sentences
    page.goto(f"{kd_app_server.url}/download?run={run_id}")
    wait_idle(page)
    with page.expect_download(timeout=60_000) as download:
        page.locator(f"{key('download.text')} button").click()
    saved = tmp_path / "student_text.keras"
    download.value.save_as(saved)
    script = ("import json, sys, numpy as np, keras; m = keras.models.load_model(sys.argv[1]); "
              "p = keras.ops.convert_to_numpy(m(np.array([['great good lovely film'], ['awful bad worst show']]))); "
              "print(json.dumps(p.tolist()))")
    loaded = subprocess.run([sys.executable, "-c", script, str(saved)], capture_output=True, text=True, timeout=180,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded.returncode == 0, f"keras could not load or run student_text.keras:\n{loaded.stderr[-3000:]}"
    probabilities = np.array(json.loads(loaded.stdout.strip().splitlines()[-1]))
    assert probabilities.shape == (2, 3), f"one probability per class for each sentence: {probabilities.shape}"
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4), f"probabilities sum to 1: {probabilities}"
