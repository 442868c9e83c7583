"""KD Studio: the Streamlit entry point (``streamlit run app.py``).

Sets up the page, makes sure a local worker exists (once per browser session; training runs
in that worker's process, never here), and hands over to the page the user picked.
This process must never import TensorFlow: see docs/architecture.md.
"""

import streamlit as st

from kdcore.ui import cluster as ui_cluster
from kdcore.ui import entry as ui_entry

st.set_page_config(page_title="KD Studio", page_icon="⚗️", layout="wide")

if ui_entry.ENTRY_FLAG not in st.session_state:
    st.session_state[ui_entry.ENTRY_FLAG] = True
    st.session_state["worker_problem"] = ui_entry.start_local_worker()

pages = {
    "new_run": st.Page("pages/new_run.py", title="New run", icon=":material/add_circle:", url_path="new_run",
                       default=True),
    "live": st.Page("pages/live.py", title="Live run", icon=":material/monitoring:", url_path="live"),
    "runs": st.Page("pages/runs.py", title="Runs", icon=":material/table_rows:", url_path="runs"),
    "sweeps": st.Page("pages/sweeps.py", title="Sweeps", icon=":material/grid_view:", url_path="sweeps"),
    "download": st.Page("pages/download.py", title="Download", icon=":material/download:", url_path="download"),
    "datasets": st.Page("pages/datasets.py", title="Datasets", icon=":material/dataset:", url_path="datasets"),
}
page = st.navigation(list(pages.values()))

# A link opened before this script ever ran in the server (e.g. /live?run=... right after a
# restart) lands on the page file directly; the page sends it here with ?page=<name>, and
# from here it goes on to that page through the navigation above.
target, params = ui_entry.entry_target(st.query_params.to_dict())
if target in pages:
    st.switch_page(pages[target], query_params=params)

with st.sidebar:
    st.markdown("### ⚗️ KD Studio")
    st.caption("Knowledge distillation on IMDB or your own texts: a teacher, a distilled student and a student "
               "trained from scratch.")
    if st.session_state.get("worker_problem"):
        st.warning(st.session_state["worker_problem"], icon=":material/warning:")
    st.caption(ui_entry.worker_status())
    ui_cluster.sidebar_cluster(ui_cluster.read_cluster())

page.run()
