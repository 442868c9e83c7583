"""Plotly figures for the dashboard, with one colour per arm used on every page.

The colours are fixed (not Plotly's cycle) so that "orange is the distilled student" holds on
the live page, in run comparisons and in screenshots alike; they come from the Okabe-Ito
palette, which stays distinguishable for colour-blind readers. Training curves (logging
ticks) are solid, validation curves (one point per epoch) dashed, on the fractional-epoch
axis the store records, so both kinds of row share an x axis. Arms are named, labelled and
ordered by :mod:`kdcore.arms`; only their colours are presentation, and live here.

Pure functions of DataFrames and run summaries: no Streamlit, no TensorFlow, easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from kdcore.arms import arm_base, arm_label, is_extra_seed, sorted_arms
from kdcore.results import RunSummary

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
    if percent:
        fig.update_yaxes(tickformat=".1%")
    return fig


def _empty(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14, "color": "#888"})
    fig.update_xaxes(range=[0, 1])
    return fig


def curve_figure(curves: pd.DataFrame, metric: str, *, height: int = 380) -> go.Figure:
    """One metric (``accuracy`` or ``loss``) of every arm against fractional epoch.

    Ticks named ``metric`` give the solid training line; epoch rows named ``val_<metric>``
    the dashed validation line with markers. Train and validation of one arm share one legend
    entry (a legend group), so one click hides both and the legend stays one line long; the
    page's caption explains solid and dashed.

    For the loss, the distilled student's training line is its ``hard_loss`` (cross-entropy on
    the labels), the quantity every other line shows; its total ``loss`` includes the
    T^2-scaled soft term, lives on another scale, and would make the lines incomparable.
    """
    percent = metric == "accuracy"
    fig = go.Figure()
    title = METRIC_TITLES.get(metric, metric)
    _layout(fig, title, title.lower(), percent=percent, height=height)
    if curves is None or curves.empty:
        return _empty(fig, "Waiting for the first training batch...")
    val_name = f"val_{metric}"
    for arm in sorted_arms(curves["arm"]):
        rows = curves[curves["arm"] == arm]
        color = arm_color(arm)
        extra_seed = is_extra_seed(arm)
        opacity = 0.5 if extra_seed else 1.0
        label = arm_label(arm)
        train_name = TRAIN_LOSS_OF.get(arm_base(arm), metric) if metric == "loss" else metric
        train = rows[(rows["kind"] == "tick") & (rows["name"] == train_name)].sort_values("fraction")
        if not train.empty:
            fig.add_trace(go.Scatter(
                x=train["fraction"].to_numpy(), y=train["value"].to_numpy(),
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
        return _empty(fig, "Waiting for the first training batch...")
    return fig


def compare_figure(curves_by_run: Mapping[str, pd.DataFrame], metric: str = "val_accuracy", *,
                   height: int = 420) -> go.Figure:
    """Overlay one epoch metric of several runs: colour is the arm, dash and marker the run.

    Only the first seed of each role is drawn; extra seeds would make the overlay unreadable.
    """
    percent = metric.endswith("accuracy")
    fig = go.Figure()
    words = metric.replace("val_", "validation ").replace("_", " ")
    _layout(fig, f"{words.capitalize()} by run", words, percent=percent, height=height)
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
        return _empty(fig, "The chosen runs have no finished epoch yet")
    return fig


def accuracy_bars_figure(summary: RunSummary, *, height: int = 300) -> go.Figure:
    """Horizontal bars of each arm's test accuracy from a run summary (fixed colours)."""
    fig = go.Figure()
    _layout(fig, "Test accuracy", "", percent=False, height=height)
    fig.update_layout(hovermode="closest", showlegend=False, xaxis_title="test accuracy")
    tested = {name: summary.arm(name).test_accuracy for name in summary.arm_names()}
    names = [name for name, accuracy in tested.items() if accuracy is not None]
    if not names:
        return _empty(fig, "No test results")
    values = [float(tested[a]) for a in names]
    fig.add_trace(go.Bar(
        x=values, y=[arm_label(a) for a in names], orientation="h",
        marker={"color": [arm_color(a) for a in names]},
        text=[f"{v:.1%}" for v in values], textposition="auto",
    ))
    # zoom on the results (differences of a point matter) but keep a margin around them
    low = max(0.0, math.floor((min(values) - 0.05) * 20) / 20)
    high = min(1.0, math.ceil((max(values) + 0.02) * 20) / 20)
    fig.update_xaxes(tickformat=".0%", range=[low, high])
    fig.update_yaxes(autorange="reversed")
    return fig
