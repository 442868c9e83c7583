"""The New-run form's dataset picker: IMDB built in and every registered dataset, its classes, its settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kdcore.datasets import Manifest, register_frame
from kdcore.store import RunStore
from kdcore.ui.form import PREFILL_KEY


@pytest.fixture
def three_classes(kd_home: Path) -> Manifest:
    """A registered dataset of three classes, 20 rows each."""
    rows = [(f"a {c} text number {i} with words", c) for c in ("neg", "neu", "pos") for i in range(20)]
    return register_frame(kd_home, pd.DataFrame(rows, columns=["text", "label"]), name="tweets")


def test_new_run_dataset__imdb_is_the_default_with_its_file(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # when the form opens with no dataset registered
    at = open_page()
    # then IMDB is picked and its npz path field is shown
    assert not at.exception, f"page raised: {at.exception}"
    box = at.selectbox(key="form.data.dataset")
    assert (box.value, box.options) == ("imdb", ["IMDB (built in)"]), f"IMDB only: {box.options}"
    assert at.text_input(key="form.data.path") is not None, "the IMDB file field is shown"


def test_new_run_dataset__lists_a_registered_dataset_and_shows_its_classes(
        kd_home: Path, three_classes: Manifest, open_page: Callable[..., AppTest],
        texts: Callable[[AppTest], str]) -> None:
    # given a registered dataset, when the form opens
    at = open_page()
    box = at.selectbox(key="form.data.dataset")
    # then it is offered by name, classes and rows
    assert "tweets · 3 classes · 60 rows" in box.options, f"the dataset is offered: {box.options}"
    # when it is picked
    box.set_value(three_classes.id).run()
    # then its classes show, IMDB's file field is gone, and its tokenisation can be set
    assert not at.exception, f"page raised: {at.exception}"
    assert "**3 classes**: neg, neu, pos" in texts(at), "the classes are shown"
    assert not [w for w in at.text_input if w.key == "form.data.path"], "data.path only shows for IMDB"
    assert at.selectbox(key="form.data.standardize").value == "lower_and_strip_punctuation", "the default"
    assert at.selectbox(key="form.data.split").value == "whitespace", "the default"
    assert {m.label: m.value for m in at.metric}["Training time"], "the time estimate keeps working"


def test_new_run_dataset__launch_queues_the_run_on_the_dataset(kd_home: Path, three_classes: Manifest, store: RunStore,
                                                               open_page: Callable[..., AppTest]) -> None:
    # given the form on the registered dataset, characters as tokens, and an IMDB path typed earlier
    at = open_page()
    at.text_input(key="form.data.path").set_value("/somewhere/imdb.npz").run()
    at.selectbox(key="form.data.dataset").set_value(three_classes.id).run()
    at.selectbox(key="form.data.split").set_value("character").run()
    # when launched
    at.button(key="launch").click().run()
    # then the queued run's config names the dataset, its tokenisation, and no IMDB file
    assert not at.exception, f"launch raised: {at.exception}"
    runs = store.list_runs()
    assert len(runs) == 1, f"one run queued: {[e.value for e in at.error]}"
    data = runs[0].run_config().data
    assert (data.dataset, data.split, data.path) == (three_classes.id, "character", None), f"{data}"


def test_new_run_dataset__a_deleted_dataset_falls_back_to_imdb_and_says_so(
        kd_home: Path, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str]) -> None:
    # given "new run from this one" of a run whose dataset is not registered here
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=30)
    at.session_state[PREFILL_KEY] = {"from": "run-x", "config": {"data": {"dataset": "0123456789abcdef"}}}
    at.run()
    # then the form is on IMDB and says why
    assert not at.exception, f"page raised: {at.exception}"
    assert at.selectbox(key="form.data.dataset").value == "imdb", "back on IMDB"
    assert "0123456789abcdef" in texts(at) and "not registered here" in texts(at), "and the page says so"
