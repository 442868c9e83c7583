"""Sweeps: define a grid over a base config and launch it; follow a sweep's runs; its table, heatmap and frontier."""

import streamlit as st

from kdcore.arms import arm_label
from kdcore.datasets import DatasetError, list_datasets
from kdcore.paths import home_dir
from kdcore.results.sweep_answer import answer, best_teacher
from kdcore.results.sweep_results import frontier, heatmap, sweep_rows, varying_keys
from kdcore.ui import charts
from kdcore.ui import entry as ui_entry
from kdcore.ui import sweep_tables as tables
from kdcore.ui.estimate import duration_text, measured_speeds
from kdcore.ui.format import dashes_for_missing, fmt_time, run_label, status_badge
from kdcore.ui.sweeps import (
    COMMON_FIELDS,
    EMPTY_BASE,
    OTHER_FIELD,
    SweepPlan,
    base_text,
    grid_from_rows,
    limit_note,
    parse_base,
    plan_or_problems,
    sweep_spec,
)
from kdcore.ui.widgets import open_store, run_state

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("sweeps", st.query_params.to_dict()))

POLL_SECONDS = 3.0
MAX_ROWS = 8
ROWS_KEY = "sweep.rows"
FIELD_NAMES = {"": "(no field)", **{f: f for f in COMMON_FIELDS}, OTHER_FIELD: "Other field…"}
#: The fields the first grid rows start with: the distillation settings a first sweep explores.
DEFAULT_ROWS = {"distill.alpha": "0.1, 0.5", "distill.temperature": "2, 5"}
WITHIN = {"points": "within 1 point of the teacher", "share": "within 97% of the teacher"}

state = st.session_state
store = open_store()


def follow(sweep_id: str, runs: list) -> None:
    """While a run of the sweep is queued or running, rerun the page when any of them changes."""
    seen = run_state(runs)

    @st.fragment(run_every=POLL_SECONDS if tables.active(runs) else None)
    def watch() -> None:
        if run_state(store.sweep_runs(sweep_id)) != seen:
            st.rerun()

    watch()


def progress_section(sweep_id: str, runs: list) -> None:
    """The group's progress, each run's state with a link to its Live page, and Cancel all."""
    counts = tables.status_counts(runs)
    head, action = st.columns([4, 1], vertical_alignment="bottom")
    head.markdown(" ".join(f"{status_badge(s)} **{n}**" for s, n in counts.items() if n))
    if tables.active(runs) and action.button("Cancel all", key="sweep.cancel", icon=":material/cancel:",
                                             width="stretch"):
        cancelled = store.cancel_sweep(sweep_id)
        st.toast(f"Cancelled {len(cancelled)} run(s); running ones stop after their current batch.")
        st.rerun()
    done = sum(r.finished for r in runs)
    st.progress(tables.finished_share(runs), text=f"{done} of {len(runs)} runs finished")
    with st.expander(f"Runs ({len(runs)})", expanded=tables.active(runs)):
        for run in runs:
            where = f" · {arm_label(run.arm)}, epoch {(run.epoch or 0) + 1}" if run.status == "running" and run.arm \
                else ""
            st.markdown(f"{status_badge(run.status)} [{run.name or run.id}](live?run={run.id}){where}")


def results_section(sweep_id: str, runs: list) -> None:
    """The table (CSV), the alpha x T heatmaps, the frontier and the answer in words."""
    rows = sweep_rows(runs)
    st.subheader("Results", divider="gray")
    if not any(r.succeeded for r in rows):
        st.info(answer(rows), icon=":material/hourglass_top:")
        return
    within = st.radio("The answer asks for a student", list(WITHIN), key="sweep.within", format_func=WITHIN.get,
                      horizontal=True)
    st.info(answer(rows, within_share=0.97 if within == "share" else None), icon=":material/lightbulb:")
    if (teacher := best_teacher(rows)) is not None:
        st.info(teacher, icon=":material/school:")
    frame = tables.results_frame(rows)
    st.dataframe(dashes_for_missing(frame, tables.result_formats(frame)), hide_index=True,
                 key="sweep.table", column_config={"Stopped": st.column_config.CheckboxColumn(
                     help="successive halving stopped its distilled student early")})
    st.download_button("Download CSV", tables.results_csv(rows), file_name=f"{sweep_id}.csv", mime="text/csv",
                       key="sweep.csv", icon=":material/download:")
    axes = varying_keys(rows)
    if "distill.alpha" in axes and "distill.temperature" in axes:
        left, right = st.columns(2)
        left.plotly_chart(charts.heatmap_figure(heatmap(rows, value="student"), "Student test accuracy"),
                          key="sweep.heatmap.student")
        right.plotly_chart(charts.heatmap_figure(heatmap(rows, value="gain"), "Gain over scratch (points)"),
                           key="sweep.heatmap.gain")
        st.caption("Means over the other axes (seeds, sizes); runs stopped early are left out of the means.")
    measured = any(r.student_latency_ms for r in rows)
    x = st.radio("Frontier against", ["params", "latency"] if measured else ["params"], key="sweep.frontier_x",
                 format_func={"params": "parameters", "latency": "batch-1 CPU latency"}.get, horizontal=True)
    st.plotly_chart(charts.frontier_figure(frontier(rows, x)), key="sweep.frontier")
    st.caption("Large outlined markers: Pareto points (no smaller student is as accurate). Hollow: stopped early "
               "by successive halving. Shape: the student's family." + ("" if measured else
                                                                       " Latency: not measured for these runs."))


def sweep_view(sweep_id: str) -> None:
    sweep = store.get_sweep(sweep_id)
    if sweep is None:
        st.error(f"There is no sweep `{sweep_id}` (from another KD Studio home?).", icon=":material/search_off:")
        return
    runs = store.sweep_runs(sweep_id)
    st.markdown(f"### {sweep.name or sweep_id}\n`{sweep_id}` · created {fmt_time(sweep.created_at)}")
    st.page_link("pages/sweeps.py", label="All sweeps", icon=":material/arrow_back:", query_params={})
    follow(sweep_id, runs)
    progress_section(sweep_id, runs)
    results_section(sweep_id, runs)


def sweep_list() -> None:
    """Every sweep, newest first, with its progress and a link to its view."""
    sweeps = store.list_sweeps()
    if not sweeps:
        st.caption("No sweep yet: define one below.")
        return
    for sweep in sweeps:
        runs = store.sweep_runs(sweep.id)
        done = sum(r.finished for r in runs)
        active = " · running" if tables.active(runs) else ""
        st.markdown(f"- [{sweep.name or sweep.id}](sweeps?sweep={sweep.id}) · {done}/{len(runs)} finished{active} "
                    f"· {fmt_time(sweep.created_at)}")


def base_chosen() -> None:
    record = store.get_run(state["sweep.base_run"]) if state["sweep.base_run"] else None
    state["sweep.base"] = base_text(record.config if record is not None else None)


def grid_rows() -> list[tuple[str, str]]:
    """Rows of (field, values) as the user set them, with an "other" field typed by hand."""
    if ROWS_KEY not in state:  # a first visit: a grid over alpha and T to start from
        state[ROWS_KEY] = len(DEFAULT_ROWS)
        for i, (field, values) in enumerate(DEFAULT_ROWS.items()):
            state[f"sweep.field.{i}"], state[f"sweep.values.{i}"] = field, values
    rows = []
    for i in range(state[ROWS_KEY]):
        left, middle, right = st.columns([2, 2, 3])
        choice = left.selectbox("Field", list(FIELD_NAMES), key=f"sweep.field.{i}", format_func=FIELD_NAMES.get,
                                label_visibility="collapsed" if i else "visible")
        field = choice
        if choice == OTHER_FIELD:
            field = middle.text_input("Dotted field", key=f"sweep.other.{i}", placeholder="e.g. data.maxlen",
                                      label_visibility="collapsed" if i else "visible")
        values = right.text_input("Values, comma-separated", key=f"sweep.values.{i}", disabled=not field,
                                  placeholder=f"e.g. {COMMON_FIELDS.get(field, '1, 2')}",
                                  label_visibility="collapsed" if i else "visible")
        rows.append((field, values))
    if state[ROWS_KEY] < MAX_ROWS and st.button("Add a field", key="sweep.add_row", icon=":material/add:"):
        state[ROWS_KEY] += 1
        st.rerun()
    return rows


def dataset_rows() -> dict[str, int]:
    """Registered dataset id -> its training rows, for the time estimate (empty when the folder cannot be read)."""
    try:
        return {m.id: int(m.split_sizes.get("train", 0)) for m in list_datasets(home_dir())}
    except (DatasetError, OSError):
        return {}


def define_section() -> None:
    """The base, the grid, sample and halving; the plan (runs, teachers, scratch students, time); Launch."""
    st.subheader("New sweep", divider="gray")
    finished = store.list_runs(["succeeded"])
    labels = {r.id: run_label(r) for r in finished}
    state.setdefault("sweep.base", EMPTY_BASE)
    if state.get("sweep.base_run") not in labels:  # deleted since it was picked
        state["sweep.base_run"] = ""
    form, side = st.columns([5, 2], gap="large")
    with form:
        st.text_input("Name", key="sweep.name", placeholder="e.g. alpha x T, tiny students")
        st.selectbox("Start from", [""] + list(labels), key="sweep.base_run", on_change=base_chosen,
                     format_func=lambda rid: labels.get(rid, rid) if rid else "The New-run defaults",
                     help="The base every point starts from: the defaults, or the settings of a finished run.")
        st.text_area("Base config (YAML: the fields that differ from the defaults)", key="sweep.base", height=180)
        st.markdown("**Grid**: each field takes every value listed; the sweep runs every combination.")
        rows = grid_rows()
        c = st.columns(2)
        sample = c[0].number_input("Sample", key="sweep.sample", min_value=1, value=None, step=1,
                                   placeholder="every point", help="Run a random sample of this many grid points.")
        seed = c[1].number_input("Sample seed", key="sweep.seed", min_value=0, value=0, step=1)
        c = st.columns([2, 1, 1], vertical_alignment="bottom")
        halving = c[0].toggle("Stop hopeless points early (successive halving)", key="sweep.halving",
                              help="Every point trains the first epochs; at each rung only the best 1/eta of the "
                                   "points go on. For settings such as alpha and T, not for sizes.")
        eta = c[1].number_input("eta", key="sweep.eta", min_value=2, max_value=8, value=2, step=1,
                                disabled=not halving, help="At each rung the best 1/eta of the points go on.")
        min_epochs = c[2].number_input("First rung (epochs)", key="sweep.min_epochs", min_value=1, max_value=100,
                                       value=1, step=1, disabled=not halving)
    base, problems = parse_base(state["sweep.base"])
    grid, grid_problems = grid_from_rows(rows)
    problems += grid_problems
    plan = None
    if not problems:
        spec = sweep_spec(state.get("sweep.name") or "", base, grid, sample=sample, seed=int(seed), halving=halving,
                          eta=int(eta), min_epochs=int(min_epochs))
        plan, problems = plan_or_problems(spec, measured_speeds(finished), dataset_rows())
    with side:
        launch = st.button("Launch sweep", key="sweep.launch", type="primary", icon=":material/rocket_launch:",
                           width="stretch", disabled=plan is None)
        if problems:
            st.error("Fix these before launching:\n\n" + "\n".join(f"- {p}" for p in problems),
                     icon=":material/error:")
            st.caption(limit_note())
        if plan is not None:
            plan_panel(plan, halving)
    if launch and plan is not None:
        sweep_id = store.create_sweep(plan.spec, plan.points)
        problem = ui_entry.start_local_worker()
        if problem:
            state["worker_problem"] = problem
        st.query_params["sweep"] = sweep_id
        st.rerun()


def plan_panel(plan: SweepPlan, halving: bool) -> None:
    with st.container(border=True):
        st.metric("Runs", plan.runs)
        st.metric("Teachers trained", plan.teachers, help="Runs with the same teacher key share one teacher, "
                                                          "trained once.")
        st.metric("Scratch students", plan.scratch, help="Points that change only alpha or T share their scratch "
                                                         "twin.")
        st.metric("Training time", ("at most " if halving else "") + duration_text(plan.estimate.seconds),
                  help=plan.estimate.text())
        st.caption(plan.summary_text() + ". " + plan.estimate.text() + ".")


st.title("Sweeps")
asked = st.query_params.get("sweep")
if asked:
    sweep_view(asked)
else:
    st.caption("A sweep is one base config and lists of values for some of its fields: every combination is a run. "
               "The runs share one teacher (trained once) and their scratch students wherever they can.")
    sweep_list()
    define_section()
