"""The run store: SQLite (WAL) runs, metrics, events and workers; the dashboard's single source of truth.

Layer: above ``kdcore.config``; never imports Keras or TensorFlow (the UI reads it).
``schema`` creates and migrates the tables, ``records`` says what a row means, ``rows``
turns progress events into rows; :class:`RunStore` (``run_store``: runs, metrics, events)
builds on ``sweeps`` (a sweep's runs, queued at once), ``workers`` (the workers table) and
``connection`` (a connection per thread).
"""

from kdcore.store.connection import NEW_STORE_ENV, StoreFileMissing
from kdcore.store.records import SweepRecord
from kdcore.store.run_store import (
    DEFAULT_MAX_CRASHES,
    DEFAULT_STALE_AFTER_S,
    FINISHED,
    RUN_STATUSES,
    RunRecord,
    RunStore,
    WorkerRecord,
    event_log_line,
    new_run_id,
)
from kdcore.store.schema import TRANSIENT_STORE_ERRORS

__all__ = ["DEFAULT_MAX_CRASHES", "DEFAULT_STALE_AFTER_S", "FINISHED", "NEW_STORE_ENV", "RUN_STATUSES", "RunRecord",
           "RunStore", "StoreFileMissing", "SweepRecord", "TRANSIENT_STORE_ERRORS", "WorkerRecord", "event_log_line",
           "new_run_id"]
