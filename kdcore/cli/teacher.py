"""``python -m kdcore teacher check``: is a ``.keras`` model, or a soft-label file, fit to teach this run?

Why a command: the New-run form runs it in a subprocess, so the dashboard's process never
imports TensorFlow to load a model; a user can run it by hand before ``submit``. It prints the
report as one JSON line, the last on stdout (``{"ok": ..., "problems": [...], ...}``), and exits
0 when the teacher fits, 2 when it does not (a bad config or a missing file too, with the
reason in ``problems``): never a traceback. A soft-label check reads no TensorFlow either.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kdcore import paths
from kdcore.cli.args import add_config_arguments, add_home_argument, config_from_args
from kdcore.config import ConfigError, DataConfig, RunConfig
from kdcore.datasets import DatasetError, get_manifest, read_soft_labels

EXIT_OK, EXIT_NOT_OK = 0, 2
SPLIT_WORDS = {"train": "training", "test": "test"}


class CheckError(ValueError):
    """The command cannot tell what to check (no file, both kinds); said as the report's problem."""


def add_teacher_commands(subparsers: Any) -> None:
    """Register ``teacher check`` on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser("teacher", help="check a teacher source before a run (a .keras model or soft "
                                   "labels)", description="Teachers KD Studio does not train itself.")
    sub = parser.add_subparsers(dest="teacher_command", required=True)
    p = sub.add_parser(
        "check", help="check a .keras teacher (or --soft-labels FILE) against the config's data; JSON report",
        description="Load a .keras model in safe mode and run it on 8 rows of the config's data, or read a "
        "soft-label file against its training (or test) split. Prints a JSON report on the last line; exit 0 "
        "if the teacher fits, 2 if not. Without FILE or --soft-labels: the config's teacher_source.file.")
    p.add_argument("file", nargs="?", type=Path, help="the .keras model")
    p.add_argument("--soft-labels", type=Path, dest="soft_labels", metavar="FILE",
                   help="a CSV, Parquet or .npy of K columns per row of the split, instead of a model")
    p.add_argument("--split", choices=sorted(SPLIT_WORDS), default="train",
                   help="the split a soft-label file is for (default train; test: teacher_source.test_file)")
    p.add_argument("--id-column", dest="id_column", help="soft labels: the column of row numbers (default: the "
                   "config's teacher_source.id_column; none: rows in order)")
    p.add_argument("--output", choices=["auto", "logits", "probabilities"],
                   help="logits or probabilities (default: the config's teacher_source.output)")
    add_config_arguments(p)
    add_home_argument(p)
    p.set_defaults(func=cmd_teacher_check)


def cmd_teacher_check(args: argparse.Namespace) -> int:
    """Check what the arguments name; the report goes to stdout as the last line, the verdict to the exit code."""
    try:
        report = _check(args)
    except (ConfigError, DatasetError, CheckError) as e:
        report = {"ok": False, "problems": [str(e)]}
    except Exception as e:  # noqa: BLE001 - a report, whatever went wrong, so the form can show it
        report = {"ok": False, "problems": [f"the check failed ({type(e).__name__}: {e})"]}
    report["ok"] = bool(report.get("ok")) and not report.get("problems")
    for problem in report.get("problems", []):
        print(f"problem: {problem}", file=sys.stderr)
    print(json.dumps(report), flush=True)
    return EXIT_OK if report["ok"] else EXIT_NOT_OK


def _check(args: argparse.Namespace) -> dict[str, Any]:
    config = config_from_args(args)
    home = paths.home_dir(args.home)
    if args.file is not None and args.soft_labels is not None:
        raise CheckError("give a .keras FILE or --soft-labels FILE, not both")
    source = config.teacher_source
    if args.soft_labels is not None or (args.file is None and source.kind == "soft_labels"):
        given = args.soft_labels
        if given is None:
            given = source.test_file if args.split == "test" else source.file
            if not given:
                raise CheckError("teacher_source.test_file is empty: nothing to check for the test split")
        return soft_label_report(_resolve(given, home), config, home, args.split, args.id_column, args.output)
    given = args.file if args.file is not None else (source.file if source.kind == "keras" else None)
    if given is None:
        raise CheckError("nothing to check: give a .keras FILE, --soft-labels FILE, or a config whose "
                         "teacher_source.kind is keras or soft_labels with teacher_source.file")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not the report
    from kdcore.engine.teacher_check import check_teacher

    report = check_teacher(_resolve(given, home), config, home)
    return {"check": "keras", **report}


def _resolve(given: Path | str, home: Path) -> Path:
    """The file as given (``~`` expanded), else the upload of that name under ``<home>/uploads/``."""
    path = Path(given).expanduser()
    if path.is_file():
        return path
    uploaded = home / "uploads" / str(given)
    if uploaded.is_file():
        return uploaded
    raise CheckError(f"{given}: no such file (looked as given and under {home / 'uploads'})")


def soft_label_report(path: Path, config: RunConfig, home: Path, split: str = "train", id_column: str | None = None,
                      output: str | None = None) -> dict[str, Any]:
    """Read ``path`` against the data's ``split`` (its source order); the report, problems instead of errors."""
    rows, num_classes = split_shape(config.data, split, home)
    id_column = id_column if id_column is not None else config.teacher_source.id_column
    report: dict[str, Any] = {"check": "soft_labels", "ok": False, "problems": [], "file": path.name, "split": split,
                              "rows": rows, "outputs": num_classes, "kind": None, "sha256": None}
    try:
        soft = read_soft_labels(path, rows=rows, num_classes=num_classes, id_column=id_column or None,
                                output=output or config.teacher_source.output, split=SPLIT_WORDS[split])
    except DatasetError as e:
        report["problems"].append(str(e))
        return report
    report.update(ok=True, kind=soft.kind, sha256=soft.sha256)
    return report


def split_shape(data: DataConfig, split: str, home: Path) -> tuple[int, int]:
    """(rows of ``split`` in the data's source order, classes): what a soft-label file for it must hold.

    IMDB: the npz's ``x_train`` / ``x_test`` (25,000 each in Keras' file); a registered dataset:
    its manifest's split sizes. Read without TensorFlow.
    """
    if data.registered:
        manifest = get_manifest(home, data.dataset)
        return int(manifest.split_sizes.get(split, 0)), manifest.num_classes
    from kdcore.engine.data import DataError, read_raw, resolve_path

    try:
        x_train, _, x_test, _ = read_raw(resolve_path(data.path))
    except DataError as e:
        raise CheckError(f"the IMDB data cannot be read to count its rows: {e}") from None
    return len(x_train if split == "train" else x_test), 2
