"""A run folder's own records beside its models: ``metrics.csv`` and ``summary.json``.

``summary.json`` is also how a later call on the same folder knows the run finished
before: reading a finished run back keeps the time it took, not the seconds of the reading.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

#: One row per arm and epoch (1-based, as a person counts them), in this column order.
METRICS_COLUMNS = ("arm", "epoch", "loss", "accuracy", "hard_loss", "distill_loss", "val_loss", "val_accuracy",
                   "samples_per_s", "epoch_seconds")


def write_metrics(run_dir: Path, histories: dict[str, list[dict[str, float]]]) -> None:
    """Every arm's per-epoch history as ``metrics.csv``, for a spreadsheet or pandas."""
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for arm, history in histories.items():
            for row in history:
                writer.writerow({**row, "arm": arm, "epoch": int(row["epoch"]) + 1})


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))


def finished_seconds(run_dir: Path) -> float | None:
    """``total_seconds`` of the summary an earlier, finished call wrote here, if any."""
    try:
        return float(json.loads((run_dir / "summary.json").read_text())["total_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
