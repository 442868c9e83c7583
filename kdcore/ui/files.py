"""The files behind the Download page: which artifacts a run offers, read lazily, and its zip.

Every path is built from a validated run id and a name from :data:`ARTIFACTS`, never from a
request; a ``?run=`` query value is validated the same way before a page uses it. A name is
not enough, though: a symlink planted in a run folder (or a run folder that is itself a link)
would serve ``/etc/passwd`` under ``student.keras``. So only a regular file whose real path
stays inside the run's real folder, itself inside the runs folder, is offered, read or zipped,
and the check is made again when the bytes are read (a click may come long after the page).
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdcore.paths import DOWNLOADS, SAVEDMODEL_FOLDER, run_dir, runs_dir, validate_run_id

if TYPE_CHECKING:
    import pandas as pd

#: Files a run may offer, and nothing else: names come from this list, never from a request.
ARTIFACTS = DOWNLOADS
#: Open flags of a read: never through a link swapped in after the check, never block on a FIFO.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class UnsafeArtifact(ValueError):
    """An artifact that is not a regular file inside its run's folder (a link out of it, a device, a FIFO)."""


def artifact_path(run_id: str, filename: str, home: str | Path | None = None) -> Path:
    """Path of one known artifact of a run; the id is validated and the name must be known."""
    if filename not in ARTIFACTS:
        raise ValueError(f"unknown artifact {filename!r}; allowed: {', '.join(ARTIFACTS)}")
    return run_dir(validate_run_id(run_id), home) / filename


def servable_path(run_id: str, filename: str, home: str | Path | None = None) -> Path | None:
    """The real path of an artifact if it may be served: a regular file inside the run's folder; else None."""
    path = artifact_path(run_id, filename, home)
    try:
        real_runs = runs_dir(home).resolve(strict=True)
        real_folder = path.parent.resolve(strict=True)
        real = path.resolve(strict=True)
        regular = stat.S_ISREG(real.stat().st_mode)
    except (OSError, RuntimeError):  # missing, a link loop, unreadable
        return None
    inside = real_folder.parent == real_runs and real.is_relative_to(real_folder)
    return real if regular and inside else None


def read_artifact(run_id: str, filename: str, home: str | Path | None = None) -> bytes:
    """The bytes of a servable artifact, checked again now; raises UnsafeArtifact (or OSError) otherwise."""
    real = servable_path(run_id, filename, home)
    if real is None:
        raise UnsafeArtifact(f"{filename} of run {run_id} is missing or not a regular file inside the run's "
                             "folder (a link out of it, a device or a pipe); it is not served")
    with os.fdopen(os.open(real, _READ_FLAGS), "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped between the check and the open
            raise UnsafeArtifact(f"{filename} of run {run_id} is not a regular file; it is not served")
        return f.read()


def available_artifacts(run_id: str, home: str | Path | None = None) -> dict[str, int]:
    """Artifact name -> size in bytes, for the ones this run has on disk and may serve."""
    out = {}
    for name in ARTIFACTS:
        real = servable_path(run_id, name, home)
        if real is not None:
            out[name] = real.stat().st_size
    return out


def artifact_reader(run_id: str, filename: str, home: str | Path | None = None) -> Callable[[], bytes]:
    """A no-argument callable that reads the file when called (when the button is clicked).

    Validation of the id and name happens now, so a bad id fails on the page, not in Streamlit's
    download thread; whether the file may be served is checked again at the click.
    """
    artifact_path(run_id, filename, home)
    return lambda: read_artifact(run_id, filename, home)


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
            try:
                data = read_artifact(run_id, name, home)
            except (UnsafeArtifact, OSError):  # changed since it was listed: leave it out
                continue
            zf.writestr(f"{run_id}/{name}", data, compress_type=compress)
        if "config.json" not in present and config is not None:
            zf.writestr(f"{run_id}/config.json", json.dumps(dict(config), indent=2) + "\n",
                        compress_type=zipfile.ZIP_DEFLATED)
        if "metrics.csv" not in present and curves is not None and not curves.empty:
            zf.writestr(f"{run_id}/metrics.csv", curves.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def savedmodel_files(run_id: str, home: str | Path | None = None) -> list[tuple[str, Path]]:
    """(path inside the folder, real path) of each regular file of the run's SavedModel; [] when it has none.

    The same rule as :func:`servable_path`, for a folder: the folder itself is no link and lies in the
    run's real folder, and only regular files under it are listed (links inside are left out).
    """
    folder = run_dir(validate_run_id(run_id), home) / SAVEDMODEL_FOLDER
    try:
        real_runs = runs_dir(home).resolve(strict=True)
        real_folder = folder.resolve(strict=True)
    except (OSError, RuntimeError):
        return []
    if folder.is_symlink() or not real_folder.is_dir() or real_folder.parent.parent != real_runs:
        return []
    found = []
    for root, _dirs, names in os.walk(real_folder, followlinks=False):
        for name in sorted(names):
            path = Path(root) / name
            if not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode):
                found.append((path.relative_to(real_folder).as_posix(), path))
    return sorted(found)


def savedmodel_bytes(run_id: str, home: str | Path | None = None) -> int | None:
    """The SavedModel's files added up, or None when the run has none to serve."""
    files = savedmodel_files(run_id, home)
    return sum(path.lstat().st_size for _, path in files) if files else None


def build_savedmodel_zip(run_id: str, home: str | Path | None = None) -> bytes:
    """The run's SavedModel folder as a zip (``student_savedmodel/...``), made when the button is clicked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for inside, path in savedmodel_files(run_id, home):
            try:
                with os.fdopen(os.open(path, _READ_FLAGS), "rb") as f:
                    if stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                        zf.writestr(f"{SAVEDMODEL_FOLDER}/{inside}", f.read())
            except OSError:  # changed since it was listed: leave it out
                continue
    return buffer.getvalue()


def run_id_from_query(value: Any) -> str | None:
    """The ``?run=`` value, validated (raises InvalidRunId); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, list):  # a repeated parameter: the last one wins, as in st.query_params
        value = value[-1]
    return validate_run_id(str(value))
