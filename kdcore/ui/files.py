"""The files behind the Download page: which artifacts a run offers, read lazily, and its zip.

Every path is built from a validated run id and a name from :data:`ARTIFACTS`, never from a
request; a ``?run=`` query value is validated the same way before a page uses it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdcore.paths import RUN_ARTIFACTS, run_dir, validate_run_id

if TYPE_CHECKING:
    import pandas as pd

#: Files a run may offer, and nothing else: names come from this list, never from a request.
ARTIFACTS = RUN_ARTIFACTS


def artifact_path(run_id: str, filename: str, home: str | Path | None = None) -> Path:
    """Path of one known artifact of a run; the id is validated and the name must be known."""
    if filename not in ARTIFACTS:
        raise ValueError(f"unknown artifact {filename!r}; allowed: {', '.join(ARTIFACTS)}")
    return run_dir(validate_run_id(run_id), home) / filename


def available_artifacts(run_id: str, home: str | Path | None = None) -> dict[str, int]:
    """Artifact name -> size in bytes, for the ones this run has on disk."""
    out = {}
    for name in ARTIFACTS:
        p = artifact_path(run_id, name, home)
        if p.is_file():
            out[name] = p.stat().st_size
    return out


def artifact_reader(run_id: str, filename: str, home: str | Path | None = None) -> Callable[[], bytes]:
    """A no-argument callable that reads the file when called (when the button is clicked).

    Validation happens now, so a bad id fails on the page, not in Streamlit's download thread.
    """
    path = artifact_path(run_id, filename, home)
    return path.read_bytes


def build_run_zip(run_id: str, home: str | Path | None = None, *, config: Mapping[str, Any] | None = None,
                  curves: pd.DataFrame | None = None) -> bytes:
    """A zip of a run's config, metrics, summary and models, under a folder named after the run.

    Models (``.keras`` files are zips already) are stored, text is deflated. When the run's
    folder lacks ``config.json`` or ``metrics.csv`` (e.g. a run cut short), they are written
    from the store's copy passed in ``config`` and ``curves``.
    """
    buffer = io.BytesIO()
    present = available_artifacts(run_id, home)
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in present:
            compress = zipfile.ZIP_STORED if name.endswith((".keras", ".h5")) else zipfile.ZIP_DEFLATED
            zf.write(artifact_path(run_id, name, home), f"{run_id}/{name}", compress_type=compress)
        if "config.json" not in present and config is not None:
            zf.writestr(f"{run_id}/config.json", json.dumps(dict(config), indent=2) + "\n",
                        compress_type=zipfile.ZIP_DEFLATED)
        if "metrics.csv" not in present and curves is not None and not curves.empty:
            zf.writestr(f"{run_id}/metrics.csv", curves.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def run_id_from_query(value: Any) -> str | None:
    """The ``?run=`` value, validated (raises InvalidRunId); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, list):  # a repeated parameter: the last one wins, as in st.query_params
        value = value[-1]
    return validate_run_id(str(value))
