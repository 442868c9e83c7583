"""Registered user datasets: read a file, preview it, store its rows under ``<home>/datasets/<id>/``.

Layer: above ``kdcore.config``, below the engine and the store; pandas and pyarrow only, never
Keras or TensorFlow (the Datasets page imports it). Modules, one job each: ``sources`` (bytes,
size limit, decompression, encoding), ``reading`` and ``folders`` (formats -> DataFrame),
``columns`` (text/label choice, label types, gaps), ``splits``, ``parsing`` (all of it, for one
file set), ``preview``, ``registry`` (the folder on disk), ``access`` (which server paths may be read),
``soft_labels`` (a teacher's outputs from any framework, checked against a split).
"""

from kdcore.datasets.access import DATA_ROOTS_ENV, allowed_roots, check_allowed
from kdcore.datasets.columns import MAX_CLASSES
from kdcore.datasets.errors import DatasetError
from kdcore.datasets.manifest import IMDB_BUILTIN, Manifest
from kdcore.datasets.options import ReadOptions
from kdcore.datasets.preview import Preview, preview
from kdcore.datasets.registry import (
    datasets_dir,
    delete,
    get_manifest,
    list_datasets,
    load_rows,
    register,
    register_frame,
    rename,
)
from kdcore.datasets.soft_labels import SoftLabels, read_soft_labels
from kdcore.datasets.sources import MAX_BYTES, MAX_BYTES_ENV
from kdcore.datasets.splits import MIN_PER_SPLIT

__all__ = ["DATA_ROOTS_ENV", "IMDB_BUILTIN", "MAX_BYTES", "MAX_BYTES_ENV", "MAX_CLASSES", "MIN_PER_SPLIT",
           "DatasetError", "Manifest", "Preview", "ReadOptions", "SoftLabels", "allowed_roots", "check_allowed",
           "datasets_dir", "delete", "get_manifest", "list_datasets", "load_rows", "preview", "read_soft_labels",
           "register", "register_frame", "rename"]
