"""Widgets more than one page draws the same way; the only module of ``kdcore.ui`` that imports Streamlit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from kdcore.paths import HOME_ENV, HomeNotAFolder, InvalidRunId, check_home, home_dir
from kdcore.ui.files import run_id_from_query
from kdcore.ui.format import run_label

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
    from kdcore.config import RunConfig
    from kdcore.datasets import Manifest
    from kdcore.store import RunRecord, RunStore
    from kdcore.ui.datasets import PreviewAsk, PreviewResult


def open_store() -> RunStore:
    """The run store; if it cannot be opened, a message that names its folder, and the page stops.

    Why here and not in each page: a home that is a file, a folder without write access or a
    damaged database would otherwise end every page in a traceback.
    """
    from kdcore.store import RunStore, StoreFileMissing

    try:
        check_home()
        return RunStore()
    except HomeNotAFolder as e:  # its message names the path and the setting to change
        st.error(f"{e}, then restart the app.", icon=":material/folder_off:")
        st.stop()
    except StoreFileMissing as e:  # its own message says what happened and both ways out
        st.error(str(e), icon=":material/database_off:")
        st.stop()
    except Exception as e:  # noqa: BLE001 - whatever it is, the user's fix is the same
        st.error(f"KD Studio cannot open its run store under `{home_dir()}` ({type(e).__name__}: {e}). "
                 f"Point `{HOME_ENV}` at a folder this user can write (or free that path), then restart the app.",
                 icon=":material/database_off:")
        st.stop()


def show_recipe_note(title: str, changes: Sequence[str]) -> None:
    """Say which other fields a family switch or a setup changed, and to what (nothing when none changed)."""
    if changes:
        st.info(f"{title}; it changed:\n\n" + "\n".join(f"- {c}" for c in changes), icon=":material/tune:")


def asked_run_id() -> str | None:
    """The run a ``?run=`` link names, validated; a malformed one is an error on the page and None."""
    try:
        return run_id_from_query(st.query_params.get("run"))
    except InvalidRunId as e:
        st.error(f"That link names no valid run: {e}", icon=":material/link_off:")
        return None


def pick_run(asked: str | None, runs: Sequence[RunRecord], key: str, missing_message: str) -> str:
    """A "Run" select box over ``runs`` (not empty) that a link can preselect; returns the picked id.

    ``asked`` (from :func:`asked_run_id`) wins when it is one of ``runs``; otherwise
    ``missing_message`` (a template: ``{run_id}`` is the asked id) is shown as an error and the
    box keeps its last choice, or the first run. The pick goes back into ``?run=`` so the
    page's URL can be shared.
    """
    ids = [r.id for r in runs]
    labels = {r.id: run_label(r) for r in runs}
    if asked is not None and asked not in ids:
        st.error(missing_message.format(run_id=asked), icon=":material/search_off:")
        asked = None
    if asked is not None:
        st.session_state[key] = asked
    elif st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    run_id = st.selectbox("Run", ids, key=key, format_func=labels.get)
    st.query_params["run"] = run_id
    return run_id


def run_state(runs: Sequence[RunRecord]) -> tuple:
    """What of the runs a page's reader would notice change: who exists, status, arm, epoch, cancel flag."""
    return tuple((r.id, r.status, r.arm, r.epoch, r.cancel_requested) for r in runs)


def rerun_when_runs_change(store: RunStore, runs: Sequence[RunRecord], every: float) -> None:
    """While a run is queued or running, look at the store every ``every`` s and rerun the page when it changed.

    Why the whole page and not a fragment of it: a page's tables, pickers and actions all
    depend on the list of runs, so they must all see the same one; when nothing is in
    progress this costs nothing (no timer).
    """
    seen = run_state(runs)
    active = any(not r.finished for r in runs)

    @st.fragment(run_every=every if active else None)
    def watch() -> None:
        if run_state(store.list_runs()) != seen:
            st.rerun()

    watch()


@st.cache_data(max_entries=16, show_spinner="Reading the file...")
def cached_dataset_preview(ask: PreviewAsk) -> PreviewResult:
    """The Datasets page's preview, cached by what it depends on (the files' path, size and time, the options).

    Why cached: every widget change reruns the page, and re-parsing a 100 MB upload each time
    would take seconds; an upload's path holds its content hash, so the cache never serves
    a preview of other bytes. A bad file's message is cached the same way. The registry is
    imported here, not at the top, so the pages that never preview do not load it.
    """
    from kdcore.ui.datasets import preview_or_error

    return preview_or_error(ask)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_file_columns(ask: PreviewAsk) -> list[str]:
    """A file's columns, cached like its preview (only asked when the preview failed)."""
    from kdcore.ui.datasets import file_columns

    return file_columns(ask)


# -- the New-run form's models -------------------------------------------------------------------------------------


def _problems_under(col: Any, problems: Iterable[str]) -> None:
    for problem in problems:
        col.error(problem, icon=":material/error:")


def model_column(role: str, col: Any, by_field: Mapping[str, Sequence[str]], locked: bool,
                 on_preset: Callable[[str], None], on_family: Callable[[str], None],
                 on_edit: Callable[[str], None]) -> None:
    """One model's preset box, family picker, the family's sketch and its size fields, each with its problems.

    Why one function for both roles: the teacher and the student choose a family the same way
    (the callbacks say what a choice brings: the teacher's recipe, or the student's sizes only),
    and each field's help describes the family the role shows.
    """
    from kdcore.ui import models_form as mf
    from kdcore.ui.form import FIELD_LABELS, PRESET_KEY, field_help

    col.selectbox("Preset", mf.role_presets(role), key=PRESET_KEY + role, format_func=mf.PRESET_LABELS.get,
                  on_change=on_preset, args=(role,), disabled=locked)
    family = col.selectbox(FIELD_LABELS[f"{role}.family"], list(mf.FAMILY_LABELS), key=mf.form_key(f"{role}.family"),
                           format_func=mf.FAMILY_LABELS.get, on_change=on_family, args=(role,), disabled=locked,
                           help=field_help(f"{role}.family"))
    col.caption(mf.FAMILY_CAPTIONS[family])
    for name in mf.role_fields(role, family):
        path = f"{role}.{name}"
        common = {"key": mf.form_key(path), "on_change": on_edit, "args": (role,), "disabled": locked,
                  "help": field_help(path, family)}
        if mf.is_list_field(family, name):
            col.text_input(FIELD_LABELS[path], placeholder="e.g. 3, 4, 5", **common)
        else:
            is_dropout = name.endswith("dropout")
            col.number_input(FIELD_LABELS[path], step=0.05 if is_dropout else 8,
                             format="%.2f" if is_dropout else "%d", **common)
        _problems_under(col, by_field.get(path, ()))


# -- the New-run form's teacher source -----------------------------------------------------------------------------

_SAVED_UPLOADS = "new_run.saved_uploads"  # uploader key -> the file_id already saved (and put in its field)
_TEACHER_CHECKS = "new_run.teacher_checks"  # check key -> report or problems, so a rerun checks nothing again
_UPLOAD_ERROR = "new_run.upload_error"
#: Uploader key -> the teacher-source field its saved file fills (members: the file joins the ensemble).
_TEACHER_UPLOADS = {"teacher_source.upload.keras": "teacher_source.file",
                    "teacher_source.upload.soft_labels": "teacher_source.file",
                    "teacher_source.upload.test": "teacher_source.test_file",
                    "teacher_source.upload.member": "teacher_source.members"}


def take_teacher_uploads(home: Path) -> None:
    """Each new upload of the teacher-source uploaders, saved once under ``<home>/uploads``, fills its field.

    Called before the form is checked (and before its fields are drawn), so the saved path is
    what the check and the field show.
    """
    from kdcore.ui.datasets import save_upload, uploads_dir
    from kdcore.ui.form import form_key

    state = st.session_state
    seen = state.setdefault(_SAVED_UPLOADS, {})
    for key, path in _TEACHER_UPLOADS.items():
        upload = state.get(key)
        if upload is None or seen.get(key) == upload.file_id:
            continue
        try:
            saved = str(save_upload(home, upload.name, upload))
        except OSError as e:  # the home is full or not writable
            state[_UPLOAD_ERROR] = f"{upload.name} could not be saved under {uploads_dir(home)}: {e}"
            continue
        seen[key] = upload.file_id
        if path == "teacher_source.members":
            state[form_key(path)] = [*(m for m in state.get(form_key(path)) or [] if m != saved), saved]
        else:
            state[form_key(path)] = saved


@dataclass(frozen=True)
class TeacherSourceAsk:
    """What the teacher-source section needs from the page: where, the checked form, whether Launch was pressed."""

    home: Path
    config: RunConfig | None  #: the form's config, None while it has problems (then no .keras check runs)
    by_field: Mapping[str, Sequence[str]]  #: the form's problems by config path
    launch: bool
    dataset: Manifest | None  #: None: the built-in IMDB
    runs: Sequence[RunRecord]  #: finished runs, for the ensemble's members


@dataclass(frozen=True)
class TeacherSourceState:
    """What the section found: problems (``path: what``, to block Launch) and the teacher's size, if known."""

    problems: list[str]
    params: int | None


def _errors(messages: Iterable[str]) -> None:
    for message in messages:
        st.error(message, icon=":material/error:")


def _file_field(path: str, upload_key: str, kinds: Sequence[str], label: str, ask: TeacherSourceAsk) -> None:
    """An uploader and the file's path on the server (an upload fills it in), with the form's problems under it."""
    from kdcore.ui.form import FIELD_LABELS, field_help, form_key

    c = st.columns([2, 3], vertical_alignment="bottom")
    c[0].file_uploader(label, type=list(kinds), key=upload_key)
    c[1].text_input(FIELD_LABELS[path], key=form_key(path), help=field_help(path),
                    placeholder="uploaded, or a path inside the home or $KDCORE_DATA_ROOTS")
    _errors(ask.by_field.get(path, ()))


def _select(path: str, labels: Mapping[str, str], col: Any = st) -> None:
    from kdcore.ui.form import FIELD_LABELS, field_help, form_key

    col.selectbox(FIELD_LABELS[path], list(labels), key=form_key(path), format_func=labels.get,
                  help=field_help(path))


def _soft_label_fields(ask: TeacherSourceAsk) -> list[str]:
    """The soft-label files, id column and output kind, checked here at once; the problems (``path: what``)."""
    from kdcore.ui import teacher_source as ui_ts
    from kdcore.ui.form import FIELD_LABELS, field_help, form_key

    state = st.session_state
    _file_field("teacher_source.file", "teacher_source.upload.soft_labels", ui_ts.SOFT_LABEL_TYPES,
                "Training outputs", ask)
    _file_field("teacher_source.test_file", "teacher_source.upload.test", ui_ts.SOFT_LABEL_TYPES,
                "Test outputs (optional)", ask)
    c = st.columns(2)
    c[0].text_input(FIELD_LABELS["teacher_source.id_column"], key=form_key("teacher_source.id_column"),
                    placeholder="empty: rows in the training split's order",
                    help=field_help("teacher_source.id_column"))
    _select("teacher_source.output", ui_ts.OUTPUT_LABELS, c[1])
    classes = ask.dataset.num_classes if ask.dataset is not None else 2
    problems = []
    for path, split in (("teacher_source.file", "training"), ("teacher_source.test_file", "test")):
        rows = ui_ts.training_rows(ask.dataset) if split == "training" else ui_ts.test_rows(ask.dataset)
        found = ui_ts.soft_label_problems(state.setdefault(_TEACHER_CHECKS, {}), state.get(form_key(path)),
                                          home=ask.home, rows=rows, num_classes=classes,
                                          id_column=state.get(form_key("teacher_source.id_column")),
                                          output=state.get(form_key("teacher_source.output")) or "auto", split=split)
        _errors(found)
        problems += [f"{path}: {p}" for p in found]
    st.caption(f"Expected: {ui_ts.training_rows(ask.dataset):,} training rows × {classes} columns"
               + ("" if state.get(form_key("teacher_source.test_file")) else "; without test outputs the teacher "
                  "has no test accuracy (the results show a dash)."))
    return problems


def _members_field(ask: TeacherSourceAsk) -> None:
    """The ensemble's members: earlier runs that kept a teacher, uploaded .keras files, and an uploader for more."""
    from kdcore.ui import teacher_source as ui_ts
    from kdcore.ui.form import FIELD_LABELS, field_help, form_key

    path = "teacher_source.members"
    runs = {r.id: ui_ts.member_label(r) for r in ui_ts.teacher_runs(ask.runs, ask.home)}
    chosen = [m for m in st.session_state.get(form_key(path)) or [] if m]
    options = list(dict.fromkeys([*runs, *ui_ts.uploaded_models(ask.home), *chosen]))
    c = st.columns([3, 2], vertical_alignment="bottom")
    c[0].multiselect(FIELD_LABELS[path], options, key=form_key(path), max_selections=16, accept_new_options=True,
                     help=field_help(path) + " Type a .keras path on the server to add one that is not listed.",
                     format_func=lambda m: runs.get(m) or f"{Path(m).name} (file)")
    c[1].file_uploader("Add a .keras member", type=list(ui_ts.KERAS_TYPES), key="teacher_source.upload.member")
    _select("teacher_source.combine", ui_ts.COMBINE_LABELS)
    _errors(ask.by_field.get(path, ()))


def _set_teacher_length(length: int) -> None:
    from kdcore.ui.form import form_key

    st.session_state[form_key("data.teacher_maxlen")] = length


def _keras_fields(kind: str, ask: TeacherSourceAsk) -> TeacherSourceState:
    """An uploaded teacher or an ensemble's members, the Check button, each check's report and problems."""
    from kdcore.ui import teacher_source as ui_ts

    if kind == "keras":
        _file_field("teacher_source.file", "teacher_source.upload.keras", ui_ts.KERAS_TYPES, "Teacher model (.keras)",
                    ask)
        c = st.columns(2)
        _select("teacher_source.input", ui_ts.INPUT_LABELS, c[0])
        _select("teacher_source.output", ui_ts.OUTPUT_LABELS, c[1])
    else:
        _members_field(ask)
    field = "teacher_source.file" if kind == "keras" else "teacher_source.members"
    if ask.config is None:
        st.caption("The teacher is checked once the settings above are valid.")
        return TeacherSourceState([], None)
    pressed = st.button("Check teacher", key="teacher_source.check", icon=":material/fact_check:",
                        help="Loads the model in a worker process (never in this app) and runs it on a few rows.")
    with st.spinner("Checking the teacher in a worker process..."):
        found = ui_ts.keras_check(st.session_state.setdefault(_TEACHER_CHECKS, {}), ask.config, ask.home,
                                  run_missing=pressed or ask.launch)
    for chosen, report in found.reports.items():
        if report is not None and report.get("ok"):
            st.success(f"{Path(chosen).name}: {ui_ts.report_text(report)}", icon=":material/check_circle:")
    _errors(found.problems)
    offer = ui_ts.length_offer(found.reports.values(), ask.config)
    if offer is not None:
        st.warning(f"The teacher reads {offer} tokens; the form's teacher length is "
                   f"{ui_ts.teacher_length(ask.config)}.", icon=":material/straighten:")
        st.button(f"Set the teacher length to {offer}", key="teacher_source.set_length", on_click=_set_teacher_length,
                  args=(offer,))
    problems = [f"{field}: {p}" for p in found.problems]
    if found.pending and not problems:
        problems.append(f"{field}: not checked yet; press Check teacher (Launch checks it too)")
    return TeacherSourceState(problems, ui_ts.teacher_params(found.reports))


def teacher_source_section(ask: TeacherSourceAsk) -> TeacherSourceState:
    """The New-run form's teacher-source choice and what that source asks for, with its checks' findings."""
    from kdcore.ui import teacher_source as ui_ts
    from kdcore.ui.form import form_key

    _select("teacher_source.kind", ui_ts.KIND_LABELS)
    kind = st.session_state.get(form_key("teacher_source.kind")) or "trained"
    st.caption(ui_ts.KIND_CAPTIONS[kind])
    if _UPLOAD_ERROR in st.session_state:
        st.error(st.session_state.pop(_UPLOAD_ERROR), icon=":material/error:")
    if kind == "soft_labels":
        return TeacherSourceState(_soft_label_fields(ask), None)
    if kind in ("keras", "ensemble"):
        return _keras_fields(kind, ask)
    return TeacherSourceState([], None)
