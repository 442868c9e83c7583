"""``kdcore cluster``, ``kdcore worker --ray`` refusing to start, and the dispatcher's settings (no cluster started)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdcore.cli.main import main
from kdcore.config import RunConfig
from kdcore.store import RunStore
from kdcore.worker.cluster import connect
from kdcore.worker.cluster.dispatcher import RUNTIME_ENV_ENV, NodeState, RayDispatcher, default_runtime_env

ROOT = Path(__file__).resolve().parents[2]


def _snapshot() -> dict[str, Any]:
    nodes = [{"node_id": "aaaaaa01", "name": "head [aaaaaa]", "ip": "10.0.0.1", "head": True, "alive": True,
              "gpus": 0.0, "cpus": 2.0, "slots": 0, "eligible": False, "why_not": "has no GPU for a run (1 each)",
              "runs": []},
             {"node_id": "bbbbbb02", "name": "gpu-box [bbbbbb]", "ip": "10.0.0.2", "head": False, "alive": True,
              "gpus": 2.0, "cpus": 8.0, "slots": 2, "eligible": True, "why_not": None,
              "runs": [{"run_id": "run-one", "where": "gpu-box [bbbbbb], GPU 0"}]}]
    return {"address": "10.0.0.1:6379", "dispatcher": "ray-head-1", "error": None, "stopped": False,
            "gpus_per_run": 1.0, "cpus_per_run": 1.0, "nodes": nodes}


def _node(gpus: float, cpus: float) -> NodeState:
    return NodeState(node_id="abcdef0123", host="box", ip="10.0.0.2", gpus=gpus, cpus=cpus, head=False)


# -- kdcore cluster -----------------------------------------------------------------------------------------


def test_cluster_cli__without_a_snapshot_exits_1_saying_how_to_start(kd_home: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["cluster", "--home", str(kd_home)])
    # then
    assert code == 1, "no dispatcher ever served this home"
    err = capsys.readouterr().err
    assert "--ray auto" in err and "Traceback" not in err, f"the message says how to start one: {err}"


def test_cluster_cli__live_snapshot_prints_headline_and_node_table(kd_home: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # given
    with RunStore(kd_home) as store:
        store.publish_cluster(_snapshot())
    # when
    code = main(["cluster", "--home", str(kd_home)])
    # then
    assert code == 0, "a snapshot is shown"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Ray cluster at 10.0.0.1:6379: 2 nodes, 2 GPUs, 1 of 2 run slots busy", lines[0]
    assert lines[1].split() == ["node", "role", "GPUs", "running", "state"], f"a header row: {lines[1]}"
    table = "\n".join(lines[2:])
    assert "head [aaaaaa]" in table and "gpu-box [bbbbbb]" in table, f"every node is listed: {table}"
    assert "run-one (GPU 0)" in table and "1 of 2 busy" in table, f"what each GPU runs: {table}"


def test_cluster_cli__json_prints_the_snapshot(kd_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    with RunStore(kd_home) as store:
        store.publish_cluster(_snapshot())
    # when
    code = main(["cluster", "--json", "--home", str(kd_home)])
    # then
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["address"] == "10.0.0.1:6379" and len(printed["nodes"]) == 2, "the snapshot as stored"
    assert "updated_at" in printed, "with the time it was written"


def test_cluster_cli__json_without_a_snapshot_is_null_and_exit_1(kd_home: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["cluster", "--json", "--home", str(kd_home)])
    # then
    assert code == 1 and capsys.readouterr().out.strip() == "null", "no snapshot: JSON null, exit 1"


# -- kdcore worker --ray that cannot start --------------------------------------------------------------------


def test_worker_ray__no_head_at_the_address_exits_2_and_leaves_the_queue(kd_home: Path) -> None:
    # given a queued run, and nothing listening on port 1
    with RunStore(kd_home) as store:
        run_id = store.create_run(RunConfig(name="waits"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDCORE_HOME": str(kd_home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KDCORE_RAY", None)
    # when
    done = subprocess.run([sys.executable, "-m", "kdcore", "worker", "--ray", "127.0.0.1:1", "--home", str(kd_home)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    # then
    said = done.stdout + done.stderr
    assert done.returncode == 2, f"no cluster: exit 2 ({done.returncode}): {said[-2000:]}"
    assert "no Ray head answers there" in said and "Traceback" not in said, said[-2000:]
    with RunStore(kd_home) as store:
        run = store.get_run(run_id)
        snapshot = store.cluster()
    assert run is not None and run.status == "queued" and run.attempts == 0, f"the queue is untouched: {run}"
    assert snapshot is not None and "no Ray head answers there" in (snapshot.get("error") or ""), \
        f"the error is published for the dashboard: {snapshot}"
    assert snapshot["address"] == "127.0.0.1:1", snapshot


def test_worker_ray__with_devices_is_refused(kd_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["worker", "--ray", "auto", "--devices", "0", "--home", str(kd_home)])
    # then
    assert code == 2, "--devices and --ray do not go together"
    err = capsys.readouterr().err
    assert "--devices" in err and "--ray" in err, f"the message names both: {err}"


def test_worker_ray__runs_that_take_nothing_are_refused(kd_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["worker", "--ray", "auto", "--gpus-per-run", "0", "--cpus-per-run", "0", "--home", str(kd_home)])
    # then
    assert code == 2, "a run must take a GPU or a CPU"
    err = capsys.readouterr().err
    assert "not both 0" in err and "Traceback" not in err, f"the message says why: {err}"


def test_worker_ray__address_defaults_to_the_environment(kd_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # given
    monkeypatch.setenv("KDCORE_RAY", "auto")
    # when: --devices alone, but $KDCORE_RAY makes it a Ray worker
    code = main(["worker", "--devices", "0", "--home", str(kd_home)])
    # then
    assert code == 2 and "--ray" in capsys.readouterr().err, "$KDCORE_RAY is --ray's default"


def test_worker_ray__bad_address_exits_2_saying_what_is_expected(kd_home: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["worker", "--ray", "not-an-address", "--home", str(kd_home)])
    # then
    assert code == 2, "a bad address is a usage error"
    said = capsys.readouterr()
    assert "expected 'auto' or HOST:PORT" in said.out + said.err, f"the message says what is expected: {said}"
    with RunStore(kd_home) as store:
        snapshot = store.cluster()
    assert snapshot is not None and "expected 'auto' or HOST:PORT" in snapshot["error"], snapshot


@pytest.mark.parametrize("address", ["not-an-address", "host:", ":6379", "host:0", "host:70000", "host:port"])
def test_split_address__refuses_what_is_not_host_port(address: str) -> None:
    # when / then
    with pytest.raises(ValueError, match="expected 'auto' or HOST:PORT"):
        connect.split_address(address)


def test_split_address__host_and_port() -> None:
    # given / when / then
    assert connect.split_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert connect.split_address("[::1]:6379") == ("::1", 6379), "an IPv6 host loses its brackets"


def test_import_ray__missing_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setitem(sys.modules, "ray", None)
    # when / then
    with pytest.raises(connect.RayUnavailable, match=r"pip install '\.\[ray\]'"):
        connect.import_ray()


# -- the runs' runtime environment -------------------------------------------------------------------------


def test_default_runtime_env__forwards_kdcore_settings_but_not_the_home(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    for name in list(os.environ):
        if name.startswith("KDCORE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KDCORE_IMDB_PATH", "/data/imdb.npz")
    monkeypatch.setenv("KDCORE_HOME", "/head/home")
    monkeypatch.setenv("KDCORE_RAY", "auto")
    monkeypatch.setenv("KDCORE_CLUSTER_HOME", "/mnt/home")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("UNRELATED_SETTING", "x")
    # when
    env = default_runtime_env()
    # then
    assert env["env_vars"] == {"KDCORE_IMDB_PATH": "/data/imdb.npz", "KERAS_BACKEND": "tensorflow",
                               "TF_CPP_MIN_LOG_LEVEL": "2"}, f"only the nodes' settings travel: {env['env_vars']}"
    assert len(env["py_modules"]) == 1 and Path(env["py_modules"][0]) == ROOT / "kdcore", \
        f"the head's kdcore travels: {env['py_modules']}"


def test_default_runtime_env__merges_the_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setenv("KDCORE_IMDB_PATH", "/data/imdb.npz")
    monkeypatch.setenv(RUNTIME_ENV_ENV, json.dumps({"pip": ["rich"], "env_vars": {"EXTRA": "1"}}))
    # when
    env = default_runtime_env()
    # then
    assert env["pip"] == ["rich"], "other keys are added"
    assert env["env_vars"]["EXTRA"] == "1" and env["env_vars"]["KDCORE_IMDB_PATH"] == "/data/imdb.npz", \
        f"env_vars are merged, not replaced: {env['env_vars']}"
    assert RUNTIME_ENV_ENV not in env["env_vars"], "the variable itself does not travel"
    assert env["py_modules"], "py_modules stay"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_default_runtime_env__invalid_json_names_the_variable(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # given
    monkeypatch.setenv(RUNTIME_ENV_ENV, text)
    # when / then
    with pytest.raises(ValueError, match=RUNTIME_ENV_ENV):
        default_runtime_env()


# -- the dispatcher's arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(("gpus_per_run", "cpus_per_run", "gpus", "cpus", "slots"), [
    (1.0, 1.0, 2.0, 8.0, 2),
    (1.0, 1.0, 0.0, 8.0, 0),
    (0.5, 1.0, 2.0, 8.0, 4),
    (0.5, 1.0, 1.0, 1.0, 2),
    (0.0, 2.0, 4.0, 5.0, 2),
])
def test_ray_dispatcher__capacity_is_gpus_over_gpus_per_run_else_cpus(kd_home: Path, gpus_per_run: float,
                                                                      cpus_per_run: float, gpus: float, cpus: float,
                                                                      slots: int) -> None:
    # given
    dispatcher = RayDispatcher(kd_home, address="auto", gpus_per_run=gpus_per_run, cpus_per_run=cpus_per_run)
    # when
    capacity = dispatcher.capacity(_node(gpus, cpus))
    # then
    assert capacity == slots, f"{gpus:g} GPU / {cpus:g} CPU at {gpus_per_run:g} GPU, {cpus_per_run:g} CPU per run"


def test_ray_dispatcher__refuses_runs_that_take_nothing(kd_home: Path) -> None:
    # when / then
    with pytest.raises(ValueError, match="not both 0"):
        RayDispatcher(kd_home, address="auto", gpus_per_run=0, cpus_per_run=0)


def test_ray_dispatcher__refuses_a_stale_limit_under_two_heartbeats(kd_home: Path) -> None:
    # when / then
    with pytest.raises(ValueError, match="stale_after"):
        RayDispatcher(kd_home, address="auto", heartbeat_interval=1.0, stale_after=2.0)


# -- the dashboard's worker ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "extra"), [("10.0.0.5:6379", ("--ray", "10.0.0.5:6379")), (None, ())])
def test_start_local_worker__passes_ray_when_the_environment_names_a_cluster(
        kd_home: Path, monkeypatch: pytest.MonkeyPatch, address: str | None, extra: tuple[str, ...]) -> None:
    # given
    from kdcore.ui import entry

    calls: list[tuple[Any, tuple[str, ...]]] = []
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker",
                        lambda home=None, *, extra_args=(): calls.append((home, tuple(extra_args))) or True)
    if address:
        monkeypatch.setenv("KDCORE_RAY", address)
    else:
        monkeypatch.delenv("KDCORE_RAY", raising=False)
    # when
    problem = entry.start_local_worker(kd_home)
    # then
    assert problem is None, f"starting the worker went fine: {problem}"
    assert calls == [(kd_home, extra)], f"the worker's extra arguments: {calls}"
