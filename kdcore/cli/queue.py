"""Shell commands for the run queue: ``worker``, ``submit``, ``status``, ``cancel``, ``logs``.

``kdcore/cli/main.py`` calls :func:`add_queue_commands` on its subparsers. Each command's
``func(args)`` returns the exit code: 0 done, 1 no such run / not possible, 2 bad input
(the message on stderr, no traceback). Only ``worker`` ever imports TensorFlow, and only
once a run starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from kdcore import paths
from kdcore.cli.args import add_config_arguments, add_home_argument, checked_config
from kdcore.config import ConfigError
from kdcore.store import DEFAULT_MAX_CRASHES, DEFAULT_STALE_AFTER_S, RunRecord, RunStore


def add_queue_commands(subparsers: Any) -> None:
    """Register the queue commands on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("worker", help="serve queued runs, one at a time (one process per GPU)",
                              description="Claim queued runs and train them until stopped (SIGTERM hands "
                                          "the current run back to the queue).")
    add_home_argument(p)
    p.add_argument("--devices", default=None,
                   help="comma-separated GPU indices, e.g. 0,1: one worker process per GPU, each pinned "
                        "with CUDA_VISIBLE_DEVICES")
    p.add_argument("--poll-interval", type=_positive, default=1.0, help="seconds between queue checks when idle")
    p.add_argument("--heartbeat-interval", type=_positive, default=1.0, help="seconds between heartbeats")
    p.add_argument("--stale-after", type=_positive, default=DEFAULT_STALE_AFTER_S,
                   help="a running run whose worker is silent this many seconds goes back to the queue")
    p.add_argument("--exit-when-idle", action="store_true",
                   help="exit once no run is queued or running (for scripts and tests)")
    p.add_argument("--max-runs", type=int, default=None, help="exit after serving this many runs")
    p.add_argument("--max-crashes", type=int, default=DEFAULT_MAX_CRASHES,
                   help="a run whose worker died this many times fails instead of being retried")
    p.add_argument("--worker-id", default=None, help="name in the workers table (default: host-pid)")
    p.add_argument("--runner", default=None,
                   help="module:function that trains a run (default: kdcore.engine.pipeline:run_experiment)")
    p.add_argument("--ray", default=os.environ.get(paths.RAY_ENV) or None, metavar="ADDRESS",
                   help="serve on a Ray cluster instead: 'auto' (the cluster this machine is part of) or HOST:PORT "
                        f"of its head; each run is placed on a node with a free GPU (default: ${paths.RAY_ENV}; "
                        "docs/cluster.md)")
    p.add_argument("--gpus-per-run", type=_fraction, default=1.0, help="with --ray: GPUs each run takes (default 1)")
    p.add_argument("--cpus-per-run", type=_fraction, default=1.0, help="with --ray: CPUs each run takes (default 1)")
    p.add_argument("--cancel-grace", type=_positive, default=10.0,
                   help="with --ray: a cancelled run still training after this many seconds has its process killed")
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser("submit", help="queue a run and print its id")
    add_home_argument(p)
    add_config_arguments(p)
    p.set_defaults(func=cmd_submit)

    p = subparsers.add_parser("status", help="list runs, or show one run")
    p.add_argument("run_id", nargs="?", default=None)
    add_home_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("cancel", help="cancel a queued or running run")
    p.add_argument("run_id")
    add_home_argument(p)
    p.set_defaults(func=cmd_cancel)

    p = subparsers.add_parser("logs", help="print a run's log")
    p.add_argument("run_id")
    add_home_argument(p)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until the run finishes")
    p.set_defaults(func=cmd_logs)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


# -- commands -------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    from kdcore.worker.loop import run_worker

    options = dict(poll_interval=args.poll_interval, heartbeat_interval=args.heartbeat_interval,
                   stale_after=args.stale_after, exit_when_idle=args.exit_when_idle, max_runs=args.max_runs,
                   max_crashes=args.max_crashes, worker_id=args.worker_id)
    if args.ray:
        return _ray_worker(args, options)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()] if args.devices else None
    child_args: list[str] = []
    if devices:
        child_args = ["--home", str(paths.home_dir(args.home)), "--poll-interval", str(args.poll_interval),
                      "--heartbeat-interval", str(args.heartbeat_interval), "--stale-after", str(args.stale_after)]
        child_args += ["--exit-when-idle"] if args.exit_when_idle else []
        child_args += ["--max-runs", str(args.max_runs)] if args.max_runs is not None else []
        child_args += ["--max-crashes", str(args.max_crashes)]
        child_args += ["--runner", args.runner] if args.runner else []
    try:
        return run_worker(args.home, devices=devices, runner_spec=args.runner, child_args=child_args, **options)
    except (ValueError, ImportError, AttributeError) as e:
        return _fail(f"worker: {e}", 2)


def _ray_worker(args: argparse.Namespace, options: dict[str, Any]) -> int:
    """``worker --ray``: the dispatcher on the head; a failure to start is one line, exit 2, the queue untouched."""
    if args.devices:
        return _fail("worker: --devices and --ray do not go together: on a cluster Ray gives each run its GPU", 2)
    from kdcore.worker.cluster.dispatcher import run_dispatcher

    options["poll_interval"] = min(args.poll_interval, 0.2)  # a Ray wait, not a store poll: cheap
    try:
        return run_dispatcher(args.home, address=args.ray, runner_spec=args.runner, gpus_per_run=args.gpus_per_run,
                              cpus_per_run=args.cpus_per_run, cancel_grace=args.cancel_grace, **options)
    except ValueError as e:
        return _fail(f"worker: {e}", 2)


def cmd_submit(args: argparse.Namespace) -> int:
    try:
        config = checked_config(args)
    except ConfigError as e:
        return _fail(str(e), 2)
    with RunStore(args.home) as store:
        run_id = store.create_run(config)
    print(run_id)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with RunStore(args.home) as store:
        if args.run_id is None:
            runs = store.list_runs()
            if args.json:
                print(json.dumps([_record_dict(r) for r in runs], indent=2))
            elif not runs:
                print("no runs yet: queue one with `python -m kdcore submit --config my.yaml`")
            else:
                print(_runs_table(runs))
            return 0
        run = _lookup(store, args.run_id)
        if isinstance(run, int):
            return run
        print(json.dumps(_record_dict(run), indent=2) if args.json else _run_details(run))
        return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with RunStore(args.home) as store:
        run = _lookup(store, args.run_id)
        if isinstance(run, int):
            return run
        status = store.request_cancel(run.id)
    if status == "running":
        print(f"{run.id}: cancel requested; it stops after the current batch")
    elif status == "cancelled" and run.status == "queued":
        print(f"{run.id}: cancelled")
    else:
        print(f"{run.id}: already {status}, nothing to cancel")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    with RunStore(args.home) as store:
        run = _lookup(store, args.run_id)
        if isinstance(run, int):
            return run
        shown = 0
        while True:
            text = store.logs(run.id)
            sys.stdout.write(text[shown:])
            sys.stdout.flush()
            shown = len(text)
            current = store.get_run(run.id)
            if not args.follow or current is None or current.finished:
                break
            time.sleep(1.0)
        if current is not None and current.status == "failed" and current.traceback and not args.follow:
            sys.stdout.write("\n" + current.traceback)
    return 0


# -- formatting -------------------------------------------------------------------------------


def _lookup(store: RunStore, run_id: str) -> RunRecord | int:
    try:
        run = store.get_run(run_id)
    except paths.InvalidRunId as e:
        return _fail(str(e), 2)
    if run is None:
        return _fail(f"no run with id {run_id!r} in {store.path}", 1)
    return run


def _record_dict(run: RunRecord) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(run)


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _progress(run: RunRecord) -> str:
    if run.status != "running" or run.arm is None:
        return ""
    text = f"{run.arm} epoch {(run.epoch or 0) + 1}/{run.epochs or '?'}"
    if run.steps:
        text += f" batch {run.step}/{run.steps}"
    if run.samples_per_s:
        text += f" ({run.samples_per_s:,.0f}/s)"
    return text


def _runs_table(runs: list[RunRecord]) -> str:
    rows = [("ID", "STATUS", "CREATED", "NAME", "PROGRESS")]
    rows += [(r.id, r.status + (" (cancelling)" if r.cancel_requested and r.status == "running" else ""),
              _when(r.created_at), r.name or "-", _progress(r)) for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _run_details(run: RunRecord) -> str:
    duration = ""
    if run.started_at:
        end = run.finished_at or time.time()
        duration = f" ({end - run.started_at:,.0f} s)"
    lines = [
        f"run       {run.id}" + (f"  {run.name}" if run.name else ""),
        f"status    {run.status}" + (" (cancel requested)" if run.cancel_requested and not run.finished else ""),
        f"created   {_when(run.created_at)}",
        f"started   {_when(run.started_at)}",
        f"finished  {_when(run.finished_at)}{duration}",
        f"worker    {run.worker_id or '-'}   attempts {run.attempts}",
        f"device    {run.device or '-'}",
    ]
    if run.status == "running":
        lines.append(f"progress  {_progress(run)}")
    if run.error:
        lines.append(f"error     {run.error}")
        lines.append("          (`python -m kdcore logs ID` shows the traceback)")
    if run.summary:
        lines.append("summary   " + json.dumps(run.summary, default=str)[:2000])
    return "\n".join(lines)
