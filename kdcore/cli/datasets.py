"""``python -m kdcore dataset add|list|show|rename|rm``: the dataset registry from the shell.

Errors (a bad file, an unknown id, a dataset in use) are one line on stderr and exit code 2,
as for a bad config. ``add`` prints the preview's summary, then the new id alone on the last
line, so a script can take it with ``tail -n1``. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kdcore import paths
from kdcore.cli.args import add_home_argument
from kdcore.datasets import DatasetError, Manifest, ReadOptions, delete, get_manifest, list_datasets, rename
from kdcore.datasets.parsing import parse_source
from kdcore.datasets.preview import preview_parsed
from kdcore.datasets.registry import store_parsed

EXIT_USAGE = 2


def add_dataset_commands(subparsers: Any) -> None:
    """Register ``dataset`` and its subcommands on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser("dataset", help="register, list, show, rename and delete your own datasets",
                                   description="Datasets of raw texts and labels, stored under <home>/datasets/<id>/; "
                                   "a run uses one with --set data.dataset=ID.")
    sub = parser.add_subparsers(dest="dataset_command", required=True)

    p = sub.add_parser("add", help="preview and register a file (CSV, TSV, JSON Lines, Parquet, .gz/.bz2/.zip; "
                       "or a folder of class sub-folders)")
    p.add_argument("file", type=Path)
    p.add_argument("--text-column", help="the column with the texts (default: the longest string column)")
    p.add_argument("--label-column", help="the column with the labels (default: guessed, 2-1000 distinct values)")
    p.add_argument("--split-column", help="a column of train/val/test (default: a column named 'split', if any)")
    p.add_argument("--validation", type=Path, help="a separate validation file, used as it is")
    p.add_argument("--test", type=Path, help="a separate test file, used as it is")
    p.add_argument("--name", help="display name (default: the file's name)")
    p.add_argument("--encoding", help="the file's encoding (default: UTF-8, else detected)")
    p.add_argument("--drop-missing", action="store_true", help="drop rows without a text or a label")
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified split (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of each class for validation (0.1)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of each class for test (0.2)")
    p.add_argument("--maxlen", type=int, default=200, help="maxlen for the preview's truncation figure (200)")
    p.add_argument("--vocab-size", type=int, default=20000, help="vocabulary size for the coverage figure (20000)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("list", help="the registered datasets (and the built-in IMDB)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one dataset's manifest")
    p.add_argument("dataset_id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("rename", help="give a dataset a new name (its id stays)")
    p.add_argument("dataset_id")
    p.add_argument("name")
    p.set_defaults(func=cmd_rename)

    p = sub.add_parser("rm", help="delete a dataset (refused while a queued or running run uses it)")
    p.add_argument("dataset_id")
    p.set_defaults(func=cmd_rm)
    for child in sub.choices.values():
        add_home_argument(child)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_add(args: argparse.Namespace) -> int:
    try:
        options = ReadOptions(text_column=args.text_column, label_column=args.label_column,
                              split_column=args.split_column, encoding=args.encoding, seed=args.seed,
                              val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                              drop_missing=args.drop_missing)
        parsed = parse_source(args.file, options, validation=args.validation, test=args.test)
        print(preview_parsed(parsed, maxlen=args.maxlen, vocab_size=args.vocab_size, sample_rows=20000,
                             seed=args.seed).summary(), flush=True)
        name = args.name or args.file.name.split(".")[0] or args.file.name
        manifest = store_parsed(paths.home_dir(args.home), parsed, name)
    except DatasetError as e:
        return _fail(str(e))
    print(f"registered {manifest.name!r}: use it with --set data.dataset={manifest.id}")
    print(manifest.id)
    return 0


def _row(m: Manifest) -> str:
    sizes = "/".join(f"{m.split_sizes.get(p, 0):,}" for p in ("train", "val", "test"))
    return f"{m.id:<16}  {m.num_classes:>7}  {m.rows:>9,}  {sizes:<22}  {m.created[:19]:<19}  {m.name}"


def cmd_list(args: argparse.Namespace) -> int:
    manifests = list_datasets(paths.home_dir(args.home), builtin=True)
    if args.json:
        print(json.dumps([m.to_dict() for m in manifests], indent=2))
        return 0
    print(f"{'id':<16}  {'classes':>7}  {'rows':>9}  {'train/val/test':<22}  {'created':<19}  name")
    for manifest in manifests:
        print(_row(manifest))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        manifest = get_manifest(paths.home_dir(args.home), args.dataset_id)
    except DatasetError as e:
        return _fail(str(e))
    print(json.dumps(manifest.to_dict(), indent=2))
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    try:
        manifest = rename(paths.home_dir(args.home), args.dataset_id, args.name)
    except DatasetError as e:
        return _fail(str(e))
    print(f"{manifest.id}: {manifest.name}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    home = paths.home_dir(args.home)
    in_use: list[str] = []
    if paths.store_path(home).exists():  # no store, no runs: do not create one just to ask
        from kdcore.store import RunStore

        with RunStore(home) as store:
            in_use = store.active_datasets().get(args.dataset_id, [])
    try:
        delete(home, args.dataset_id, in_use=in_use)
    except DatasetError as e:
        return _fail(str(e))
    print(f"deleted dataset {args.dataset_id}")
    return 0
