"""How the pages write numbers, sizes, durations, times, statuses and run names.

Plain text or Streamlit markdown, never a widget; shared by every table and page.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kdcore.config import DEFAULT_FAMILY, FAMILIES

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
    import pandas as pd
    from pandas.io.formats.style import Styler

    from kdcore.store import RunRecord

#: How a table shows a missing figure (a run without results, a field it did not have).
MISSING = "–"

#: Colour and Material icon of each status, for markdown badges (no emoji: servers and
#: headless browsers often lack an emoji font).
STATUS_STYLE = {"queued": ("gray", "schedule"), "running": ("blue", "autorenew"),
                "succeeded": ("green", "check_circle"), "failed": ("red", "error"),
                "cancelled": ("orange", "cancel")}


def status_badge(status: str) -> str:
    """The status as a coloured markdown badge with an icon, e.g. ``:green-badge[...]``."""
    color, icon = STATUS_STYLE.get(status, ("gray", "help"))
    return f":{color}-badge[:material/{icon}: {status}]"


def fmt_params(n: int | float | None) -> str:
    """2857474 -> ``2.86 M``; people compare sizes, not digits."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "–"
    n = float(n)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "–"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def fmt_duration(seconds: float | None) -> str:
    """``75`` -> ``1 min 15 s``; None -> ``–``."""
    if seconds is None or seconds < 0 or math.isnan(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:.{digits}f}%"


def fmt_points(x: float | None) -> str:
    """A difference of two accuracies in percentage points, signed."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:+.2f} pts"


def fmt_time(ts: float | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if not ts:
        return "–"
    return time.strftime(pattern, time.localtime(ts))


def run_label(record: RunRecord) -> str:
    """How a run is named in select boxes: name (or id), status, id."""
    name = record.name or (record.config or {}).get("name") or ""
    head = f"{name} · " if name else ""
    return f"{head}{record.id} · {record.status}"


def size_text(size: Mapping[str, Any] | None) -> str:
    """A model's sizes as one short cell, worded by its family: ``128/64/128``, ``n-gram 64d, 262,144 buckets``.

    A family this code does not know (or none, as in older runs) reads as the default family's.
    """
    if not size:
        return "–"
    family = FAMILIES.get(size.get("family") or DEFAULT_FAMILY, FAMILIES[DEFAULT_FAMILY])
    return family.size_text(size)


def run_duration(record: RunRecord, now: float | None = None) -> float | None:
    if not record.started_at:
        return None
    end = record.finished_at or (now if now is not None else time.time())
    return max(0.0, end - record.started_at)


def dashes_for_missing(frame: pd.DataFrame, formats: Mapping[str, str]) -> Styler:
    """``frame`` styled for display: ``formats`` (column -> format string) and "–" for every missing cell.

    Why a Styler: Streamlit draws a missing value as "None", which reads like a bug (a
    cancelled run "showed None"); the display text changes but the values stay numbers, so
    the columns still sort as numbers. Float columns without a format would show six decimals.
    """
    return frame.style.format({c: f for c, f in formats.items() if c in frame.columns}, na_rep=MISSING)

