"""Widgets more than one page draws the same way; the only module of ``kdcore.ui`` that imports Streamlit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import streamlit as st

from kdcore.paths import HOME_ENV, HomeNotAFolder, InvalidRunId, check_home, home_dir
from kdcore.ui.files import run_id_from_query
from kdcore.ui.format import run_label

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
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
