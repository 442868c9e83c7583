"""Download: a finished run's student model, and everything of the run in one zip.

Files are read when a button is clicked (a callable as ``data``), not on every rerun.
"""

import streamlit as st

from kdcore.results import RunSummary
from kdcore.ui import deploy as ui_deploy
from kdcore.ui import entry as ui_entry
from kdcore.ui import files as ui_files
from kdcore.ui import tables as ui_tables
from kdcore.ui.format import fmt_bytes, fmt_pct
from kdcore.ui.widgets import asked_run_id, open_store, pick_run

if ui_entry.ENTRY_FLAG not in st.session_state:  # opened by a link before app.py ran: go through it
    st.switch_page("app.py", query_params=ui_entry.entry_params("download", st.query_params.to_dict()))

store = open_store()
st.title("Download")

asked = asked_run_id()

runs = [r for r in store.list_runs() if r.finished]
if not runs:
    st.info("No finished runs yet: models can be downloaded once a run has succeeded. Start one on New run.",
            icon=":material/info:")
    st.page_link("pages/new_run.py", label="New run", icon=":material/add_circle:")
    st.stop()

run_id = pick_run(asked, runs, "download.run", "There is no finished run `{run_id}`.")
record = next(r for r in runs if r.id == run_id)
if record.damaged:
    st.warning(f"This run's record is damaged: {record.damage}. Its settings are lost.", icon=":material/report:")

files = ui_files.available_artifacts(run_id)
if record.status != "succeeded":
    st.warning(f"This run {record.status}; only what it saved before stopping is offered.", icon=":material/warning:")

summary = RunSummary.from_dict(record.summary)
student_acc = summary.arm("student").test_accuracy
st.markdown(f"**{record.name or run_id}** · distilled student, test accuracy **{fmt_pct(student_acc)}**")

c1, c2, c3 = st.columns(3)
with c1, st.container(border=True):
    st.markdown("**Student model** (`.keras`)")
    st.caption("The deployable model: architecture and weights, no optimizer state, for "
               "`keras.models.load_model(path, safe_mode=True)`. " + ui_tables.download_sizes(summary, files))
    st.download_button("Download student.keras", key="download.keras", icon=":material/download:",
                       data=ui_files.artifact_reader(run_id, "student.keras"), file_name=f"{run_id}-student.keras",
                       mime="application/zip", disabled="student.keras" not in files, on_click="ignore")
with c2, st.container(border=True):
    st.markdown("**Student weights** (`.weights.h5`)")
    st.caption("Weights only (no optimizer state), for a model you build yourself. "
               + (f"Size: {fmt_bytes(files['student.weights.h5'])}." if "student.weights.h5" in files
                  else "Not saved by this run."))
    st.download_button("Download student.weights.h5", key="download.weights", icon=":material/download:",
                       data=ui_files.artifact_reader(run_id, "student.weights.h5"),
                       file_name=f"{run_id}-student.weights.h5", mime="application/x-hdf5",
                       disabled="student.weights.h5" not in files, on_click="ignore")
zip_config = None if record.damaged else record.config  # a damaged row's empty config is not its config
with c3, st.container(border=True):
    st.markdown("**Everything** (`.zip`)")
    st.caption("Config, metrics CSV, summary and all three models"
               + (f": {len(files)} files, {fmt_bytes(sum(files.values()))} before zipping." if files
                  else ". This run saved no files; the zip holds its config and metrics from the store."))
    st.download_button("Download run.zip", key="download.zip", icon=":material/folder_zip:",
                       data=lambda: ui_files.build_run_zip(run_id, config=zip_config, curves=store.curves(run_id)),
                       file_name=f"kdstudio-{run_id}.zip", mime="application/zip", on_click="ignore")

if "student_text.keras" in files:  # runs on a registered dataset: the student behind its own vectorizer
    with st.container(border=True):
        st.markdown("**Student for raw text** (`student_text.keras`)")
        st.caption("Strings in, class probabilities out: the run's fitted TextVectorization, the student and a "
                   f"softmax ({fmt_bytes(files['student_text.keras'])}). Load it with plain Keras and call it on an "
                   "array of texts, one per row: `keras.models.load_model(path)(np.array([['a raw sentence']]))`. "
                   "`student_text.json` names the classes in column order.")
        t1, t2 = st.columns(2)
        t1.download_button("Download student_text.keras", key="download.text", icon=":material/download:",
                           data=ui_files.artifact_reader(run_id, "student_text.keras"),
                           file_name=f"{run_id}-student_text.keras", mime="application/zip", on_click="ignore")
        t2.download_button("Download student_text.json", key="download.text_json", icon=":material/download:",
                           data=ui_files.artifact_reader(run_id, "student_text.json"),
                           file_name=f"{run_id}-student_text.json", mime="application/json", on_click="ignore",
                           disabled="student_text.json" not in files)

if summary.deployment is not None or any(d.artifact in files for d in ui_deploy.DEPLOY_DOWNLOADS):
    with st.container(border=True):
        st.markdown("**Deployable formats** of the student (the run's compression report)")
        st.caption("int8: Keras' own int8 weights, `keras.models.load_model(path)`. SavedModel: "
                   "`tf.saved_model.load(folder).serve(tokens)`. TFLite: `tf.lite.Interpreter` or LiteRT. ONNX: "
                   "`onnxruntime.InferenceSession(path)`. Each reads int32 token ids; see docs/deploy.md.")
        savedmodel_size = ui_files.savedmodel_bytes(run_id)
        for column, item in zip(st.columns(len(ui_deploy.DEPLOY_DOWNLOADS)), ui_deploy.DEPLOY_DOWNLOADS):
            folder = item.artifact == "student_savedmodel"
            size = savedmodel_size if folder else files.get(item.artifact)
            row = summary.deployment.format(item.format) if summary.deployment else None
            column.caption(f"{ui_deploy.FORMAT_LABELS[item.format]}: "
                           + (fmt_bytes(size) if size is not None else (row.detail if row and row.detail
                                                                          else "not written by this run")))
            column.download_button(
                f"Download {item.label}", key=f"download.{item.format}", icon=":material/download:",
                data=(lambda: ui_files.build_savedmodel_zip(run_id)) if folder
                else ui_files.artifact_reader(run_id, item.artifact),
                file_name=f"{run_id}-{item.label}", mime=item.mime, disabled=size is None, on_click="ignore")
