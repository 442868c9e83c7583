"""``python -m kdcore``: run an experiment in the foreground, serve a queue, inspect configs.

Parse, validate, run, clean exit code: a bad config prints what is wrong and exits 2
without a traceback; a cancelled run exits 130; a failed run exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from kdcore.cli.args import add_config_arguments, add_home_argument, checked_config
from kdcore.config import ConfigError, RunConfig, field_reference
from kdcore.paths import HomeNotAFolder, InvalidRunId, check_home, home_dir, run_dir, validate_run_id
from kdcore.store import StoreFileMissing, new_run_id

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def cmd_run(args: argparse.Namespace) -> int:
    try:
        run_id = validate_run_id(args.run_id) if args.run_id is not None else new_run_id()
    except InvalidRunId as e:
        print(f"--run-id: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = checked_config(args)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    folder = run_dir(run_id, args.home)
    print(f"Run {run_id}: teacher {config.teacher_params():,} params, student {config.student_params():,} params "
          f"({config.compression():.2f}x fewer parameters); artifacts in {folder}", flush=True)

    from kdcore.engine.data import DataError
    from kdcore.engine.pipeline import run_experiment
    from kdcore.progress import PrintReporter, RunCancelled

    try:
        result = run_experiment(config, folder, PrintReporter(), home=home_dir(args.home),
                                tick_interval=args.tick_interval)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (RunCancelled, KeyboardInterrupt):
        print(f"Run {run_id} interrupted; rerun with --run-id {run_id} to resume.", file=sys.stderr)
        return EXIT_CANCELLED
    print(json.dumps({arm: {k: r[k] for k in ("test_accuracy", "params", "train_seconds")}
                      for arm, r in result["arms"].items()}, indent=2))
    print(result["verdict"])
    print(f"Artifacts: {folder}")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(RunConfig.model_json_schema(), indent=2))
        return EXIT_OK
    print("| field | default | allowed | meaning |\n| --- | --- | --- | --- |")
    for row in field_reference():
        path, _, family = row["field"].partition(" ")  # `teacher.filters (conv)`: the family outside the code span
        print(f"| `{path}`{' ' + family if family else ''} | {row['default']!r} | {row['allowed']} | "
              f"{row['description']} |")
    return EXIT_OK


def cmd_params(args: argparse.Namespace) -> int:
    try:
        config = checked_config(args)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    print(f"teacher {config.teacher_params():,}\nstudent {config.student_params():,}\n"
          f"compression {config.compression():.2f}x")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kdcore", description="KD Studio's engine: knowledge distillation "
                                     "of a BiLSTM+BiGRU IMDB teacher into a smaller student, with a scratch baseline.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="Run one experiment in the foreground (teacher, distilled student, scratch).",
                         description="Train the teacher, distil the student, train the scratch baseline, evaluate "
                         "all three on the test set and write config.json, summary.json, metrics.csv and the "
                         "models to <home>/runs/<id>/. Rerunning with the same --run-id resumes.")
    add_config_arguments(run)
    add_home_argument(run)
    run.add_argument("--run-id", help="Folder name under <home>/runs (default: a new timestamped id).")
    run.add_argument("--tick-interval", type=float, default=1.0, help="Seconds between progress lines (default 1).")
    run.set_defaults(func=cmd_run)

    schema = sub.add_parser("schema", help="Every config field with its default and allowed values.")
    schema.add_argument("--json", action="store_true", help="Print the JSON schema instead of a Markdown table.")
    schema.set_defaults(func=cmd_schema)

    params = sub.add_parser("params", help="Parameter counts of the teacher and student of a config (no TensorFlow).")
    add_config_arguments(params)
    params.set_defaults(func=cmd_params)

    try:
        from kdcore.cli.queue import add_queue_commands
    except ImportError:  # the queue module is optional for the engine alone
        pass
    else:
        add_queue_commands(sub)
    from kdcore.cli.cluster import add_cluster_commands
    from kdcore.cli.datasets import add_dataset_commands
    from kdcore.cli.sweep import add_sweep_commands
    from kdcore.cli.teacher import add_teacher_commands

    add_dataset_commands(sub)
    add_teacher_commands(sub)
    add_sweep_commands(sub)
    add_cluster_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "home"):  # before any command makes the folder or opens the store in it
            check_home(args.home)
        return int(args.func(args))
    except HomeNotAFolder as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except StoreFileMissing as e:  # a deleted database is said, not papered over with an empty one
        print(e, file=sys.stderr)
        return EXIT_USAGE

