"""A sweep in a real browser: define a tiny grid, see its count, launch it, follow it until both runs
finish, and read the results table and the frontier.

The real app and the real worker it starts train both runs on a small synthetic IMDB file; the
two runs differ only in alpha, so they share one teacher, which the worker trains once (checked
in the store afterwards). Every wait polls the app's own state; there is no fixed sleep.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kdcore.store import RunStore
from tests.e2e.browser import choose, fill, key, poll, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def base_yaml(data: Path) -> str:
    """Tiny models on a slice of the synthetic reviews, one epoch each: both runs train in seconds."""
    return (f"teacher: tiny\nstudent: tiny\ndata:\n  path: {data}\n  vocab_size: 1000\n  maxlen: 50\n"
            "  train_limit: 300\n  test_limit: 200\ntrain:\n  epochs: 1\n  teacher_epochs: 1\n  jit_compile: 'off'\n")


def test_a_tiny_sweep_goes_from_its_grid_to_a_frontier(page: Page, kd_app_server, synthetic_imdb: Path,
                                                       screenshots: Path) -> None:
    # given the Sweeps page of an empty home
    page.goto(f"{kd_app_server.url}/sweeps")
    wait_idle(page, timeout=60_000)
    expect(page.get_by_role("heading", name="Sweeps")).to_be_visible()

    # when a tiny base and two values of alpha (and no second field) are given
    fill(page, "sweep.name", "e2e sweep")
    base = page.locator(f"{key('sweep.base')} textarea")
    base.fill(base_yaml(synthetic_imdb))
    base.press("Control+Enter")  # a text area sends its value on Ctrl+Enter (or when it loses focus)
    wait_idle(page)
    fill(page, "sweep.values.0", "0.1, 0.5")
    choose(page, "sweep.field.1", "(no field)")

    # then the page says it makes 2 runs sharing 1 teacher
    expect(page.get_by_text("2 runs: 1 teacher, 1 scratch student and 2 distilled students are trained")) \
        .to_be_visible()
    page.screenshot(path=str(screenshots / "sweep_define.png"), full_page=True)

    # when it is launched
    page.locator(f"{key('sweep.launch')} button").click()
    page.wait_for_url(re.compile(r"/sweeps\?sweep=sweep-"), timeout=30_000)
    sweep_id = re.search(r"sweep=([\w-]+)", page.url).group(1)

    # then the page follows both runs until they finish, and shows the table and the frontier
    expect(page.get_by_text("2 of 2 runs finished")).to_be_visible(timeout=600_000)
    wait_idle(page)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    expect(page.get_by_text("The smallest student").or_(page.get_by_text("No student came"))).to_be_visible()
    page.screenshot(path=str(screenshots / "sweep_results.png"), full_page=True)

    # and in the store both runs succeeded, with one teacher trained and the other reused
    store = RunStore(kd_app_server.home)
    try:
        runs = poll(lambda: [r for r in store.sweep_runs(sweep_id) if r.finished] or None, timeout=10,
                    what="the sweep's runs")
        assert [r.status for r in runs] == ["succeeded", "succeeded"], f"both runs trained: {runs}"
        reused = [bool((r.summary or {}).get("teacher_reused")) for r in runs]
        assert reused == [False, True], f"the shared teacher is trained once and reused by the second run: {reused}"
    finally:
        store.close()
