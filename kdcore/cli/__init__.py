"""``python -m kdcore``: the command line (run, submit, worker, status, cancel, logs, schema, params).

Layer: the top, beside ``kdcore.ui``. Imports the engine only inside ``run`` (a run in the
foreground), so ``status`` and ``submit`` start in a fraction of a second.
"""
