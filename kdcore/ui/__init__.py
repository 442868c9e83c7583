"""What the Streamlit pages call: forms, tables, charts, progress and downloads.

Layer: the top, beside ``kdcore.cli``. Never imports Keras or TensorFlow (an import-linter
contract checks it): training runs in the worker's process, the pages only read the store.
"""
