"""The New run page, issue 17 item 9: setups, the time estimate, named recipe changes, errors by their field, Launch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from kdcore.config import RunConfig
from kdcore.store import RunStore


def side_column(at: AppTest) -> Any:
    """The column that holds the Launch button."""
    return next(col for col in at.columns if any(b.key == "launch" for b in col.button))


def test_new_run__starts_on_the_best_recipe_with_the_notebook_one_click_away(
        kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given a first visit
    at = open_page()
    # then the form holds the n-gram teacher's recipe, not the notebook's recurrent teacher
    assert at.selectbox(key="form.teacher.family").value == "ngram", "the best measured recipe is the default"
    assert {m.label: m.value for m in at.metric}["Teacher parameters"] == "18.06 M"
    # when the notebook's setup is picked
    at.button(key="setup.notebook").click().run()
    # then the form shows the notebook's exact models, and RunConfig's own default is unchanged
    assert not at.exception, f"page raised: {at.exception}"
    assert at.selectbox(key="form.teacher.family").value == "recurrent", "the notebook's recurrent teacher"
    assert {m.label: m.value for m in at.metric}["Teacher parameters"] == "2.86 M", "the notebook's teacher size"
    assert at.number_input(key="form.train.epochs").value == RunConfig().train.epochs, "the notebook's epochs"
    assert RunConfig().teacher.family == "recurrent", "the CLI's and the API's default stays the notebook's"


def test_new_run__quick_try_is_a_bigger_teacher_on_a_slice_and_says_so(kd_home: Path, store: RunStore,
                                                                         open_page: Callable[..., AppTest]) -> None:
    # given the page, when "Quick try" is pressed and the run launched
    at = open_page()
    quick = at.button(key="setup.quick")
    assert "few minutes" in quick.label and "noise" in quick.label, f"labelled honestly: {quick.label!r}"
    quick.click().run()
    compression = {m.label: m.value for m in at.metric}["Compression"]
    assert float(compression.rstrip("×")) > 5, f"the teacher is clearly bigger than the student: {compression}"
    at.button(key="launch").click().run()
    # then the measured small run is queued: n-gram teacher on 4,000/2,000 reviews of 100 tokens
    assert not at.exception, f"launch raised: {at.exception}"
    config = store.list_runs()[0].run_config()
    assert (config.teacher.family, config.data.train_limit, config.data.test_limit, config.data.maxlen,
            config.train.teacher_learning_rate) == ("ngram", 4000, 2000, 100, 0.004), f"{config}"


def test_new_run__a_family_switch_names_the_fields_its_recipe_changed(kd_home: Path,
                                                                      open_page: Callable[..., AppTest]) -> None:
    # given the n-gram recipe, when the teacher family becomes the conv net
    at = open_page()
    at.selectbox(key="form.teacher.family").set_value("conv").run()
    # then the page says which other fields changed and to what
    notes = " ".join(i.value for i in at.info)
    assert "Teacher optimizer: lazy_adam → adam" in notes, f"the optimizer change is named: {notes!r}"
    assert "Teacher's targets from: student → own" in notes, f"and the teacher's view: {notes!r}"
    assert "Teacher · embedding dim" not in notes, "the family's own sizes are what was asked, not a side effect"


def test_new_run__a_problem_is_shown_under_its_field_and_in_the_summary(kd_home: Path,
                                                                        open_page: Callable[..., AppTest]) -> None:
    # given an alpha above 1
    at = open_page()
    at.number_input(key="form.distill.alpha").set_value(1.3).run()
    # then the column of the alpha field shows the problem, and the summary next to Launch lists it too
    alpha_column = next(col for col in at.columns if any(n.key == "form.distill.alpha" for n in col.number_input))
    under = " ".join(e.value for e in alpha_column.error)
    assert "less than or equal to 1" in under, f"the problem under the field: {under!r}"
    summary = " ".join(e.value for e in side_column(at).error)
    assert "Fix these" in summary and "distill.alpha" in summary, f"and in the summary: {summary!r}"


def test_new_run__launch_is_the_first_thing_in_the_side_column(kd_home: Path,
                                                               open_page: Callable[..., AppTest]) -> None:
    # given the page as a 1366x768 screen shows it: only the top of each column without scrolling
    at = open_page()
    # then Launch comes first in its column, above the sizes and the problems
    first = list(side_column(at).children.values())[0]
    assert getattr(first, "key", None) == "launch", f"Launch first in the side column, found {first}"


def test_new_run__time_estimate_is_rough_without_runs_and_measured_after_one(
        kd_home: Path, store: RunStore, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str],
        add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given an empty store: the figure is labelled a rough guess
    at = open_page()
    at.button(key="setup.notebook").click().run()
    assert "rough guess" in texts(at), "with no finished run the estimate says it is rough"
    # given a finished run of the notebook sizes that trained at 250 samples/s per arm
    arms = {"teacher": {"params": 2_857_474, "samples_per_s": 250.0},
            "student": {"params": 1_323_778, "samples_per_s": 250.0},
            "scratch": {"params": 1_323_778, "samples_per_s": 250.0}}
    add_finished_run("r-speed", {"arms": arms, "verdict": "measured"})
    at = open_page()
    at.button(key="setup.notebook").click().run()
    # then 3 arms x 3 epochs x 22,500 reviews (25,000 less 10% validation) / 250 samples/s = 13.5 min
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training time"] == "14 min", f"from the measured speed: {metrics}"
    assert "from the speeds of earlier runs here" in texts(at), "says where the figure comes from"


def test_new_run__a_huge_model_shows_the_memory_warning(kd_home: Path, open_page: Callable[..., AppTest]) -> None:
    # given an n-gram teacher of 4,096-wide embeddings over 4 M buckets (17 G parameters)
    at = open_page()
    at.number_input(key="form.teacher.embedding_dim").set_value(4096)
    at.number_input(key="form.teacher.bigram_buckets").set_value(2**22).run()
    # then the page warns next to the size estimate, and still lets the user decide
    warnings = " ".join(w.value for w in side_column(at).warning)
    assert "may run out of memory" in warnings and "teacher" in warnings, f"the memory warning: {warnings!r}"


def test_new_run__coming_back_keeps_edited_sizes_and_their_preset(kd_home: Path,
                                                                  open_page: Callable[..., AppTest]) -> None:
    # given an edited student size, when the user goes to another page and back
    at = open_page()
    at.number_input(key="form.student.lstm_units").set_value(8).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/new_run.py").run()
    # then the size is kept and its preset box says custom, not the default setup's preset
    assert at.number_input(key="form.student.lstm_units").value == 8, "the edited size survives the page change"
    assert at.selectbox(key="preset.student").value == "custom", "the preset box follows the kept sizes"
