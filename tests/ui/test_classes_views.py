"""What a finished run shows per class: the confusion heatmaps, the per-class table, macro-F1 in the results table."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from kdcore.results import ArmResult, RunSummary
from kdcore.results.classes import MAX_CONFUSION_CLASSES, class_report
from kdcore.ui import charts
from kdcore.ui import tables as ui_tables

NAMES = ("negative", "neutral", "positive")
LABELS = [0] * 6 + [1] * 2 + [2] * 4


def arm(predicted: list[int], accuracy: float) -> dict[str, Any]:
    report = class_report(LABELS, predicted, NAMES)
    return ArmResult(test_accuracy=accuracy, macro_f1=report.macro_f1, per_class=report.per_class,
                     confusion=report.confusion).to_dict()


def three_class_summary() -> RunSummary:
    arms = {"teacher": arm([0] * 6 + [1, 1] + [2, 2, 2, 0], 11 / 12),
            "student": {**arm([0] * 6 + [1, 0] + [2, 2, 2, 0], 10 / 12), "macro_f1_gain": 0.25},
            "scratch": arm([0] * 6 + [0, 0] + [2, 2, 2, 0], 9 / 12)}
    return RunSummary.from_dict(json.loads(json.dumps({"arms": arms, "class_names": list(NAMES)})))


def test_confusion_figure__row_normalised_colours_with_counts_as_text() -> None:
    # given a 3x3 matrix whose rows hold 6, 2 and 4 rows
    matrix = [[6, 0, 0], [1, 1, 0], [1, 0, 3]]
    # when it is drawn
    fig = charts.confusion_figure(matrix, NAMES, "Distilled student")
    heat = fig.data[0]
    # then each colour is the cell's share of its true class, and the text its count
    assert heat.type == "heatmap" and fig.layout.title.text == "Distilled student"
    assert np.asarray(heat.z).tolist() == [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.0, 0.75]], "row shares"
    assert np.asarray(heat.text).tolist() == matrix, "counts as text"
    assert (heat.zmin, heat.zmax) == (0.0, 1.0), "one colour scale for every arm: 0..100 % of a row"
    assert list(heat.x) == list(NAMES) and list(heat.y) == list(NAMES), "class names on both axes"
    assert fig.layout.yaxis.autorange == "reversed", "the first class's row on top, as a matrix is read"
    assert fig.layout.xaxis.title.text == "predicted" and fig.layout.yaxis.title.text == "true"
    assert heat.texttemplate, "the counts are written in the cells"


def test_confusion_figure__no_matrix_is_an_explained_empty_chart() -> None:
    fig = charts.confusion_figure(None, NAMES, "Scratch student")
    assert not fig.data and "No confusion matrix" in fig.layout.annotations[0].text


def test_confusion_figure__many_classes_keep_the_counts_in_the_hover() -> None:
    k = charts.CONFUSION_TEXT_MAX + 1
    fig = charts.confusion_figure(np.eye(k, dtype=int).tolist(), [f"c{i}" for i in range(k)], "Teacher")
    assert fig.data[0].texttemplate == "" and "rows" in fig.data[0].hovertemplate, "cells too small for text"
    assert k < MAX_CONFUSION_CLASSES


def test_confusion_figures__one_per_arm_that_stored_a_matrix_in_arm_order() -> None:
    # given a summary whose scratch arm was stored without a matrix
    summary = three_class_summary()
    raw = summary.to_dict()
    del raw["arms"]["scratch"]["confusion"]
    figures = charts.confusion_figures(RunSummary.from_dict(raw))
    # then the teacher and the student get a heatmap, titled by arm
    assert list(figures) == ["teacher", "student"], "teacher, student, scratch order; no empty one"
    assert figures["student"].layout.title.text == "Distilled student"
    assert not any(f.data[0].showscale for f in figures.values()), "one fixed scale, named in the caption: no bars"


def test_per_class_frame__a_row_per_class_and_each_arms_precision_recall_f1() -> None:
    # given a finished three-class run
    frame = ui_tables.per_class_frame(three_class_summary()).set_index("Class")
    # then each class has its test rows and every arm's figures, in percent
    assert list(frame.index) == list(NAMES) and frame.loc["neutral", "Test rows"] == 2
    assert frame.loc["neutral", "Distilled student: recall"] == "50.0%", "one of the two neutral rows found"
    assert frame.loc["neutral", "Scratch student: recall"] == "0.0%", "none found"
    assert frame.loc["neutral", "Teacher: precision"] == "100.0%"
    assert {"Teacher: F1", "Distilled student: F1", "Scratch student: F1"} <= set(frame.columns)


def test_per_class_frame__empty_for_a_run_stored_before_per_class_figures() -> None:
    summary = RunSummary.from_dict({"arms": {"teacher": {"test_accuracy": 0.8}}})
    assert ui_tables.per_class_frame(summary).empty and ui_tables.class_arms(summary) == []


def test_summary_frame__macro_f1_column_only_when_stored() -> None:
    # given a run with macro-F1 and one stored before it
    table = ui_tables.summary_frame(three_class_summary()).set_index("Model")
    old = ui_tables.summary_frame(RunSummary.from_dict({"arms": {"teacher": {"test_accuracy": 0.8}}}))
    # then the new run shows it (a student with its gap to scratch), the old one has no such column
    assert list(table.columns[:2]) == ["Test accuracy", "Macro-F1"], "beside the accuracy"
    assert table.loc["Distilled student", "Macro-F1"].endswith("(+25.00 pts)"), "the student's gap"
    assert "(" not in table.loc["Teacher", "Macro-F1"], "only students are compared"
    assert "Macro-F1" not in old.columns, "runs stored before macro-F1 look as they did"


def test_class_caption__says_when_the_classes_are_imbalanced() -> None:
    caption = ui_tables.class_caption(three_class_summary())
    assert caption.startswith("3 classes, 12 test rows.") and "imbalanced" in caption, caption


def test_seed_lines__macro_f1_gain_over_seeds() -> None:
    # given a summary with a macro-F1 gain over three seeds
    raw = {"seeds": {"student": {"mean": 0.8, "std": 0.01, "values": [0.79, 0.8, 0.81]},
                     "macro_f1_gain": {"mean": 0.025, "std": 0.005, "values": [0.02, 0.03, 0.025], "ci95": 0.0124,
                                       "exceeds_spread": True}}}
    lines = ui_tables.seed_lines(RunSummary.from_dict(raw))
    assert "Macro-F1 gain of distillation: +2.50 pts ± 1.24 pts (95% interval), larger than the spread between " \
           "seeds" in lines, lines
