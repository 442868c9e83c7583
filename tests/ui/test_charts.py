"""Plotly figures of kdcore.ui.charts: fixed arm colours, solid training and dashed validation lines."""

from __future__ import annotations

import pandas as pd
import pytest

from kdcore.arms import arm_label
from kdcore.results import RunSummary
from kdcore.ui import charts


def curves_frame(arms: tuple[str, ...] = ("teacher", "student", "scratch"), epochs: int = 2,
                 steps: int = 4) -> pd.DataFrame:
    """Curves in the store's long format: ticks at epoch + step/steps, epoch rows at epoch + 1."""
    rows = []
    for arm in arms:
        for epoch in range(epochs):
            for step in range(1, steps + 1):
                x = epoch + step / steps
                rows += [(arm, "tick", epoch, step, x, "accuracy", 0.5 + x / 10, x),
                         (arm, "tick", epoch, step, x, "loss", 1.0 - x / 10, x)]
            rows += [(arm, "epoch", epoch, steps, epoch + 1.0, "val_accuracy", 0.55 + epoch / 10, epoch + 1.0),
                     (arm, "epoch", epoch, steps, epoch + 1.0, "val_loss", 0.9 - epoch / 10, epoch + 1.0)]
    return pd.DataFrame(rows, columns=["arm", "kind", "epoch", "step", "fraction", "name", "value", "t"])


def test_arm_colors__are_fixed_distinct_and_shared_by_seeds() -> None:
    assert set(charts.ARM_COLORS) == {"teacher", "student", "scratch"}, "one colour per role"
    assert len(set(charts.ARM_COLORS.values())) == 3, "roles must be told apart by colour"
    assert charts.arm_color("student@1") == charts.arm_color("student"), "extra seeds keep their role's colour"
    assert arm_label("scratch@1") == "Scratch student (seed 2)", "seeds are counted from 1 for people"


def test_curve_figure__train_solid_validation_dashed_in_arm_colours() -> None:
    fig = charts.curve_figure(curves_frame(), "accuracy")
    by_key = {(t.meta["arm"], t.meta["split"]): t for t in fig.data}
    assert set(by_key) == {(a, s) for a in ("teacher", "student", "scratch") for s in ("train", "validation")}
    for (arm, split), trace in by_key.items():
        assert trace.line.color == charts.ARM_COLORS[arm], f"{arm} {split} must use the arm's colour"
        assert trace.line.dash == ("solid" if split == "train" else "dash"), f"{arm} {split} line style"
    train = by_key[("student", "train")]
    assert list(train.x) == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], "ticks at fractional epochs"
    assert list(by_key[("student", "validation")].x) == [1.0, 2.0], "validation once per epoch end"
    assert fig.layout.yaxis.tickformat == ".1%", "accuracy is shown in percent"


def test_curve_figure__orders_arms_teacher_student_scratch_then_seeds() -> None:
    fig = charts.curve_figure(curves_frame(("scratch@1", "student@1", "scratch", "teacher", "student")), "loss")
    order = list(dict.fromkeys(t.meta["arm"] for t in fig.data))
    assert order == ["teacher", "student", "scratch", "student@1", "scratch@1"], f"legend order: {order}"
    faded = [t.opacity for t in fig.data if "@" in t.meta["arm"]]
    assert faded and all(o < 1 for o in faded), "extra seeds are drawn fainter"


@pytest.mark.parametrize("frame", [None, curves_frame().iloc[0:0]])
def test_curve_figure__empty_curves_say_they_are_waiting(frame: pd.DataFrame | None) -> None:
    fig = charts.curve_figure(frame, "loss")
    assert not fig.data, "no traces without data"
    assert "Waiting" in fig.layout.annotations[0].text, "an empty chart says why it is empty"


def test_compare_figure__colour_is_the_arm_and_style_is_the_run() -> None:
    fig = charts.compare_figure({"run A": curves_frame(), "run B": curves_frame(("teacher", "student@1"))})
    names = [t.name for t in fig.data]
    assert names == ["run A · Teacher", "run A · Distilled student", "run A · Scratch student", "run B · Teacher"], \
        f"first seed of each arm of each run: {names}"
    assert fig.data[0].line.dash != fig.data[3].line.dash, "runs differ in line style"
    assert fig.data[0].line.color == fig.data[3].line.color == charts.ARM_COLORS["teacher"], "arm colour kept"


def test_compare_figure__runs_without_epochs_give_an_explained_empty_chart() -> None:
    ticks_only = curves_frame()
    fig = charts.compare_figure({"run A": ticks_only[ticks_only["kind"] == "tick"]})
    assert not fig.data and fig.layout.annotations, "no epoch rows: nothing to overlay, and it says so"


def test_accuracy_bars_figure__one_bar_per_arm_in_its_colour() -> None:
    summary = {"arms": {"scratch": {"test_accuracy": 0.80}, "teacher": {"test_accuracy": 0.86},
                        "student": {"test_accuracy": 0.83}}}
    bar = charts.accuracy_bars_figure(RunSummary.from_dict(summary)).data[0]
    assert list(bar.y) == ["Teacher", "Distilled student", "Scratch student"], "arms in the usual order"
    assert list(bar.marker.color) == [charts.ARM_COLORS[a] for a in ("teacher", "student", "scratch")]
    assert list(bar.text) == ["86.0%", "83.0%", "80.0%"], "labelled in percent"


def test_curve_figure__student_training_loss_is_its_label_cross_entropy() -> None:
    # given a student whose total loss (with the soft term) differs from its hard loss
    frame = curves_frame()
    student_hard = frame[(frame["arm"] == "student") & (frame["name"] == "loss")].assign(name="hard_loss",
                                                                                          value=0.123)
    frame = pd.concat([frame, student_hard], ignore_index=True)
    # when the loss chart is drawn
    fig = charts.curve_figure(frame, "loss")
    train = next(t for t in fig.data if t.meta == {"arm": "student", "split": "train"})
    # then the student's solid line is hard_loss, comparable with the other arms' cross-entropy
    assert set(train.y) == {0.123}, "the distilled student's training loss line must be its hard_loss"


@pytest.mark.parametrize("metric", ["accuracy", "loss"])
def test_curve_figure__an_empty_chart_has_a_sane_axis(metric: str) -> None:
    # given no curves yet (Plotly alone draws an empty axis from -1 to 4: -100% to 400% for accuracy)
    fig = charts.curve_figure(None, metric)
    # then the axis shows the scale the data will land on
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0), f"{metric}: {fig.layout.yaxis.range}"
    empty_compare = charts.compare_figure({"run A": None})
    assert tuple(empty_compare.layout.yaxis.range) == (0.0, 1.0), "the overlay too"


def test_curve_figure__an_accuracy_axis_never_leaves_0_to_100_percent() -> None:
    fig = charts.curve_figure(curves_frame(), "accuracy")
    options = fig.layout.yaxis.autorangeoptions
    assert (options.minallowed, options.maxallowed) == (0.0, 1.0), "zoomed on the data, but within 0..100%"
    assert fig.layout.yaxis.range is None, "with data the axis follows it"


def test_accuracy_bars_figure__bars_start_at_zero_so_lengths_compare() -> None:
    # given the run: 60% against 46.5%, on 200 test reviews
    summary = RunSummary.from_dict({"data": {"test": 200}, "arms": {"student": {"test_accuracy": 0.60},
                                                                  "scratch": {"test_accuracy": 0.465}}})
    fig = charts.accuracy_bars_figure(summary)
    # then the axis starts at 0 (a cut axis at 40% drew them 2:1), and whiskers show each 95% interval
    assert tuple(fig.layout.xaxis.range) == (0.0, 1.0), f"bars from 0: {fig.layout.xaxis.range}"
    bar = fig.data[0]
    low, high = summary.accuracy_interval("scratch") or (0, 0)
    assert bar.error_x.visible and bar.error_x.arrayminus[1] == pytest.approx(0.465 - low), "the Wilson interval"
    assert bar.error_x.array[1] == pytest.approx(high - 0.465)


def test_smoothed__is_tensorboards_debiased_moving_average() -> None:
    # given weight 0.5: the average is 0.5 * 1 = 0.5 after one point, debiased by 1 - 0.5 -> 1.0; then
    # 0.5 * 0.5 + 0.5 * 0 = 0.25, debiased by 1 - 0.25 -> 1/3
    assert charts.smoothed([1.0, 0.0], 0.5) == pytest.approx([1.0, 1 / 3])
    assert list(charts.smoothed([0.3, 0.9], 0.0)) == [0.3, 0.9], "weight 0: as measured"


def test_curve_figure__smoothing_applies_to_training_lines_only() -> None:
    frame = curves_frame()
    plain = charts.curve_figure(frame, "accuracy")
    smooth = charts.curve_figure(frame, "accuracy", smoothing=0.6)
    by_key = {(t.meta["arm"], t.meta["split"]): t for t in smooth.data}
    raw = frame[(frame["arm"] == "student") & (frame["kind"] == "tick") & (frame["name"] == "accuracy")]
    assert list(by_key[("student", "train")].y) == pytest.approx(charts.smoothed(raw["value"], 0.6)), "smoothed"
    assert list(by_key[("student", "train (raw)")].y) == pytest.approx(raw["value"]), "the raw line kept, faint"
    assert by_key[("student", "train (raw)")].opacity < 0.5 and not by_key[("student", "train (raw)")].showlegend
    plain_val = next(t for t in plain.data if t.meta == {"arm": "student", "split": "validation"})
    assert list(by_key[("student", "validation")].y) == list(plain_val.y), "validation is never smoothed"
    assert not any(t.meta["split"] == "train (raw)" for t in plain.data), "off by default"
