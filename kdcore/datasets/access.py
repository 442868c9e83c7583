"""Which server paths a user may read a dataset from: the documented rule for paths typed in the UI.

A file uploaded in the browser is the user's own; a path typed into the Datasets page is
read by the server, so it must not reach ``/etc`` or another user's files. The rule: the
path, resolved (symlinks followed, ``..`` removed), must lie inside the kdcore home or inside
one of the folders listed in ``$KDCORE_DATA_ROOTS`` (``os.pathsep``-separated, so ``:`` on
Linux). The shell command ``kdcore dataset add`` reads what its user can read and does not
apply it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kdcore.datasets.errors import DatasetError

DATA_ROOTS_ENV = "KDCORE_DATA_ROOTS"


def allowed_roots(home: Path) -> list[Path]:
    """The home, then each folder of ``$KDCORE_DATA_ROOTS``, resolved."""
    extra = [part for part in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep) if part.strip()]
    return [Path(home).expanduser().resolve(), *(Path(p).expanduser().resolve() for p in extra)]


def check_allowed(path: Path | str, home: Path) -> Path:
    """The resolved path if it lies inside an allowed root, else DatasetError naming the rule."""
    resolved = Path(path).expanduser().resolve()
    roots = allowed_roots(home)
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    listed = ", ".join(str(r) for r in roots)
    raise DatasetError(f"{path}: the server reads dataset files only inside {listed}; add the folder to "
                       f"${DATA_ROOTS_ENV} (separated by {os.pathsep!r}) or upload the file instead")
