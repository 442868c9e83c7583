"""``kdcore sweep`` (queue a sweep) and ``kdcore sweeps`` (list, show, cancel): sweeps from the shell.

``kdcore sweep --config base.yaml --grid distill.alpha=0.1,0.5 --grid student=tiny,notebook-student``
plans the grid, refuses it whole if any point is bad (naming the field), says how many runs,
teachers and scratch students it makes, and queues every run at once; a worker (``kdcore
worker``, or the app's) trains them. ``--dry-run`` stops after the plan.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from kdcore.cli.args import add_home_argument, config_from_args
from kdcore.config import ConfigError, apply_overrides, config_from_dict
from kdcore.config.sweep import SweepPoint, SweepSpec, expand, grid_from_items, parse_spec, trained_counts
from kdcore.results.sweep_results import sweep_row
from kdcore.store import RunStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def spec_from_args(args: argparse.Namespace) -> SweepSpec:
    """The sweep the arguments describe: ``--spec`` file, else ``--config``/``--set`` as the base and ``--grid``."""
    raw: dict[str, Any] = {}
    if args.spec is not None:
        try:
            raw = yaml.safe_load(args.spec.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError([f"--spec {args.spec}: cannot read it ({e})"]) from e
        if not isinstance(raw, dict):
            raise ConfigError([f"--spec {args.spec}: must be a mapping with base and grid"])
    if args.config is not None:
        raw["base"] = config_from_args(args).model_dump(mode="json")
    elif args.overrides:  # on top of the spec's base, if it has one
        raw["base"] = apply_overrides(config_from_dict(dict(raw.get("base") or {})), args.overrides).model_dump(
            mode="json")
    if args.grid:
        raw["grid"] = {**(raw.get("grid") or {}), **grid_from_items(args.grid)}
    for field in ("name", "sample", "seed"):
        if getattr(args, field) is not None:
            raw[field] = getattr(args, field)
    if args.halving:
        raw["halving"] = {**(raw.get("halving") or {}), "enabled": True, "eta": args.eta,
                          "min_epochs": args.min_epochs}
    if "grid" not in raw:
        raise ConfigError(["grid: give at least one --grid field=value1,value2 (or a --spec file with a grid)"])
    return parse_spec(raw)


def plan_text(points: list[SweepPoint]) -> str:
    """How many runs, and how many distinct teachers and scratch students they train (shared by the rest)."""
    teachers, students, scratch = trained_counts(points)
    return (f"{len(points)} runs: {teachers} teacher(s) to train, {students} distilled student(s), "
            f"{scratch} scratch student(s) (shared where their key matches)")


def cmd_sweep(args: argparse.Namespace) -> int:
    try:
        spec = spec_from_args(args)
        points = expand(spec)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    print(plan_text(points), file=sys.stderr)
    if args.dry_run:
        for point in points:
            print(point.label)
        return EXIT_OK
    with RunStore(args.home) as store:
        sweep_id = store.create_sweep(spec, points)
    print(sweep_id)
    return EXIT_OK


def cmd_sweeps(args: argparse.Namespace) -> int:
    with RunStore(args.home) as store:
        if args.sweep_id is None:
            sweeps = store.list_sweeps()
            if not sweeps:
                print("no sweeps yet: queue one with `python -m kdcore sweep --grid distill.alpha=0.1,0.5`")
            for sweep in sweeps:
                runs = store.sweep_runs(sweep.id)
                done = sum(r.finished for r in runs)
                print(f"{sweep.id}  {done}/{len(runs)} finished  {sweep.name}")
            return EXIT_OK
        sweep = store.get_sweep(args.sweep_id)
        if sweep is None:
            print(f"no sweep {args.sweep_id!r}; `python -m kdcore sweeps` lists them", file=sys.stderr)
            return EXIT_USAGE
        if args.cancel:
            cancelled = store.cancel_sweep(sweep.id)
            print(f"cancelled {len(cancelled)} queued or running run(s) of {sweep.id}")
            return EXIT_OK
        runs = store.sweep_runs(sweep.id)
    rows = [run_row(r) for r in runs]
    if args.csv is not None:
        write_csv(args.csv, rows)
        print(f"wrote {len(rows)} rows to {args.csv}")
    elif args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
    return EXIT_OK


def run_row(run: Any) -> dict[str, Any]:
    """One run of a sweep as a flat row (:func:`kdcore.results.sweep_results.sweep_row`), its point spread out."""
    row = asdict(sweep_row(run))
    point = row.pop("point") or {}
    return {"run_id": row.pop("run_id"), "status": row.pop("status"), **point, **row}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def add_sweep_commands(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser("sweep", help="Queue a sweep: a base config and lists of values for some fields.",
                           description="Expand the grid (or a random sample of it), validate every point, and "
                           "queue every run at once; the runs share one teacher (trained once) and their scratch "
                           "students wherever the keys match. Prints the sweep id.")
    sweep.add_argument("--config", type=Path, help="YAML or JSON base run config.")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                       help="Override one field of the base (repeatable).")
    sweep.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                       help="A field and its values, e.g. --grid distill.alpha=0.1,0.5 --grid student=tiny,"
                       "notebook-student (repeatable; a grid over all of them).")
    sweep.add_argument("--spec", type=Path, help="A YAML sweep spec (name, base, grid, sample, seed, halving).")
    sweep.add_argument("--name", help="Label of the sweep.")
    sweep.add_argument("--sample", type=int, help="Run a random sample of this many grid points.")
    sweep.add_argument("--seed", type=int, help="Seed of the random sample (default 0).")
    sweep.add_argument("--halving", action="store_true",
                       help="Successive halving: stop runs whose student is not among the best at each rung.")
    sweep.add_argument("--eta", type=int, default=2, help="Halving: the best 1/eta go on at each rung (default 2).")
    sweep.add_argument("--min-epochs", type=int, default=1, help="Halving: epochs before the first rung (default 1).")
    sweep.add_argument("--dry-run", action="store_true", help="Print the plan and the points; queue nothing.")
    add_home_argument(sweep)
    sweep.set_defaults(func=cmd_sweep)

    sweeps = sub.add_parser("sweeps", help="List sweeps, or show or cancel one.")
    sweeps.add_argument("sweep_id", nargs="?", help="A sweep id (as `kdcore sweep` printed it).")
    sweeps.add_argument("--cancel", action="store_true", help="Cancel the sweep's queued and running runs.")
    sweeps.add_argument("--csv", type=Path, help="Write the sweep's runs as a CSV table.")
    sweeps.add_argument("--json", action="store_true", help="Print the sweep's runs as JSON.")
    add_home_argument(sweeps)
    sweeps.set_defaults(func=cmd_sweeps)
