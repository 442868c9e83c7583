"""Plotly figures for the dashboard, with one colour per arm used on every page.

The colours are fixed (not Plotly's cycle) so that "orange is the distilled student" holds on
the live page, in run comparisons and in screenshots alike; they come from the Okabe-Ito
palette, which stays distinguishable for colour-blind readers. Training curves (logging
ticks) are solid, validation curves (one point per epoch) dashed, on the fractional-epoch
axis the store records, so both kinds of row share an x axis. Arms are named, labelled and
ordered by :mod:`kdcore.arms`; only their colours are presentation, and live here.

Axes that cannot mislead: an accuracy axis never leaves 0..100 % (an empty chart shows that
range, not Plotly's default -1..4), and test-accuracy bars start at 0, so a bar twice as long
is twice the accuracy. Training curves may be smoothed (TensorBoard's debiased exponential
moving average, with the raw line kept faint behind); validation points never are: one point
per epoch is the measurement itself.

Pure functions of DataFrames and run summaries: no Streamlit, no TensorFlow, easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdcore.arms import arm_base, arm_label, is_extra_seed, sorted_arms
from kdcore.results import RunSummary
from kdcore.results.classes import row_shares
from kdcore.results.sweep_results import Frontier, Heatmap
from kdcore.ui.compare import metric_label

#: Fixed colour per arm role (Okabe-Ito blue, vermillion, bluish green).
ARM_COLORS: dict[str, str] = {
    "teacher": "#0072B2",
    "student": "#D55E00",
    "scratch": "#009E73",
}
_FALLBACK_COLOR = "#7F7F7F"
#: Line styles that tell runs apart in a comparison (colour stays the arm's).
_RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")

METRIC_TITLES = {"accuracy": "Accuracy", "loss": "Loss (cross-entropy on labels)"}
#: The training-loss series comparable across arms: the student's total mixes in the soft term.
TRAIN_LOSS_OF = {"student": "hard_loss"}
#: The smoothing weight the Live page's toggle applies (TensorBoard's default is 0.6).
SMOOTHING = 0.6
#: The whole accuracy scale: what an accuracy axis shows before data, and the most it may ever show.
ACCURACY_RANGE = (0.0, 1.0)
#: A loss axis before data: from 0 to a little above ln 2, where an untrained binary classifier starts.
EMPTY_LOSS_RANGE = (0.0, 1.0)
#: Above this many classes a confusion matrix's cells are too small for their counts: hover shows them instead.
CONFUSION_TEXT_MAX = 20
#: The arms a finished run shows confusion matrices of, side by side (the first seed of each role).
CONFUSION_ARMS = ("teacher", "student", "scratch")


def arm_color(arm: str) -> str:
    """The colour of an arm's role; ``student@1`` shares the student's colour."""
    return ARM_COLORS.get(arm_base(arm), _FALLBACK_COLOR)


def _layout(fig: go.Figure, title: str, y_title: str, *, percent: bool, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
        showlegend=True,
        xaxis_title="epoch",
        yaxis_title=y_title,
    )
    fig.update_xaxes(rangemode="tozero", showgrid=True)
    if percent:  # zoomed on the data, but never past 0 % or 100 %
        fig.update_yaxes(tickformat=".1%", autorangeoptions={"minallowed": ACCURACY_RANGE[0],
                                                             "maxallowed": ACCURACY_RANGE[1]})
    else:
        fig.update_yaxes(rangemode="tozero")
    return fig


def _empty(fig: go.Figure, message: str, y_range: tuple[float, float] = ACCURACY_RANGE) -> go.Figure:
    """An explained empty chart on a sane scale (Plotly alone would draw -1..4, i.e. -100 % to 400 %)."""
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14, "color": "#888"})
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=list(y_range))
    return fig


def smoothed(values: Sequence[float], weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.

    ``weight`` 0 returns the values as they are; 0.9 averages over roughly the last ten.
    """
    raw = np.asarray(values, dtype=float)
    if weight <= 0 or len(raw) == 0:
        return raw
    out = np.empty_like(raw)
    last = 0.0
    for i, value in enumerate(raw):
        last = last * weight + (1 - weight) * value
        out[i] = last / (1 - weight ** (i + 1))
    return out


def curve_figure(curves: pd.DataFrame, metric: str, *, height: int = 380, smoothing: float = 0.0) -> go.Figure:
    """One metric (``accuracy`` or ``loss``) of every arm against fractional epoch.

    Ticks named ``metric`` give the solid training line; epoch rows named ``val_<metric>``
    the dashed validation line with markers. Train and validation of one arm share one legend
    entry (a legend group), so one click hides both and the legend stays one line long; the
    page's caption explains solid and dashed.

    For the loss, the distilled student's training line is its ``hard_loss`` (cross-entropy on
    the labels), the quantity every other line shows; its total ``loss`` includes the
    T^2-scaled soft term, lives on another scale, and would make the lines incomparable.

    ``smoothing`` (0..1, TensorBoard's weight) smooths the training lines only, each drawn over
    its faint raw line; validation points are never smoothed.
    """
    percent = metric == "accuracy"
    fig = go.Figure()
    title = METRIC_TITLES.get(metric, metric)
    _layout(fig, title, title.lower(), percent=percent, height=height)
    empty_range = ACCURACY_RANGE if percent else EMPTY_LOSS_RANGE
    if curves is None or curves.empty:
        return _empty(fig, "Waiting for the first training batch...", empty_range)
    val_name = f"val_{metric}"
    for arm in sorted_arms(curves["arm"]):
        rows = curves[curves["arm"] == arm]
        color = arm_color(arm)
        extra_seed = is_extra_seed(arm)
        opacity = 0.5 if extra_seed else 1.0
        label = arm_label(arm)
        train_name = TRAIN_LOSS_OF.get(arm_base(arm), metric) if metric == "loss" else metric
        train = rows[(rows["kind"] == "tick") & (rows["name"] == train_name)].sort_values("fraction")
        if not train.empty and smoothing > 0:
            fig.add_trace(_raw_line(train, arm, color, opacity))
        if not train.empty:
            fig.add_trace(go.Scatter(
                x=train["fraction"].to_numpy(), y=smoothed(train["value"].to_numpy(), smoothing),
                mode="lines" if len(train) > 2 else "lines+markers",  # a lone point needs a marker
                name=label, legendgroup=arm, opacity=opacity, showlegend=True,
                line={"color": color, "width": 1.5 if extra_seed else 2.2, "dash": "solid"},
                meta={"arm": arm, "split": "train"},
                hovertemplate="%{y:" + (".1%" if percent else ".4f") + "}",
            ))
        val = rows[(rows["kind"] == "epoch") & (rows["name"] == val_name)].sort_values("fraction")
        if not val.empty:
            fig.add_trace(go.Scatter(
                x=val["fraction"].to_numpy(), y=val["value"].to_numpy(), mode="lines+markers",
                name=f"{label} · validation", legendgroup=arm, opacity=opacity, showlegend=train.empty,
                line={"color": color, "width": 1.5 if extra_seed else 2.2, "dash": "dash"},
                marker={"size": 8, "color": color},
                meta={"arm": arm, "split": "validation"},
                hovertemplate="%{y:" + (".1%" if percent else ".4f") + "}",
            ))
    if not fig.data:
        return _empty(fig, "Waiting for the first training batch...", empty_range)
    return fig


def _raw_line(train: pd.DataFrame, arm: str, color: str, opacity: float) -> go.Scatter:
    """The unsmoothed training line, faint and silent behind its smoothed one (as TensorBoard draws it)."""
    return go.Scatter(x=train["fraction"].to_numpy(), y=train["value"].to_numpy(), mode="lines", legendgroup=arm,
                      showlegend=False, opacity=0.25 * opacity, hoverinfo="skip",
                      line={"color": color, "width": 1.0, "dash": "solid"}, meta={"arm": arm, "split": "train (raw)"})


def compare_figure(curves_by_run: Mapping[str, pd.DataFrame], metric: str = "val_accuracy", *,
                   height: int = 420) -> go.Figure:
    """Overlay one epoch metric of several runs (any that :func:`kdcore.ui.compare.recorded_metrics` lists).

    Colour is the arm, dash and marker the run.

    Only the first seed of each role is drawn; extra seeds would make the overlay unreadable.
    """
    percent = metric.endswith("accuracy")
    fig = go.Figure()
    label = metric_label(metric)  # the words the Runs page's metric select box shows
    _layout(fig, f"{label} by run", label.lower(), percent=percent, height=height)
    for i, (run_label, curves) in enumerate(curves_by_run.items()):
        if curves is None or curves.empty:
            continue
        rows = curves[(curves["kind"] == "epoch") & (curves["name"] == metric)]
        for arm in sorted_arms(a for a in rows["arm"] if not is_extra_seed(a)):
            arm_rows = rows[rows["arm"] == arm].sort_values("fraction")
            fig.add_trace(go.Scatter(
                x=arm_rows["fraction"].to_numpy(), y=arm_rows["value"].to_numpy(),
                mode="lines+markers", name=f"{run_label} · {arm_label(arm)}",
                line={"color": arm_color(arm), "dash": _RUN_DASHES[i % len(_RUN_DASHES)], "width": 2},
                marker={"symbol": _RUN_SYMBOLS[i % len(_RUN_SYMBOLS)], "size": 8, "color": arm_color(arm)},
                meta={"arm": arm, "run": run_label},
            ))
    if not fig.data:
        return _empty(fig, "The chosen runs have no finished epoch yet",
                      ACCURACY_RANGE if percent else EMPTY_LOSS_RANGE)
    return fig


def accuracy_bars_figure(summary: RunSummary, *, height: int = 300) -> go.Figure:
    """Horizontal bars of each arm's test accuracy from a run summary (fixed colours), from 0 to 100 %.

    A bar's length is its accuracy: a cut axis (it once started at 40 %) drew 60 % against 46.5 %
    as 2:1. Points of difference show in the labels and in the 95 % interval whiskers instead.
    """
    fig = go.Figure()
    _layout(fig, "Test accuracy", "", percent=False, height=height)
    fig.update_layout(hovermode="closest", showlegend=False, xaxis_title="test accuracy")
    tested = {name: summary.arm(name).test_accuracy for name in summary.arm_names()}
    names = [name for name, accuracy in tested.items() if accuracy is not None]
    if not names:
        return _empty(fig, "No test results")
    values = [float(tested[a]) for a in names]
    known = [summary.accuracy_interval(a) for a in names]
    intervals = [interval or (v, v) for interval, v in zip(known, values, strict=True)]
    fig.add_trace(go.Bar(
        x=values, y=[arm_label(a) for a in names], orientation="h",
        marker={"color": [arm_color(a) for a in names]},
        text=[f"{v:.1%}" for v in values], textposition="inside", insidetextanchor="end",
        error_x={"type": "data", "symmetric": False, "color": "#444", "thickness": 1.2,
                 "visible": any(interval is not None for interval in known),
                 "array": [high - v for (_, high), v in zip(intervals, values, strict=True)],
                 "arrayminus": [v - low for (low, _), v in zip(intervals, values, strict=True)]},
    ))
    fig.update_xaxes(tickformat=".0%", range=list(ACCURACY_RANGE))  # from 0: lengths compare honestly
    fig.update_yaxes(autorange="reversed")
    return fig


def confusion_figure(matrix: Sequence[Sequence[int]] | None, class_names: Sequence[str], title: str, *,
                     height: int | None = None, color_bar: bool = True) -> go.Figure:
    """A confusion matrix as a heatmap: rows the true class, columns the predicted one, top row first.

    Colours are row-normalised (a cell's share of its true class, 0..100 %: the diagonal is each
    class's recall), so a rare class's row is as readable as a common one's; the counts are the
    cells' text (up to :data:`CONFUSION_TEXT_MAX` classes, beyond it in the hover only). The scale
    is fixed at 0..100 %, so matrices side by side share it and only one needs its ``color_bar``.
    """
    fig = go.Figure()
    fig.update_layout(title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
                      margin={"l": 10, "r": 10, "t": 48, "b": 10})
    if not matrix:
        fig.update_layout(height=height or 300)
        return _empty(fig, "No confusion matrix stored")
    k = len(matrix)
    names = [str(n) for n in class_names[:k]] + [str(i) for i in range(len(class_names), k)]
    counts = np.asarray(matrix, dtype=np.int64)
    fig.add_trace(go.Heatmap(
        z=row_shares(matrix), x=names, y=names, text=counts.tolist(), zmin=0.0, zmax=1.0, colorscale="Blues",
        showscale=color_bar,
        texttemplate="%{text:,}" if k <= CONFUSION_TEXT_MAX else "", xgap=1, ygap=1,
        colorbar={"title": {"text": "share of row"}, "tickformat": ".0%", "thickness": 12},
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text:,} rows (%{z:.1%} of the true class)<extra></extra>",
        meta={"title": title},
    ))
    fig.update_layout(height=height or max(300, min(800, 120 + 40 * k)))
    fig.update_xaxes(title_text="predicted", type="category", side="bottom")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    return fig


def confusion_figures(summary: RunSummary, arms: Sequence[str] = CONFUSION_ARMS) -> dict[str, go.Figure]:
    """Arm name -> :func:`confusion_figure` of each of ``arms`` that stored a confusion matrix, in that order.

    Drawn side by side, they share one fixed colour scale (0..100 % of a row), which the page's caption
    names; no colour bar, so that the matrices keep one size (a bar on one alone would shrink it).
    """
    names = summary.classes()
    return {arm: confusion_figure(summary.arm(arm).confusion, names, arm_label(arm), color_bar=False)
            for arm in arms if summary.arm(arm).confusion}


#: Marker symbol of each student family on the frontier (colour stays the series').
FAMILY_SYMBOLS = {"recurrent": "circle", "conv": "square", "ngram": "diamond"}
#: The frontier's two student series, as :mod:`kdcore.results.sweep_results` names them, and their legend names.
FRONTIER_SERIES = {"student": "Distilled student", "scratch": "Scratch student"}
FRONTIER_X_TITLES = {"params": "parameters (log scale)", "latency": "batch-1 latency, ms (log scale)"}


def frontier_figure(frontier: Frontier, *, height: int = 460) -> go.Figure:
    """Test accuracy against size (or latency) of every student of a sweep: the frontier of what it found.

    Distilled and scratch students are two series in their arms' colours, marker shape the
    student's family; Pareto points (nothing smaller is as accurate) are joined by a line per
    series; points stopped by successive halving are hollow and faint, an accuracy after fewer
    epochs; the teacher is a horizontal line. The x axis is logarithmic: sizes span 100x.
    """
    fig = go.Figure()
    _layout(fig, "Size against accuracy", "test accuracy", percent=True, height=height)
    fig.update_layout(hovermode="closest", xaxis_title=FRONTIER_X_TITLES.get(frontier.x, frontier.x))
    fig.update_xaxes(type="log", rangemode="normal")
    if not frontier.points:
        return _empty(fig, "No finished run yet" if frontier.x == "params" else "No run has a latency measured yet")
    for series, label in FRONTIER_SERIES.items():
        points = frontier.series(series)
        color = arm_color(series)
        for pruned in (False, True):
            shown = [p for p in points if p.pruned == pruned]
            if not shown:
                continue
            fig.add_trace(go.Scatter(
                x=[p.x for p in shown], y=[p.accuracy for p in shown], mode="markers",
                name=f"{label} · stopped early" if pruned else label, text=[p.label for p in shown],
                marker={"color": color, "size": [14 if p.pareto else 9 for p in shown],
                        "symbol": [FAMILY_SYMBOLS.get(p.family, "circle") + ("-open" if pruned else "")
                                   for p in shown],
                        "line": {"color": "#222", "width": [2 if p.pareto else 0 for p in shown]}},
                opacity=0.45 if pruned else 1.0,
                meta={"series": series, "kind": "stopped" if pruned else "points",
                      "pareto": [p.pareto for p in shown], "run_ids": [p.run_id for p in shown]},
                hovertemplate="%{text}<br>%{x:,.4g}<br>%{y:.1%}<extra></extra>"))
        front = sorted((p for p in points if p.pareto), key=lambda p: p.x)
        if front:
            fig.add_trace(go.Scatter(
                x=[p.x for p in front], y=[p.accuracy for p in front], mode="lines", showlegend=False,
                line={"color": color, "width": 1.5, "dash": "dot", "shape": "hv"}, hoverinfo="skip",
                meta={"series": series, "kind": "pareto"}))
    if frontier.teacher_accuracy is not None:
        fig.add_hline(y=frontier.teacher_accuracy, line={"color": arm_color("teacher"), "dash": "dash"},
                      annotation_text=f"Teacher {frontier.teacher_accuracy:.1%}", annotation_position="top left")
    return fig


def heatmap_figure(heatmap: Heatmap, title: str, *, height: int = 360) -> go.Figure:
    """A sweep's heatmap (:func:`kdcore.results.sweep_results.heatmap`): cells written in percent or points.

    Accuracy on a sequential scale; a gain on a diverging one centred on 0, so a loss to the
    scratch student reads red and a gain blue. Empty cells stay blank and say why on hover.
    """
    gain = heatmap.value == "gain"
    scale = [[v * 100 if v is not None else None for v in row] for row in heatmap.cells]
    text = [[("–" if v is None else f"{v:+.1f}" if gain else f"{v:.1f}%") for v in row] for row in scale]
    fig = go.Figure(go.Heatmap(
        z=scale, x=[str(v) for v in heatmap.x_values], y=[str(v) for v in heatmap.y_values], text=text,
        texttemplate="%{text}", colorscale="RdBu" if gain else "Blues", zmid=0 if gain else None, xgap=1, ygap=1,
        customdata=[[f"{n} finished, {s} stopped early" for n, s in zip(counts, stopped)]
                    for counts, stopped in zip(heatmap.counts, heatmap.pruned)],
        colorbar={"title": {"text": "points" if gain else "%"}, "thickness": 12},
        hovertemplate=(f"{heatmap.y} %{{y}}<br>{heatmap.x} %{{x}}<br>%{{text}}<br>%{{customdata}}<extra></extra>"),
        meta={"value": heatmap.value}))
    fig.update_layout(title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}}, height=height,
                      margin={"l": 10, "r": 10, "t": 48, "b": 10})
    fig.update_xaxes(title_text=heatmap.x, type="category")
    fig.update_yaxes(title_text=heatmap.y, type="category")
    return fig
