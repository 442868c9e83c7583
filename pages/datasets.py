"""Datasets: bring your own text-classification data; preview a file, register it, rename or delete it.

Nothing is saved before **Register** (an upload is kept under the home's ``uploads/`` so the
preview and the registration read the same bytes). Every bad input is a message that names
the file, column or row; the logic lives in ``kdcore.ui.datasets``, the registry in
``kdcore.datasets``.
"""

from pathlib import Path

import streamlit as st

from kdcore.datasets import (
    MAX_BYTES,
    DatasetError,
    Preview,
    ReadOptions,
    check_allowed,
    delete,
    list_datasets,
    register,
    rename,
)
from kdcore.paths import home_dir
from kdcore.ui import datasets as ui_ds
from kdcore.ui import entry as ui_entry
from kdcore.ui.widgets import cached_dataset_preview, cached_file_columns, open_store

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("datasets", st.query_params.to_dict()))

state = st.session_state
store = open_store()
home = home_dir()
COLUMNS = ("datasets.text_column", "datasets.label_column", "datasets.split_column")
NOTE = "datasets.note"  # (kind, message) an action left for the next run to show
for key, value in {"datasets.maxlen": 200, "datasets.vocab_size": 20000, "datasets.val_fraction": 0.1,
                   "datasets.test_fraction": 0.2, "datasets.seed": 0, "datasets.encoding": ui_ds.AUTO}.items():
    state.setdefault(key, value)


def uploaded(key: str) -> Path | None:
    """The file of an uploader, saved once per upload under ``<home>/uploads`` (by its content hash)."""
    upload = state.get(key)
    if upload is None:
        return None
    saved = state.setdefault("datasets.saved", {})
    if upload.file_id not in saved or not Path(saved[upload.file_id]).is_file():
        try:
            saved[upload.file_id] = str(ui_ds.save_upload(home, upload.name, upload))
        except OSError as e:  # the home is full or not writable
            st.error(f"{upload.name} could not be saved under {ui_ds.uploads_dir(home)}: {e}",
                     icon=":material/error:")
            return None
    return Path(saved[upload.file_id])


def server_path(key: str) -> Path | None:
    """A typed server path, if the documented rule allows it (else its message, and None)."""
    text = (state.get(key) or "").strip()
    if not text:
        return None
    try:
        return check_allowed(text, home)
    except DatasetError as e:
        st.error(str(e), icon=":material/folder_off:")
        return None


def source_files() -> tuple[Path | None, Path | None, Path | None]:
    """The data file and the optional validation and test files, as the user gave them."""
    how = st.radio("Source", ["upload", "path"], key="datasets.how", horizontal=True,
                   format_func={"upload": "Upload a file", "path": "A path on the server"}.get)
    kinds = list(ui_ds.UPLOAD_TYPES)
    if how == "upload":
        st.file_uploader("Data file", type=kinds, key="datasets.upload",
                         help="CSV, TSV, JSON Lines, JSON or Parquet, optionally .gz, .bz2 or .zip compressed; "
                         f"up to {MAX_BYTES // 1024**2} MB (a bigger file: give its path on the server).")
        with st.expander("Separate validation and test files (optional)"):
            st.file_uploader("Validation file", type=kinds, key="datasets.upload_val")
            st.file_uploader("Test file", type=kinds, key="datasets.upload_test")
        return uploaded("datasets.upload"), uploaded("datasets.upload_val"), uploaded("datasets.upload_test")
    st.text_input("File or folder on the server", key="datasets.path",
                  placeholder="e.g. /data/reviews.csv.gz, or a folder with one sub-folder of .txt files per class",
                  help="Read by the server, so only inside KD Studio's home or a folder of $KDCORE_DATA_ROOTS.")
    with st.expander("Separate validation and test files (optional)"):
        st.text_input("Validation file", key="datasets.path_val")
        st.text_input("Test file", key="datasets.path_test")
    return server_path("datasets.path"), server_path("datasets.path_val"), server_path("datasets.path_test")


def forget_columns_on_new_source(files: tuple) -> None:
    """Another file: its columns are guessed afresh (the last file's choice may name no column of this one)."""
    seen = tuple(str(f) for f in files)
    if state.get("datasets.seen") != seen:
        state["datasets.seen"] = seen
        for key in (*COLUMNS, "datasets.drop_missing", "datasets.name"):
            state.pop(key, None)


def choose_columns(columns: list[str], guess: Preview | None, c: list) -> None:
    """Text, label and split column select boxes over the file's columns, holding the guess until changed."""
    if state.get("datasets.text_column") not in columns:
        state["datasets.text_column"] = (guess.text_column if guess else None) or columns[0]
    if state.get("datasets.label_column") not in columns:
        state["datasets.label_column"] = (guess.label_column if guess else None) or columns[-1]
    if state.get("datasets.split_column", ui_ds.AUTO) not in [ui_ds.AUTO, *columns]:
        state["datasets.split_column"] = ui_ds.AUTO
    c[0].selectbox("Text column", columns, key="datasets.text_column", help="The free text to classify.")
    c[1].selectbox("Label column", columns, key="datasets.label_column", help="The class of each row.")
    c[2].selectbox("Split column", [ui_ds.AUTO, *columns], key="datasets.split_column",
                   format_func=lambda col: col or "Auto: a column named split",
                   help="A column of train / val / test (or validation) per row, if the file has one.")


def preview_files(source: Path, validation: Path | None,
                  test: Path | None) -> tuple[Preview | None, ReadOptions | None]:
    """Preview the files as the widgets say; returns (the preview or None, the options it read with or None)."""
    try:
        base = ui_ds.read_options(ui_ds.AUTO, ui_ds.AUTO, state.get("datasets.split_column", ui_ds.AUTO),
                                  state["datasets.encoding"], drop_missing=bool(state.get("datasets.drop_missing")),
                                  val_fraction=state["datasets.val_fraction"],
                                  test_fraction=state["datasets.test_fraction"], seed=state["datasets.seed"])
    except DatasetError as e:
        st.error(str(e), icon=":material/error:")
        return None, None

    def ask(options: ReadOptions) -> ui_ds.PreviewAsk:
        return ui_ds.preview_ask(source, options, state["datasets.maxlen"], state["datasets.vocab_size"],
                                 validation, test)

    first = cached_dataset_preview(ask(base))
    guess = first.preview
    options = ui_ds.with_columns(base, guess, state.get("datasets.text_column", ui_ds.AUTO),
                                 state.get("datasets.label_column", ui_ds.AUTO))
    result = first if options == base else cached_dataset_preview(ask(options))
    if result.error:
        st.error(result.error, icon=":material/error:")
    shown = result.preview or guess
    columns = list(shown.columns) if shown is not None else cached_file_columns(ask(base))
    c = st.columns(4)
    if columns:
        choose_columns(columns, guess, c)
    detected = shown.encoding if shown is not None else "utf-8"
    c[3].selectbox("Encoding", [ui_ds.AUTO, *ui_ds.ENCODINGS], key="datasets.encoding",
                   format_func=lambda enc: enc or f"Detected: {detected}",
                   help="UTF-8, else a detected legacy encoding; choose another if the texts look garbled.")
    found = result.preview
    if (found is not None and sum(ui_ds.missing_counts(found).values())) or state.get("datasets.drop_missing"):
        st.checkbox("Drop rows with missing values", key="datasets.drop_missing",
                    help="Rows without a text or a label are left out of the dataset; otherwise register refuses.")
    return found, options


def show_preview(found: Preview, options: ReadOptions, files: tuple) -> None:
    """What the file would become: its first rows, counts, the two charts; then a name and Register."""
    source, validation, test = files
    st.caption(f"Read as **{found.encoding}**; text **{found.text_column}**, label **{found.label_column}**; "
               f"{len(found.classes)} classes: {ui_ds.classes_text(found.classes)}. Split: "
               f"{ui_ds.splits_text(found.split_sizes)} ({found.split_origin}).")
    if found.warnings:
        st.warning(ui_ds.warnings_text(found), icon=":material/warning:")
    st.dataframe(ui_ds.head_table(found), hide_index=True, width="stretch")
    facts = ui_ds.preview_facts(found, state["datasets.maxlen"], state["datasets.vocab_size"])
    for fact, col in zip(facts, [*st.columns(4), *st.columns(4)]):
        col.metric(fact.label, fact.value, help=fact.help)
    c = st.columns(2)
    c[0].plotly_chart(ui_ds.class_counts_figure(found.class_counts), key="datasets.classes_chart")
    c[1].plotly_chart(ui_ds.length_figure(found.token_lengths, state["datasets.maxlen"], found.truncated_share),
                      key="datasets.lengths_chart")
    c = st.columns([3, 1], vertical_alignment="bottom")
    c[0].text_input("Name", key="datasets.name", placeholder=ui_ds.default_name(source),
                    help="How pickers and tables show the dataset; it can be renamed later.")
    if c[1].button("Register", key="datasets.register", type="primary", icon=":material/save:", width="stretch"):
        try:
            with st.spinner("Registering: reading every row..."):
                manifest = register(home, source, ui_ds.guessed(options, found),
                                    name=state.get("datasets.name") or ui_ds.default_name(source),
                                    validation=validation, test=test)
            state[NOTE] = ("success", f"Registered **{manifest.name}** as `{manifest.id}`: {manifest.rows:,} rows, "
                                      f"{ui_ds.splits_text(manifest.split_sizes)}. Pick it on New run.")
        except DatasetError as e:
            state[NOTE] = ("error", str(e))
        except OSError as e:  # the home is full or not writable: said, not a traceback
            state[NOTE] = ("error", f"The dataset could not be stored under {home}: {e}")


def show_registered() -> None:
    """The registered datasets as a table, with rename and delete (and what the last action did)."""
    kind, message = state.pop(NOTE, (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
    manifests = list_datasets(home)
    if not manifests:
        st.info("No dataset registered yet. The built-in IMDB needs none: it is always on New run.",
                icon=":material/info:")
        return
    st.dataframe(ui_ds.datasets_table(manifests), hide_index=True, width="stretch")
    labels = {m.id: ui_ds.dataset_label(m) for m in manifests}
    c = st.columns([3, 3, 1, 1], vertical_alignment="bottom")
    picked = c[0].selectbox("Dataset", list(labels), key="datasets.pick", format_func=labels.get)
    c[1].text_input("New name", key="datasets.new_name")
    c[2].button("Rename", key="datasets.rename", on_click=do_rename, args=(picked,), width="stretch")
    c[3].button("Delete", key="datasets.delete", on_click=do_delete, args=(picked,), width="stretch",
                help="Removes the registered rows (not your file); refused while a queued or running run uses it.")


def do_rename(dataset_id: str) -> None:
    try:
        manifest = rename(home, dataset_id, state.get("datasets.new_name", ""))
        state[NOTE] = ("success", f"Renamed `{dataset_id}` to **{manifest.name}**.")
    except (DatasetError, OSError) as e:
        state[NOTE] = ("error", str(e))


def do_delete(dataset_id: str) -> None:
    try:
        delete(home, dataset_id, in_use=ui_ds.runs_using(store, dataset_id))
        state[NOTE] = ("success", f"Deleted dataset `{dataset_id}`.")
    except (DatasetError, OSError) as e:
        state[NOTE] = ("error", str(e))


st.title("Datasets")
st.caption("Bring your own text classification data: any number of classes, string or integer labels. "
           "Preview a file, check what the models will see, then register it and pick it on **New run**.")

found = None
with st.container(border=True):
    st.subheader("Add a dataset", divider="gray")
    files = source_files()
    forget_columns_on_new_source(files)
    separate = files[1] is not None or files[2] is not None or bool(state.get("datasets.split_column"))
    c = st.columns(5)
    c[0].number_input("Text length (tokens)", key="datasets.maxlen", min_value=1, step=10,
                      help="The length you plan to train at: the histogram marks it and counts what it cuts.")
    c[1].number_input("Vocabulary size", key="datasets.vocab_size", min_value=2, step=1000,
                      help="The vocabulary you plan to train with: the share of tokens it covers is shown.")
    c[2].number_input("Validation fraction", key="datasets.val_fraction", min_value=0.0, max_value=0.9, step=0.05,
                      format="%.2f", disabled=separate, help="Of each class, when no split column or files say.")
    c[3].number_input("Test fraction", key="datasets.test_fraction", min_value=0.05, max_value=0.9, step=0.05,
                      format="%.2f", disabled=separate, help="Of each class, when no split column or files say.")
    c[4].number_input("Split seed", key="datasets.seed", min_value=0, step=1, disabled=separate,
                      help="The stratified random split is the same for the same seed.")
    if files[0] is None:
        st.info("Upload a file or give a path to see a preview. Nothing is saved before **Register**.",
                icon=":material/upload_file:")
    else:
        found, options = preview_files(*files)

if found is not None:
    with st.container(border=True):
        st.subheader("Preview", divider="gray")
        show_preview(found, options, files)

with st.container(border=True):
    st.subheader("Registered datasets", divider="gray")
    show_registered()
