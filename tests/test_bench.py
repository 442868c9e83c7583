"""The benchmarks' entry: ``bash run.sh bench NAME`` (``python -m bench.run NAME``) reaches each
benchmark, and bench/ imports kdcore as a package, without ``sys.path`` edits. Fast, but for the
slow test that starts every benchmark module (each imports TensorFlow)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import MODULES

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def run_module(module: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` from the repository root, as ``run.sh bench`` runs it."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def test_bench_run__help_lists_every_benchmark() -> None:
    # when the dispatcher is asked for help
    done = run_module("bench.run", "--help")
    # then it exits 0 and names every benchmark, each of which is a module in bench/
    assert done.returncode == 0, f"python -m bench.run --help failed:\n{done.stderr[-2000:]}"
    for name, (module, _) in MODULES.items():
        assert name in done.stdout, f"bench.run --help does not list {name}"
        assert (BENCH / f"{module}.py").is_file(), f"benchmark {name} names bench/{module}.py, which is missing"


def test_bench_run__unknown_benchmark__exits_2_with_a_message() -> None:
    done = run_module("bench.run", "frobnicate")
    assert done.returncode == 2, f"expected exit 2, got {done.returncode}"
    assert "unknown benchmark" in done.stderr, f"no clear message: {done.stderr!r}"


def test_bench__imports_kdcore_as_a_package_without_sys_path_edits() -> None:
    # given every module of bench/
    modules = sorted(BENCH.glob("*.py"))
    assert (BENCH / "__init__.py") in modules, "bench/ must be a package (bench/__init__.py)"
    # then none of them reaches sys.path: they import `bench.` and `kdcore.` from the repository root
    edits = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in modules
             for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
             if isinstance(node, ast.Attribute) and node.attr == "path"
             and isinstance(node.value, ast.Name) and node.value.id == "sys"]
    assert not edits, f"bench/ touches sys.path at {edits}"


@pytest.mark.slow
@pytest.mark.parametrize("module", sorted({module for module, _ in MODULES.values()} | {"profile_steps"}))
def test_bench_module__starts_on_its_own(module: str) -> None:
    # when a benchmark module is asked for its flags, as `bash run.sh bench NAME --help` does
    done = run_module(f"bench.{module}", "--help", timeout=180)
    # then it imports (kdcore, TensorFlow, bench.machine) and prints its usage
    assert done.returncode == 0, f"python -m bench.{module} --help failed:\n{done.stderr[-2000:]}"
    assert "usage" in done.stdout.lower(), f"bench.{module} --help printed no usage: {done.stdout[:500]!r}"
