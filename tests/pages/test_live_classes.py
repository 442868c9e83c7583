"""The Live page of a finished three-class run: macro-F1 in the results, a per-class table, three confusion heatmaps."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from kdcore.results import ArmResult
from kdcore.results.classes import class_report

NAMES = ["negative", "neutral", "positive"]
#: 120 test rows: 70 negative, 30 neutral, 20 positive (imbalanced: 20 is under half of 70).
LABELS = [0] * 70 + [1] * 30 + [2] * 20


def arm(predicted: list[int], params: int) -> dict[str, Any]:
    report = class_report(LABELS, predicted, NAMES)
    accuracy = sum(a == b for a, b in zip(LABELS, predicted)) / len(LABELS)
    return {**ArmResult(test_accuracy=accuracy, test_loss=0.5, params=params, file_bytes=params * 4,
                        train_seconds=10.0, best_epoch=2, macro_f1=report.macro_f1, per_class=report.per_class,
                        confusion=report.confusion).to_dict()}


def confusion_charts(at: AppTest) -> list[Any]:
    """The page's confusion heatmaps (by their keys), in page order."""
    return [c for c in at.get("plotly_chart") if str(c.key or "").startswith("live.confusion.")]


def three_class_summary() -> dict[str, Any]:
    """A summary as the engine writes it for a finished three-class run (built by hand: no training)."""
    teacher = arm([0] * 68 + [1] * 2 + [1] * 27 + [0] * 3 + [2] * 18 + [0] * 2, 200_000)
    student = arm([0] * 66 + [1] * 4 + [1] * 24 + [0] * 6 + [2] * 15 + [0] * 5, 50_000)
    scratch = arm([0] * 69 + [1] * 1 + [1] * 12 + [0] * 18 + [2] * 6 + [0] * 14, 50_000)
    student.update(gain_over_scratch=student["test_accuracy"] - scratch["test_accuracy"],
                   macro_f1_gain=student["macro_f1"] - scratch["macro_f1"])
    return json.loads(json.dumps({
        "device": "CPU", "total_seconds": 30.0, "teacher_reused": False, "teacher_key": "k",
        "data": {"train": 800, "val": 100, "test": 120},
        "arms": {"teacher": teacher, "student": student, "scratch": scratch},
        "verdict": "Distillation paid. The classes are imbalanced on the test set; macro-F1 counts each class alike.",
        "class_names": NAMES,
    }))


def test_live__finished_three_class_run_shows_per_class_table_and_three_heatmaps(
        kd_home: Path, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str],
        add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given a finished run of three imbalanced classes
    run_id = add_finished_run("tweets-3class", three_class_summary())
    # when its Live page opens
    at = open_page("pages/live.py", {"run": run_id})
    # then it shows without error: the results table first, with macro-F1 beside accuracy
    assert not at.exception, f"page raised: {at.exception}"
    results = at.dataframe[0].value.set_index("Model")
    assert "Macro-F1" in results.columns and results.loc["Distilled student", "Macro-F1"].endswith("pts)"), \
        f"{results}"
    # and a per-class table, one row per class with each arm's recall
    per_class = next(d.value for d in at.dataframe if "Class" in d.value.columns)
    assert list(per_class["Class"]) == NAMES, f"{per_class}"
    assert per_class.set_index("Class").loc["positive", "Scratch student: recall"] == "30.0%", "6 of 20 found"
    # and three confusion heatmaps side by side, teacher, distilled, scratch
    heatmaps = confusion_charts(at)
    assert [c.key for c in heatmaps] == [f"live.confusion.{a}" for a in ("teacher", "student", "scratch")], \
        f"one heatmap per arm: {heatmaps}"
    specs = [json.loads(c.proto.spec) for c in heatmaps]
    assert all(s["data"][0]["type"] == "heatmap" for s in specs), "plotly heatmaps"
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles == ["Teacher", "Distilled student", "Scratch student"], titles
    assert specs[2]["data"][0]["text"][2] == [14, 0, 6], "the scratch student's positive row, as counts"
    shown = texts(at)
    assert "By class" in shown and "imbalanced (the smallest under half the largest)" in shown, shown


def test_live__a_run_stored_before_per_class_figures_shows_no_class_section(
        kd_home: Path, fixture_runs: dict[str, str], open_page: Callable[..., AppTest],
        texts: Callable[[AppTest], str]) -> None:
    # given the fixture's finished run, stored without per-class figures
    at = open_page("pages/live.py", {"run": fixture_runs["succeeded"]})
    # then the page is as before: no class section, no heatmap, no macro-F1 column
    assert not at.exception, f"page raised: {at.exception}"
    assert "By class" not in texts(at)
    assert not confusion_charts(at), "no heatmap"
    assert "Macro-F1" not in at.dataframe[0].value.columns
