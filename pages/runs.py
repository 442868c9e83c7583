"""Runs: every run in one table; compare curves; cancel, delete, or start a new run from one."""

import streamlit as st

from kdcore.store import RUN_STATUSES
from kdcore.ui import charts
from kdcore.ui import compare as ui_compare
from kdcore.ui import entry as ui_entry
from kdcore.ui import tables as ui_tables
from kdcore.ui.form import PREFILL_KEY
from kdcore.ui.format import dashes_for_missing, run_label, status_badge
from kdcore.ui.widgets import open_store, rerun_when_runs_change

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("runs", st.query_params.to_dict()))

POLL_SECONDS = 3.0
#: How the table writes its numbers (the values stay numbers, so columns sort as numbers).
FORMATS = {"Teacher acc": "{:.1f}%", "Student acc": "{:.1f}%", "Scratch acc": "{:.1f}%", "Gain (pts)": "{:+.2f}",
           "Alpha": "{:.2f}", "T": "{:g}", "Epochs": "{:.0f}"}

store = open_store()
state = st.session_state
st.title("Runs")

runs = store.list_runs()
rerun_when_runs_change(store, runs, POLL_SECONDS)  # the page follows runs that progress, as Live does
if not runs:
    st.info("No runs yet: start one on New run.", icon=":material/info:")
    st.page_link("pages/new_run.py", label="New run", icon=":material/add_circle:")
    st.stop()

counts = {s: sum(r.status == s for r in runs) for s in RUN_STATUSES}
st.markdown(" ".join(f"{status_badge(s)} **{n}**" for s, n in counts.items() if n))

f1, f2 = st.columns([2, 3])
statuses = f1.multiselect("Status", RUN_STATUSES, key="runs.status", placeholder="any status")
text = f2.text_input("Search", key="runs.search", placeholder="id, name or error text")
shown = ui_tables.filter_runs(runs, statuses, text)
if not shown:
    st.info("No run matches these filters.", icon=":material/filter_alt_off:")
    st.stop()

percent = st.column_config.NumberColumn(help="test accuracy")
st.dataframe(
    dashes_for_missing(ui_tables.runs_frame(shown), FORMATS), hide_index=True, key="runs.table", placeholder="–",
    column_config={
        "Teacher": st.column_config.TextColumn(help="embedding / LSTM / GRU units"),
        "Student": st.column_config.TextColumn(help="embedding / LSTM / GRU units"),
        "Targets": st.column_config.TextColumn(help="what the teacher read to make the soft targets: its own view "
                                                    "or the student's words (distill.teacher_view); augmented: "
                                                    "altered reviews labelled as the student trains "
                                                    "(distill.augment_*)"),
        "Teacher acc": percent, "Student acc": percent, "Scratch acc": percent,
        "Created": st.column_config.TextColumn(width="small"),
        "Gain (pts)": st.column_config.NumberColumn(help="student minus scratch, test accuracy"),
    },
)



def compare_settings(configs: dict[str, dict | None]) -> None:
    """The chosen runs' settings side by side, the fields that differ shaded; a toggle hides the others."""
    only = st.toggle("Only the fields that differ", key="runs.compare_only_differing")
    frame = ui_compare.compare_frame(configs, only_differing=only)
    differing = int(frame[ui_compare.DIFFERS].sum())
    st.dataframe(ui_compare.highlighted(frame, ui_compare.DIFFERS), key="runs.compare_table",
                 column_config={ui_compare.DIFFERS: st.column_config.CheckboxColumn(width="small")})
    unreadable = [label for label, config in configs.items() if config is None]
    st.caption(f"{differing} field{'s' if differing != 1 else ''} differ, shaded."
               + (f" Settings that cannot be read (damaged record): {', '.join(unreadable)}." if unreadable else ""))


labels = {r.id: run_label(r) for r in shown}
by_id = {r.id: r for r in shown}

# widget values that name a run no longer listed (deleted, filtered out) are dropped first; a click made
# for a run that vanished meanwhile must not act on the run the picker falls back to
state["runs.compare"] = [i for i in state.get("runs.compare", []) if i in labels]
vanished = state.get("runs.pick") if state.get("runs.pick") not in labels else None
if vanished is not None:
    state.pop("runs.pick", None)
    state.pop("runs.confirm_delete", None)

st.subheader("Compare", divider="gray")
picked = st.multiselect("Runs to compare", list(labels), key="runs.compare", format_func=labels.get,
                        placeholder="pick runs to compare their settings and curves")
if picked:
    names = ui_compare.unique_labels({i: by_id[i].name for i in picked})  # a repeated name must not merge runs
    if len(picked) >= 2:
        compare_settings({names[i]: ui_compare.validated(by_id[i].config, by_id[i].damage)[0] for i in picked})
    curves = {names[i]: store.curves(i) for i in picked}
    metrics = ui_compare.recorded_metrics(curves.values()) or ["val_accuracy"]
    if state.get("runs.compare_metric") not in metrics:  # a metric only a run no longer chosen recorded
        state.pop("runs.compare_metric", None)
    metric = st.selectbox("Metric", metrics, key="runs.compare_metric", format_func=ui_compare.metric_label,
                          help="Every metric the chosen runs recorded at the end of an epoch, per arm.")
    st.plotly_chart(charts.compare_figure(curves, metric), key="runs.compare_chart")
    st.caption("Colour: the arm. Line style and marker: the run."
               + (" The distilled student's loss includes the soft-target term; its hard loss is the one on the "
                  "labels alone, comparable with the other arms' loss." if metric == "loss" else ""))

st.subheader("Act on a run", divider="gray")
if vanished is not None:
    st.warning(f"Run `{vanished}` is no longer listed (deleted, or hidden by the filters); nothing was done to "
               "it or to another run. Pick the run to act on.", icon=":material/search_off:")
run_id = st.selectbox("Run", list(labels), key="runs.pick", format_func=labels.get,
                      on_change=lambda: state.pop("runs.confirm_delete", None))  # a confirmation is for one run
record = by_id[run_id]
acting = vanished is None  # this rerun's clicks were made for the vanished run
if record.damaged:
    st.warning(f"This run's record is damaged: {record.damage}. Its settings are lost.", icon=":material/report:")
a1, a2, a3, a4 = st.columns(4)
a1.page_link("pages/live.py", label="Open live view", icon=":material/monitoring:", query_params={"run": run_id})
if a2.button("New run from this one", key="runs.clone", icon=":material/content_copy:") and acting:
    state[PREFILL_KEY] = {"config": record.config, "from": run_id}
    st.switch_page("pages/new_run.py")
if not record.finished and a3.button("Cancel run", key="runs.cancel", icon=":material/cancel:",
                                     disabled=record.cancel_requested) and acting:
    status = store.request_cancel(run_id)
    st.toast(f"Cancel requested for {run_id} (now {status}).")
    st.rerun()
if record.status == "succeeded":
    a3.page_link("pages/download.py", label="Download", icon=":material/download:", query_params={"run": run_id})

with a4:
    sure = st.checkbox("Yes, delete it and its files", key="runs.confirm_delete",
                       disabled=record.status == "running")
    if st.button("Delete run", key="runs.delete", icon=":material/delete:", disabled=not sure,
                 type="primary") and acting:
        try:
            store.delete_run(run_id)
        except ValueError as e:
            st.error(str(e))
        else:
            state.pop("runs.confirm_delete", None)
            st.toast(f"Deleted run {run_id}.")
            st.rerun()
if record.status == "running":
    st.caption("A running run cannot be deleted: cancel it and wait for it to stop first.")
