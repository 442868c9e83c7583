"""One damaged ``runs`` row (its config not JSON) must not take down a page: it is shown as damaged."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kdcore import paths

DAMAGED_ID = "run-planted"


@pytest.fixture
def damaged_row(fixture_runs: dict[str, str], kd_home: Path) -> str:
    """The succeeded fixture run copied as a finished run whose config column holds broken JSON."""
    with sqlite3.connect(paths.store_path(kd_home)) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        others = [c for c in columns if c not in ("id", "config")]
        db.execute(f"INSERT INTO runs (id, config, {', '.join(others)}) "
                   f"SELECT ?, ?, {', '.join(others)} FROM runs WHERE id = ?",
                   (DAMAGED_ID, '{"name": "cut off', fixture_runs["succeeded"]))
    return DAMAGED_ID


@pytest.mark.parametrize("page", ["pages/runs.py", "pages/live.py", "pages/download.py"])
def test_damaged_row__pages_stay_up(kd_home: Path, damaged_row: str, open_page: Callable[..., AppTest],
                                    texts: Callable[[AppTest], str], page: str) -> None:
    # given: a store with one row whose config is not valid JSON, among healthy runs
    # when: the page opens on its default view
    at = open_page(page)

    # then: no exception, and the page still shows its content
    assert not at.exception, f"{page} raised on a damaged row: {at.exception}"


@pytest.mark.parametrize("page", ["pages/live.py", "pages/download.py"])
def test_damaged_row__asked_for_it_says_damaged(kd_home: Path, damaged_row: str, open_page: Callable[..., AppTest],
                                                texts: Callable[[AppTest], str], page: str) -> None:
    # given: a damaged row
    # when: a page is opened on that very run
    at = open_page(page, {"run": damaged_row})

    # then: the page stays up and says the run's record is damaged
    assert not at.exception, f"{page} raised on the damaged run: {at.exception}"
    assert "damaged" in texts(at).lower(), f"{page} should say the run is damaged: {texts(at)[:800]}"


def test_damaged_row__runs_page_lists_it_as_damaged(kd_home: Path, damaged_row: str,
                                                    open_page: Callable[..., AppTest]) -> None:
    # given: a damaged row
    # when: the Runs page opens
    at = open_page("pages/runs.py")

    # then: its table still lists the healthy runs and the damaged one
    assert not at.exception, f"Runs raised: {at.exception}"
    table = at.dataframe[0].value
    assert len(table) >= 5, f"every row is listed, the damaged one too: {table}"


def test_damaged_row__runs_page_says_damaged_when_picked(kd_home: Path, damaged_row: str,
                                                         open_page: Callable[..., AppTest],
                                                         texts: Callable[[AppTest], str]) -> None:
    # given: the Runs page over a store with a damaged row
    at = open_page("pages/runs.py")

    # when: the damaged run is picked to act on
    at.selectbox(key="runs.pick").set_value(damaged_row).run()

    # then: the page stays up and says the record is damaged
    assert not at.exception, f"Runs raised on picking the damaged run: {at.exception}"
    assert "damaged" in texts(at).lower(), f"the page says the run is damaged: {texts(at)[:800]}"
