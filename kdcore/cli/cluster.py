"""``kdcore cluster``: the Ray cluster as the dispatcher last saw it: nodes, their GPUs, what each runs.

Read from the store, like the dashboard's view, so it needs no Ray here and works from any
machine that reads the home. Exit 0 with a view, 1 when no dispatcher ever served this home.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from kdcore.cli.args import add_home_argument
from kdcore.store import RunStore
from kdcore.store.cluster_view import cluster_state


def add_cluster_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("cluster", help="the Ray cluster's nodes, GPUs and runs (as the dispatcher last saw it)",
                              description="Show the nodes of the Ray cluster that serves this home, their GPUs and "
                                          "the run each GPU trains. Start a dispatcher with: python -m kdcore worker "
                                          "--ray auto (docs/cluster.md).")
    add_home_argument(p)
    p.add_argument("--json", action="store_true", help="print the dispatcher's snapshot as JSON")
    p.set_defaults(func=cmd_cluster)


def cmd_cluster(args: argparse.Namespace) -> int:
    with RunStore(args.home) as store:
        snapshot = store.cluster()
    if args.json:
        print(json.dumps(snapshot, indent=2))
        return 0 if snapshot else 1
    state = cluster_state(snapshot, time.time())
    if state is None:
        print("No Ray dispatcher has served this home: runs go to local workers. To use a cluster: "
              "python -m kdcore worker --ray auto (docs/cluster.md)", file=sys.stderr)
        return 1
    print(state.headline)
    records = state.as_records()
    if records:
        widths = {k: max(len(k), *(len(r[k]) for r in records)) for k in records[0]}
        print("  ".join(k.ljust(w) for k, w in widths.items()).rstrip())
        for r in records:
            print("  ".join(r[k].ljust(w) for k, w in widths.items()).rstrip())
    return 0
