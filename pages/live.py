"""Live run: one run's progress and curves while it trains, its results once it is done."""

import json
import time

import streamlit as st

from kdcore.arms import arm_label
from kdcore.results import RunSummary
from kdcore.ui import charts
from kdcore.ui import cluster as ui_cluster
from kdcore.ui import compare as ui_compare
from kdcore.ui import deploy as ui_deploy
from kdcore.ui import entry as ui_entry
from kdcore.ui import progress as ui_progress
from kdcore.ui import tables as ui_tables
from kdcore.ui.format import fmt_duration, run_duration, status_badge
from kdcore.ui.widgets import asked_run_id, open_store, pick_run

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("live", st.query_params.to_dict()))

POLL_SECONDS = 2.0
STOPPED_WORDS = {"failed": "failed", "cancelled": "was cancelled", "succeeded": "ended"}

store = open_store()
st.title("Live run")

asked = asked_run_id()

runs = store.list_runs()
if not runs:
    st.info("No runs yet: start one on New run.", icon=":material/info:")
    st.page_link("pages/new_run.py", label="New run", icon=":material/add_circle:")
    st.stop()

run_id = pick_run(asked, runs, "live.run", "There is no run `{run_id}` (deleted, or from another KD Studio home).")

record = store.get_run(run_id)
if record is None:  # deleted between the list and now
    st.error(f"Run `{run_id}` was just deleted.")
    st.stop()
if record.damaged:
    st.warning(f"This run's record is damaged: {record.damage}. Its settings are lost.", icon=":material/report:")

head, actions = st.columns([4, 1], vertical_alignment="bottom")
device = record.device or RunSummary.from_dict(record.summary).device
if not device:
    device = "being detected" if record.status == "running" else "not known"
head.markdown(f"### {record.name or run_id}\n{status_badge(record.status)} `{run_id}` · device: **{device}**")
trained_on = ui_cluster.trained_on(store.placements(run_id))
if trained_on:
    head.caption(f"Trained on · {trained_on}")
if not record.finished:
    if record.cancel_requested:
        actions.button("Cancelling…", key="live.cancel", disabled=True, width="stretch")
    elif actions.button("Cancel run", key="live.cancel", icon=":material/cancel:", width="stretch"):
        status = store.request_cancel(run_id)
        st.toast(f"Cancel requested (run is {status}); training stops after the current batch.")
        st.rerun()


@st.fragment(run_every=None if record.finished else POLL_SECONDS)
def live_panel(run_id: str, was_finished: bool) -> None:
    """Progress, speed and curves; reruns alone every POLL_SECONDS while the run is not finished."""
    current = store.get_run(run_id)
    if current is None:
        st.error(f"Run `{run_id}` was deleted.")
        return
    if current.finished and not was_finished:
        st.rerun()  # the whole page: stop polling, show the results
    curves = store.curves(run_id)
    progress = ui_progress.arm_progress(current, curves)
    speed = ui_progress.latest_samples_per_s(current, curves)
    now = time.time()
    left = ui_progress.time_left(current, progress, now, curves)
    phase = ui_progress.current_phase(store.events(run_id, kinds=["phase", "arm_start"]), now) \
        if current.status == "running" else None

    finished = bool(current.finished and current.summary)
    cols = st.columns(4)
    if finished:
        for col, (label, value, delta) in zip(cols, ui_tables.result_metrics(RunSummary.from_dict(current.summary))):
            col.metric(label, value, delta=delta)
    else:
        cols[0].metric("Current arm", arm_label(current.arm) if current.arm else "–")
        cols[1].metric("Epoch", ui_progress.epoch_text(current) if phase is None else "–")
        cols[2].metric("Samples/s", f"{speed:,.0f}" if speed else "–")
        cols[3].metric("Elapsed", fmt_duration(run_duration(current, now)),
                       delta=f"≈ {fmt_duration(left)} left" if left is not None else None, delta_color="off",
                       delta_arrow="off")
    if current.status == "queued":
        st.info("Queued: waiting for a worker to pick this run up.", icon=":material/hourglass_top:")
    if phase is not None:
        st.info(f"**{phase.label}**" + (f" ({arm_label(phase.arm)})" if phase.arm else "")
                + f"… for {fmt_duration(phase.seconds)}", icon=":material/pending:")

    bars = st.columns(len(progress)) if len(progress) <= 3 else st.columns(3)
    for i, p in enumerate(progress):
        with bars[i % len(bars)]:
            st.markdown(f"<span style='color:{charts.arm_color(p.arm)}'>●</span> **{p.label}**",
                        unsafe_allow_html=True)
            st.progress(p.fraction, text=p.text if phase is None or p.fraction > 0 else "not started")

    if curves.empty:  # no chart of nothing: say what the curves wait for, or that none will come
        st.caption("The charts start with the first training batch." if not current.finished
                   else f"The run {STOPPED_WORDS.get(current.status, 'ended')} before any training batch.")
        return
    smooth = st.toggle("Smooth training curves", key="live.smooth",
                       help="TensorBoard-style moving average of the training lines (raw ones stay faint); "
                            "validation points are never smoothed.")
    weight = charts.SMOOTHING if smooth else 0.0
    left_chart, right_chart = st.columns(2)
    left_chart.plotly_chart(charts.curve_figure(curves, "accuracy", smoothing=weight), key="live.accuracy")
    right_chart.plotly_chart(charts.curve_figure(curves, "loss", smoothing=weight), key="live.loss")
    st.caption("Solid: training (per logging tick). Dashed with markers: validation (per epoch).")


def settings_panel(raw: dict, damage: str | None) -> None:
    """The run's validated config by section, its changes from the defaults marked, and the raw JSON in a tab."""
    config, problem = ui_compare.validated(raw, damage)
    if config is None:
        with st.expander("Settings (cannot be shown)", icon=":material/tune:"):
            st.warning(f"This run's settings cannot be shown: {problem}", icon=":material/report:")
        return
    changed = ui_compare.changed_fields(config)
    with st.expander(f"Settings · {len(changed)} changed from the defaults", icon=":material/tune:"):
        sections = ui_compare.config_sections(config)
        st.caption("Shaded and ticked: a value that differs from a new run's default for this teacher family "
                   "(its recipe included)." + (f" Changed: {', '.join(f'`{p}`' for p in changed)}." if changed else ""))
        counts = {title: int(frame["Changed"].sum()) for title, frame in sections.items()}
        tabs = st.tabs([f"{title} · {n} changed" if n else title for title, n in counts.items()] + ["JSON"])
        for tab, (title, frame) in zip(tabs, sections.items()):
            tab.dataframe(ui_compare.highlighted(frame, "Changed"), hide_index=True, key=f"live.settings.{title}",
                          column_config={"Meaning": st.column_config.TextColumn(width="large")})
        tabs[-1].code(json.dumps(config, indent=2), language="json")


if record.status == "failed":
    st.error(f"The run failed: {record.error or 'no error message was recorded'}", icon=":material/error:")
    if record.traceback:  # server paths and code stay on the server (.streamlit/config.toml: showErrorDetails)
        st.caption(f"The full traceback is kept on the server: `python -m kdcore logs {run_id}` prints it.")
elif record.status == "cancelled":
    st.warning("The run was cancelled. Arms that finished before that keep their results.",
               icon=":material/cancel:")

live_panel(run_id, record.finished)

if record.finished and record.summary:
    st.subheader("Results", divider="gray")
    summary = RunSummary.from_dict(record.summary)
    if summary.verdict:
        st.info(summary.verdict, icon=":material/lightbulb:")
    table, bars_col = st.columns([3, 2])
    table.dataframe(ui_tables.summary_frame(summary), hide_index=True, key="live.summary")
    for line in ui_tables.seed_lines(summary):
        table.markdown(f"- {line}")
    bars_col.plotly_chart(charts.accuracy_bars_figure(summary), key="live.bars")
    notes = []
    if summary.total_seconds is not None:
        notes.append(f"total time {fmt_duration(summary.total_seconds)}")
    if summary.teacher_reused and not ui_tables.teacher_source_line(summary, record.config):
        notes.append("the teacher was reused from an earlier run")
    if notes:
        st.caption("; ".join(notes).capitalize() + ".")
    source_line = ui_tables.teacher_source_line(summary, record.config)
    if source_line:
        st.caption(source_line)
    st.page_link("pages/download.py", label="Download the models", icon=":material/download:",
                 query_params={"run": run_id})
    if ui_tables.class_arms(summary):  # runs stored before per-class figures existed have none to show
        st.subheader("By class", divider="gray")
        st.caption(ui_tables.class_caption(summary))
        st.dataframe(ui_tables.per_class_frame(summary), hide_index=True, key="live.per_class")
        confusions = charts.confusion_figures(summary)
        for column, (arm, figure) in zip(st.columns(max(len(confusions), 1)), confusions.items()):
            column.plotly_chart(figure, key=f"live.confusion.{arm}")
    if summary.deployment is not None:  # the compression report (report.enabled; runs before it have none)
        st.subheader("Deployment", divider="gray")
        st.caption(ui_deploy.deployment_caption(summary.deployment))
        if speedup := ui_deploy.speedup_line(summary):
            st.markdown(speedup)
        latency_col, chart_col = st.columns([3, 2])
        latency_col.dataframe(ui_deploy.latency_frame(summary), hide_index=True, key="live.latency",
                              column_config={name: st.column_config.NumberColumn(format="%.2f")
                                             for name in ("p50 (ms)", "p95 (ms)")}
                              | {"Throughput (rows/s)": st.column_config.NumberColumn(format="%.0f")})
        chart_col.plotly_chart(ui_deploy.latency_figure(summary), key="live.latency_chart")
        st.dataframe(ui_deploy.formats_frame(summary), hide_index=True, key="live.formats",
                     column_config={"Detail": st.column_config.TextColumn(width="large")})
        st.caption("The student in each deployable form; the test accuracy is each file's own (int8's after "
                   "quantization). How to load each one: docs/deploy.md.")

settings_panel(record.config, record.damage)
if record.finished or record.status == "running":
    with st.expander("Log"):
        st.code(store.logs(run_id) or "(nothing logged)", language="text")
