"""Arguments more than one ``python -m kdcore`` command takes: ``--home``, ``--config`` and ``--set``.

A module of its own so that ``kdcore.cli.main`` and ``kdcore.cli.queue`` share one spelling
and one help text without importing each other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kdcore.config import RunConfig, apply_overrides, load_config


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--set``, shared by every command that takes a run config."""
    parser.add_argument("--config", type=Path, help="YAML or JSON run config (fields: `python -m kdcore schema`).")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="Override one field, e.g. --set distill.alpha=0.5 --set teacher=tiny (repeatable).")


def add_home_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", type=Path, default=None,
                        help="KD Studio's folder for runs, teachers and the store "
                        "(default: $KDCORE_HOME or ~/.kdstudio).")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config the arguments describe: the file (else the defaults), then each ``--set``; raises ConfigError."""
    base = load_config(args.config) if args.config else RunConfig()
    return apply_overrides(base, args.overrides) if args.overrides else base
