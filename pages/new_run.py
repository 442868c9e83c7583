"""New run: describe an experiment, see what it costs, queue it."""

import streamlit as st

from kdcore.arms import arm_label
from kdcore.datasets import DatasetError, list_datasets
from kdcore.paths import home_dir
from kdcore.ui import datasets as ui_datasets
from kdcore.ui import entry as ui_entry
from kdcore.ui import teacher_source as ui_ts
from kdcore.ui.estimate import duration_text, measured_speeds, run_time_estimate
from kdcore.ui.form import (
    CUSTOM_PRESET,
    FAMILY_LABELS,
    FAMILY_SHOWN,
    FIELD_LABELS,
    OPTIMIZER_LABELS,
    PRESET_KEY,
    PRESET_LABELS,
    SPLIT_LABELS,
    STANDARDIZE_LABELS,
    TEACHER_VIEW_LABELS,
    VALIDATE_ON_LABELS,
    SizeEstimate,
    check_form,
    family_values,
    field_help,
    form_key,
    label_problem,
    matching_preset,
    prepare_form_state,
    preset_values,
    size_estimate,
    stash_form,
    teacher_fields,
)
from kdcore.ui.format import fmt_params, run_label
from kdcore.ui.progress import planned_arms
from kdcore.ui.setups import DEFAULT_SETUP, SETUPS, changed_fields, setup_values
from kdcore.ui.widgets import (
    TeacherSourceAsk,
    model_column,
    open_store,
    show_recipe_note,
    take_teacher_uploads,
    teacher_source_section,
)

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("new_run", st.query_params.to_dict()))

state = st.session_state
store = open_store()
home = home_dir()
prefilled_from = prepare_form_state(state, setup_values(DEFAULT_SETUP))
K = form_key
try:
    manifests = {m.id: m for m in list_datasets(home_dir())}
except (DatasetError, OSError) as e:  # an unreadable datasets folder: IMDB still works
    st.warning(f"The registered datasets cannot be read: {e}", icon=":material/dataset:")
    manifests = {}
dataset_labels = ui_datasets.dataset_choices(manifests.values())
lost_dataset = None
if state.get(K("data.dataset")) not in dataset_labels:  # deleted since it was picked, or a run's from elsewhere
    lost_dataset = state.get(K("data.dataset"))
    state[K("data.dataset")] = ui_datasets.IMDB_ID
RECIPE_NOTE = "new_run.recipe_note"  # what the last family switch or setup changed besides what was asked


def note_changes(title: str, values: dict, skip_prefix: str = "") -> None:
    """Apply ``values`` to the form and say which other fields they changed, and to what."""
    changes = changed_fields(state, values, skip_prefix)
    state.update(values)
    state[RECIPE_NOTE] = (title, changes)


def apply_preset(role: str) -> None:
    preset = state[PRESET_KEY + role]
    if preset != CUSTOM_PRESET:
        values = preset_values(role, preset, state)
        if K("teacher.family") in values:  # another family: its recipe comes too
            note_changes(f"Preset {PRESET_LABELS[preset]} brings its family's recipe", values, skip_prefix="teacher.")
        else:
            state.update(values)


def apply_setup(name: str) -> None:
    note_changes(f"Set up as {SETUPS[name].label}", setup_values(name, state))
    state[FAMILY_SHOWN] = state[K("teacher.family")]


def size_edited(role: str) -> None:
    state[PRESET_KEY + role] = matching_preset(state, role)


def family_chosen(role: str) -> None:
    """A new teacher family brings its default sizes and its measured recipe (length, epochs, optimizer, alpha...);
    a new student family its student sizes only."""
    family = state[K(f"{role}.family")]
    if role == "student":
        state.update(family_values(family, state, role="student"))
    else:
        note_changes(f"The {FAMILY_LABELS[family]} teacher brings its recipe",
                     family_values(family, state, state.get(FAMILY_SHOWN)), skip_prefix="teacher.")
    size_edited(role)


def teacher_chosen() -> None:
    """A reused teacher fixes the teacher's sizes and the data it was trained on."""
    run_id = state[K("teacher_from")]
    record = store.get_run(run_id) if run_id else None
    if record is not None:
        for key, value in teacher_fields(record.config).items():
            state[key] = value
        size_edited("teacher")


def problem_under(path: str, col) -> None:
    """What is wrong with a field, right under its widget (the summary beside Launch lists it too)."""
    for problem in check.by_field.get(path, ()):
        col.error(problem, icon=":material/error:")


def number(path: str, col, **kwargs) -> None:
    col.number_input(FIELD_LABELS[path], key=K(path), help=field_help(path, state.get(K("teacher.family"))), **kwargs)
    problem_under(path, col)


st.title("New run")
st.caption("Train a teacher, distil it into a small student, and train the same student from scratch "
           "as the baseline. Nothing is queued until you press **Launch**.")
if prefilled_from:
    st.info(f"Pre-filled from run `{prefilled_from}`. Change what you like, then launch.",
            icon=":material/content_copy:")

if lost_dataset:
    st.warning(f"Dataset `{lost_dataset}` is not registered here (deleted?); the form is back on IMDB. "
               "Register it again on Datasets to use it.", icon=":material/dataset:")
st.caption("Start from a setup (each button's help says what it measured), or change any field below.")
for setup, col in zip(SETUPS.values(), st.columns(len(SETUPS))):
    col.button(setup.label, key=f"setup.{setup.name}", on_click=apply_setup, args=(setup.name,), help=setup.help,
               width="stretch")
show_recipe_note(*state.pop(RECIPE_NOTE, ("", [])))

finished = store.list_runs(["succeeded"])
reusable = [""] + [r.id for r in finished]  # "": train a new teacher
if state.get(K("teacher_from")) not in reusable:
    state[K("teacher_from")] = ""
take_teacher_uploads(home)  # before the check: an upload fills its field
check = check_form(state)  # before the widgets are drawn, so each can show its own problem under it
config, problems = check.config, check.problems
source_kind = state.get(K("teacher_source.kind")) or "trained"
source = None
form, side = st.columns([5, 2], gap="large")
# Launch first in the side column: reachable without scrolling on a 1366x768 screen
launch = side.button("Launch", key="launch", type="primary", icon=":material/rocket_launch:", width="stretch")

with form:
    st.text_input(FIELD_LABELS["name"], key=K("name"), placeholder="e.g. alpha 0.1, T 10, notebook sizes",
                  help=field_help("name"))

    with st.container(border=True):
        st.subheader("Data", divider="gray")
        st.selectbox(FIELD_LABELS["data.dataset"], list(dataset_labels), key=K("data.dataset"),
                     format_func=dataset_labels.get, help=field_help("data.dataset"))
        problem_under("data.dataset", st)
        dataset = manifests.get(state[K("data.dataset")])  # None: the built-in IMDB
        if dataset is None:
            st.text_input(FIELD_LABELS["data.path"], key=K("data.path"), help=field_help("data.path"),
                          placeholder="empty: $KDCORE_IMDB_PATH, else ~/.keras/datasets/imdb.npz, else download")
            problem_under("data.path", st)
        else:
            st.caption(f"**{dataset.num_classes} classes**: {ui_datasets.classes_text(dataset.classes, 12)} · "
                       f"{ui_datasets.splits_text(dataset.split_sizes)} ({dataset.split_origin}) · "
                       f"from {dataset.source_name}")
        sizes = dataset.split_sizes if dataset is not None else {"train": 25_000, "test": 25_000}
        c = st.columns(4)
        number("data.vocab_size", c[0], step=1000)
        number("data.maxlen", c[1], step=10)
        number("data.train_limit", c[2], step=100, placeholder=f"all {sizes.get('train', 0):,}")
        number("data.test_limit", c[3], step=100, placeholder=f"all {sizes.get('test', 0):,}")
        c = st.columns([1, 3])
        number("data.val_fraction", c[0], step=0.05, format="%.2f")
        c[1].radio(FIELD_LABELS["data.validate_on"], ["val", "test"], key=K("data.validate_on"), horizontal=True,
                   format_func=VALIDATE_ON_LABELS.get, help=field_help("data.validate_on"))
        if dataset is not None:
            with st.expander("Tokenisation of the raw texts"):
                c = st.columns(2)
                c[0].selectbox(FIELD_LABELS["data.standardize"], list(STANDARDIZE_LABELS), key=K("data.standardize"),
                               format_func=STANDARDIZE_LABELS.get, help=field_help("data.standardize"))
                c[1].selectbox(FIELD_LABELS["data.split"], list(SPLIT_LABELS), key=K("data.split"),
                               format_func=SPLIT_LABELS.get, help=field_help("data.split"))

    with st.container(border=True):
        st.subheader("Models", divider="gray")
        labels = {r.id: run_label(r) for r in finished}
        source = teacher_source_section(TeacherSourceAsk(home, config, check.by_field, launch, dataset, finished))
        reuse_run = source_kind == "trained" and bool(state[K("teacher_from")])
        reuse = reuse_run or source_kind != "trained"  # no teacher is trained here: its settings do not apply
        for role, col in zip(("teacher", "student"), st.columns(2, gap="medium")):
            col.markdown(f"**{role.capitalize()}**")
            if role == "teacher" and source_kind != "trained":  # its sizes are the given model's, not a family's
                col.caption(f"From the teacher source above ({ui_ts.KIND_LABELS[source_kind].lower()}); the family "
                            "fields apply to a teacher trained here.")
                if source_kind == "keras":  # a token-id model reads a fixed length
                    number("data.teacher_maxlen", col, step=50, placeholder="same as the review length")
                continue
            model_column(role, col, check.by_field, role == "teacher" and reuse, apply_preset, family_chosen,
                         size_edited)
            if role == "teacher":
                number("data.teacher_maxlen", col, step=50, placeholder="same as the review length",
                       disabled=reuse_run)
                if source_kind == "trained":
                    col.selectbox(FIELD_LABELS["teacher_from"], reusable, key=K("teacher_from"),
                                  format_func=lambda rid: labels.get(rid, rid) if rid else "No: train a new teacher",
                                  on_change=teacher_chosen, help=field_help("teacher_from"))

    with st.container(border=True):
        st.subheader("Distillation", divider="gray")
        c = st.columns([1, 1, 1])
        number("distill.alpha", c[0], step=0.05, format="%.2f")
        c[0].caption("Weight of the true labels; 1 − alpha goes to the teacher's softened outputs.")
        number("distill.temperature", c[1], step=1.0, format="%.1f")
        c[1].caption("Softens both models' outputs; higher shows more of the teacher's doubt.")
        c[2].toggle(FIELD_LABELS["distill.scale_t2"], key=K("distill.scale_t2"), help=field_help("distill.scale_t2"))
        c[2].caption("Keeps the soft loss at the hard loss's scale (Hinton et al. 2015). Off: as in the notebook.")
        c[2].radio(FIELD_LABELS["distill.teacher_view"], list(TEACHER_VIEW_LABELS), key=K("distill.teacher_view"),
                   format_func=TEACHER_VIEW_LABELS.get, horizontal=True, help=field_help("distill.teacher_view"))
        problem_under("distill.teacher_view", c[2])
        c = st.columns([1, 1, 1])
        number("distill.augment_window", c[0], step=0.05, format="%.2f", disabled=source_kind not in ui_ts.RUNS_HERE)
        number("distill.augment_mask", c[1], step=0.05, format="%.2f", disabled=source_kind not in ui_ts.RUNS_HERE)
        if source_kind not in ui_ts.RUNS_HERE:
            c[2].caption(f"Off for {ui_ts.KIND_LABELS[source_kind].lower()}: {ui_ts.AUGMENT_REASON}")
        else:
            c[2].caption("Augmented transfer set: each epoch the distilled student reads altered reviews (a random "
                     "stretch of the teacher's longer view, words masked) and the teacher labels exactly those. "
                         "0 and 0: off.")

    with st.container(border=True):
        st.subheader("Training", divider="gray")
        c = st.columns(5)
        number("train.epochs", c[0], step=1)
        number("train.batch_size", c[1], step=16)
        number("train.learning_rate", c[2], step=0.0001, format="%g")
        number("train.seed", c[3], step=1)
        number("train.seeds", c[4], step=1)
        c = st.columns(4)
        # a reused teacher is not trained: its training settings do not apply
        number("train.teacher_epochs", c[0], step=1, placeholder="= epochs", disabled=reuse)
        number("train.teacher_batch_size", c[1], step=16, placeholder="= batch", disabled=reuse)
        number("train.teacher_learning_rate", c[2], step=0.0001, format="%g", placeholder="= rate",
               disabled=reuse)
        c[3].selectbox(FIELD_LABELS["train.teacher_optimizer"], list(OPTIMIZER_LABELS),
                       key=K("train.teacher_optimizer"), format_func=OPTIMIZER_LABELS.get,
                       help=field_help("train.teacher_optimizer"), disabled=reuse)
        c = st.columns([3, 3, 2, 2], vertical_alignment="center")
        c[0].toggle(FIELD_LABELS["train.train_scratch"], key=K("train.train_scratch"),
                    help=field_help("train.train_scratch"))
        c[1].toggle(FIELD_LABELS["train.keep_best"], key=K("train.keep_best"), help=field_help("train.keep_best"))
        c[2].selectbox(FIELD_LABELS["train.monitor"], ["val_loss", "val_accuracy"], key=K("train.monitor"),
                       help=field_help("train.monitor"))
        number("train.patience", c[3], step=1, placeholder="off")
        with st.expander("Advanced"):
            c = st.columns(3)
            c[0].selectbox(FIELD_LABELS["train.mixed_precision"], ["off", "float16", "bfloat16"],
                           key=K("train.mixed_precision"), help=field_help("train.mixed_precision"))
            c[1].selectbox(FIELD_LABELS["train.jit_compile"], ["auto", "on", "off"], key=K("train.jit_compile"),
                           help=field_help("train.jit_compile"))
            number("train.eval_batch_size", c[2], step=256)
            c = st.columns(5)  # the compression report after the students (docs/deploy.md)
            c[0].toggle(FIELD_LABELS["report.enabled"], key=K("report.enabled"), help=field_help("report.enabled"))
            c[1].toggle(FIELD_LABELS["report.conversions"], key=K("report.conversions"),
                        help=field_help("report.conversions"))
            number("report.latency_calls", c[2], step=100)
            number("report.throughput_batch", c[3], step=64)
            number("report.threads", c[4], step=1)

stash_form(state)
state[FAMILY_SHOWN] = state.get(K("teacher.family"))
num_classes = dataset.num_classes if dataset is not None else 2
estimate = size_estimate(state, num_classes)
if source_kind != "trained":  # the form's family sizes do not describe it: the check's count, or none
    estimate = SizeEstimate(source.params if source else None, estimate.student_params)
all_source_problems = [label_problem(p) for p in source.problems] if source else []

with side:
    if problems or all_source_problems:
        st.error("Fix these before launching:\n\n" + "\n".join(f"- {p}" for p in [*problems, *all_source_problems]),
                 icon=":material/error:")
    with st.container(border=True):
        st.subheader("This run", divider="gray")
        st.metric("Teacher parameters", fmt_params(estimate.teacher_params),
                  help="Computed from the sizes above; equals Keras' count.")
        st.metric("Student parameters", fmt_params(estimate.student_params))
        ratio = estimate.compression
        st.metric("Compression", f"{ratio:.1f}×" if ratio else "–",
                  help="How many times fewer parameters the student has than the teacher.")
        if config is not None:
            plan = planned_arms(config.model_dump())
            params = {"teacher": estimate.teacher_params, "student": estimate.student_params}
            timing = run_time_estimate(plan, ui_datasets.estimate_config(config.model_dump(), dataset), params,
                                       measured_speeds(finished))
            st.metric("Training time", duration_text(timing.seconds), help=timing.text())
            st.caption(timing.text())
            given = ui_ts.KIND_LABELS[source_kind].lower()
            st.caption("Arms: " + ", ".join(
                f"{arm_label(a)} ({given})" if a == "teacher" and source_kind != "trained"
                else f"{arm_label(a)} ({e} ep)" if e else f"{arm_label(a)} (reused)" for a, e in plan))
            for warning in config.warnings():
                st.warning(warning, icon=":material/memory:")

if launch:
    if config is None or all_source_problems:
        side.error("Nothing was queued: the settings above have problems.", icon=":material/block:")
    else:
        run_id = store.create_run(config)
        st.switch_page("pages/live.py", query_params={"run": run_id})
