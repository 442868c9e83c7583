"""What every browser journey does: wait for the app, find a widget by its key, type, choose, see arms drawn.

Every wait polls the app's own state; there is no fixed sleep but the short pauses that let a
rerun start after a keystroke.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def wait_idle(page: Page, timeout: float = 30_000) -> None:
    """The script finished its run and nothing is still loading."""
    page.wait_for_selector(IDLE, timeout=timeout)
    expect(page.locator("[data-testid='stSkeleton']")).to_have_count(0, timeout=timeout)


def key(name: str) -> str:
    """CSS class Streamlit gives the container of a widget with this key."""
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", name)


def fill(page: Page, widget_key: str, value: object) -> None:
    """Type a value and wait until the app's rerun shows it (a rerun still pending can wipe a value
    typed too early, so the value is typed again if it did not stick)."""
    wait_idle(page)  # a rerun in flight shows the box twice (the stale one and the new one) until it ends
    box = page.locator(f"{key(widget_key)} input")
    for _ in range(3):
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page)
        page.wait_for_timeout(200)  # a rerun that starts a moment after Enter
        wait_idle(page)
        if box.input_value() == str(value):
            return
    expect(box).to_have_value(str(value))


def choose(page: Page, widget_key: str, option: str) -> None:
    """Pick an option and wait until the select box shows it, choosing again if a pending rerun
    reset it (the failure CI once hit: a preset that did not take)."""
    box = page.locator(key(widget_key))  # the chosen option is the value of the box's input
    for _ in range(3):
        box.click()
        page.get_by_role("option", name=option, exact=True).click()
        wait_idle(page)
        page.wait_for_timeout(200)
        wait_idle(page)
        if box.locator("input").input_value() == option:
            return
    expect(box.locator("input")).to_have_value(option)


ARMS_DRAWN = """
([arms, min]) => {
  const plots = document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot");
  if (plots.length < 2) return false;
  const drawn = new Set();
  for (const trace of plots[0]._fullData || []) {
    if (trace.meta && trace.meta.arm && trace._length >= min) drawn.add(trace.meta.arm);
  }
  return arms.every(a => drawn.has(a));
}
"""


def poll(check: Callable[[], object], timeout: float, interval: float = 0.25, what: str = "condition") -> object:
    """Call ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
