"""Arguments more than one ``python -m kdcore`` command takes: ``--home``, ``--config`` and ``--set``,
and the config they describe, checked as far as it can be without TensorFlow.

A module of its own so that ``kdcore.cli.main`` and ``kdcore.cli.queue`` share one spelling
and one help text without importing each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kdcore.cli.teacher_from import teacher_from_problem
from kdcore.config import ConfigError, RunConfig, apply_overrides, load_config


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


def checked_config(args: argparse.Namespace) -> RunConfig:
    """The run config of the arguments, with ``teacher_from`` checked (commands with ``--home``); raises ConfigError.

    Its warnings (:meth:`RunConfig.warnings`) go to stderr: allowed, but the user should know first.
    """
    config = config_from_args(args)
    if config.teacher_from and hasattr(args, "home"):
        problem = teacher_from_problem(config.teacher_from, args.home)
        if problem:
            raise ConfigError([problem])
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    return config
