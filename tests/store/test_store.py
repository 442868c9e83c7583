"""RunStore: queue, claim, progress, metrics, logs, cancel, delete, staleness (no TensorFlow)."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from kdcore import paths
from kdcore.config import RunConfig
from kdcore.progress import ProgressEvent
from kdcore.store import FINISHED, RUN_STATUSES, RunRecord, RunStore
from kdcore.store import schema as store_schema

CONFIG = RunConfig(name="unit")


def _events(*events: ProgressEvent, t0: float = 1000.0) -> list[tuple[float, ProgressEvent]]:
    return [(t0 + i, e) for i, e in enumerate(events)]


def _tick(arm: str, epoch: int, step: int, steps: int = 10, **metrics: float) -> ProgressEvent:
    return ProgressEvent("tick", arm, epoch, step, steps, 2, metrics or {"loss": 1.0 / (step + 1)})


def _epoch_end(arm: str, epoch: int, steps: int = 10, **metrics: float) -> ProgressEvent:
    return ProgressEvent("epoch_end", arm, epoch, steps, steps, 2, metrics or {"loss": 0.5, "val_loss": 0.6})


def test_run_store__creates_file_in_wal_mode(kd_home: Path) -> None:
    # given / when
    store = RunStore(kd_home)
    # then
    assert store.path == paths.store_path(kd_home), "the store lives at paths.store_path(home)"
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal", f"the store should be in WAL mode, got {mode}"
    assert (kd_home / "runs").is_dir(), "the runs folder should be created"


def test_run_store__reopens_existing_file(kd_home: Path) -> None:
    # given
    run_id = RunStore(kd_home).create_run(CONFIG)
    # when
    again = RunStore(kd_home)
    # then
    assert again.get_run(run_id) is not None, "a second store on the same home sees the run"


def test_run_store__migrates_version_1_file(kd_home: Path) -> None:
    # given: a file written by schema version 1 (no crash counter)
    old_ddl = store_schema.RUNS_DDL.replace(",\n    crashes          INTEGER NOT NULL DEFAULT 0", "")
    sweep_columns = ",\n    sweep_id         TEXT,\n    point            TEXT,\n    teacher_key      TEXT"
    old_ddl = old_ddl.replace(sweep_columns, "")
    assert "crashes" not in old_ddl and "sweep_id" not in old_ddl, "the version-1 table has neither column"
    conn = sqlite3.connect(paths.store_path(kd_home), isolation_level=None)
    conn.execute(old_ddl)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    # when
    store = RunStore(kd_home)
    run_id = store.create_run(CONFIG)
    # then
    columns = [r[1] for r in sqlite3.connect(store.path).execute("PRAGMA table_info(runs)")]
    assert {"crashes", "sweep_id", "point", "teacher_key"} <= set(columns), f"missing columns added: {columns}"
    assert store.get_run(run_id).status == "queued", "the migrated store works"


def test_create_run(store: RunStore, kd_home: Path) -> None:
    # given
    config = RunConfig(name="my run")
    # when
    run_id = store.create_run(config)
    run = store.get_run(run_id)
    # then
    assert paths.validate_run_id(run_id) == run_id, "generated ids pass validation"
    assert len(run_id.split("-")) == 3 and len(run_id) == len("20261128-073501-a1b2c3"), f"id format: {run_id}"
    assert isinstance(run, RunRecord), "get_run returns a RunRecord"
    assert run.status == "queued" and not run.finished, "a new run is queued"
    assert run.name == "my run", "the name comes from the config"
    assert run.config == config.model_dump(), "the config is stored as model_dump()"
    assert run.run_config() == config, "the config validates back to the same RunConfig"
    assert run.attempts == 0 and not run.cancel_requested, "fresh counters"
    assert list((kd_home / "runs").iterdir()) == [], "creating a run writes no run folder"


def test_create_run__explicit_id_twice_is_refused(store: RunStore) -> None:
    store.create_run(CONFIG, run_id="my-run")
    with pytest.raises(ValueError, match="already exists"):
        store.create_run(CONFIG, run_id="my-run")


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", "", "-x", "x" * 65])
def test_get_run__invalid_id_raises(store: RunStore, bad_id: str) -> None:
    with pytest.raises(paths.InvalidRunId):
        store.get_run(bad_id)


def test_get_run__unknown_id_is_none(store: RunStore) -> None:
    assert store.get_run("nope") is None, "an unknown valid id gives None"


def test_list_runs__newest_first_and_filtered(store: RunStore) -> None:
    # given
    ids = [store.create_run(CONFIG, run_id=f"run-{i}") for i in range(3)]
    store.request_cancel(ids[1])
    # when
    all_runs = [r.id for r in store.list_runs()]
    queued = [r.id for r in store.list_runs(["queued"])]
    # then
    assert all_runs == ids[::-1], f"newest first, got {all_runs}"
    assert queued == [ids[2], ids[0]], f"only queued runs, got {queued}"
    assert store.list_runs([]) == [], "an empty filter selects nothing"
    with pytest.raises(ValueError, match="unknown run status"):
        store.list_runs(["sleeping"])


def test_claim_next__oldest_first_once(store: RunStore) -> None:
    # given
    first, second = store.create_run(CONFIG, run_id="a1"), store.create_run(CONFIG, run_id="a2")
    # when
    claims = [store.claim_next("w1"), store.claim_next("w2"), store.claim_next("w3")]
    # then
    assert [c.id if c else None for c in claims] == [first, second, None], "FIFO, each run claimed once"
    run = store.get_run(first)
    assert run.status == "running" and run.worker_id == "w1", "the claim records the worker"
    assert run.attempts == 1 and run.started_at is not None and run.heartbeat_at is not None, "claim stamps"


def test_claim_next__concurrent_threads_never_share_a_run(kd_home: Path) -> None:
    # given: 30 queued runs and 6 threads, each with its own store (own connections)
    RunStore(kd_home)
    ids = {RunStore(kd_home).create_run(CONFIG) for _ in range(30)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        store = RunStore(kd_home)
        while (run := store.claim_next(name)) is not None:
            with lock:
                claimed.append(run.id)

    # when
    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert sorted(claimed) == sorted(ids), "every run claimed exactly once"


def test_record_events__ticks_epochs_progress_and_log(store: RunStore, running: str) -> None:
    # given
    batch = _events(
        ProgressEvent("arm_start", "teacher", 0, 0, 10, 2, message="starting, 2 epochs"),
        _tick("teacher", 0, 5, loss=0.9, samples_per_s=100.0),
        _epoch_end("teacher", 0, loss=0.8, val_loss=0.7),
        _tick("teacher", 1, 5, loss=0.6, samples_per_s=120.0),
        ProgressEvent("log", message="hello from training"),
    )
    # when
    ok = store.record_events(running, batch, worker_id="w1")
    # then
    assert ok, "the holding worker may write"
    run = store.get_run(running)
    assert (run.arm, run.epoch, run.step, run.steps, run.epochs) == ("teacher", 1, 5, 10, 2), "progress columns"
    assert run.samples_per_s == 120.0, "speed from the latest tick"
    curves = store.curves(running)
    assert list(curves.columns) == ["arm", "kind", "epoch", "step", "fraction", "name", "value", "t"], "columns"
    assert curves["fraction"].tolist() == [0.5, 0.5, 1.0, 1.0, 1.5, 1.5], f"x axis: {curves['fraction'].tolist()}"
    epoch_rows = curves[curves["kind"] == "epoch"]
    assert sorted(epoch_rows["name"]) == ["loss", "val_loss"], "epoch rows hold epoch-end metrics"
    assert curves["epoch"].dtype.kind == "i" and curves["value"].dtype.kind == "f", "numeric dtypes"
    log = store.logs(running)
    assert "== teacher: starting, 2 epochs" in log, f"arm start in log: {log}"
    assert "[teacher] epoch 1/2 done: loss 0.8000 val_loss 0.7000" in log, f"epoch line in log: {log}"
    assert "hello from training" in log, "log events are kept"


def test_record_events__epoch_rows_upsert(store: RunStore, running: str) -> None:
    # given
    store.record_events(running, _events(_epoch_end("student", 0, loss=0.9)), worker_id="w1")
    # when: the same epoch ends again (a resumed attempt)
    store.record_events(running, _events(_epoch_end("student", 0, loss=0.4)), worker_id="w1")
    # then
    rows = store.curves(running)
    assert len(rows) == 1, f"one row per (arm, epoch, name), got {len(rows)}"
    assert rows["value"].iloc[0] == 0.4, "the later value wins"


def test_record_events__arm_start_drops_ticks_of_unfinished_epochs(store: RunStore, running: str) -> None:
    # given: epoch 0 finished, epoch 1 half done, then the worker died
    store.record_events(running, _events(
        _tick("student", 0, 5), _epoch_end("student", 0), _tick("student", 1, 3), _tick("student", 1, 6),
        _tick("teacher", 1, 6)), worker_id="w1")
    # when: the resumed attempt restarts the student at epoch 1
    store.record_events(running, _events(
        ProgressEvent("arm_start", "student", 1, 0, 10, 2), _tick("student", 1, 4)), worker_id="w1")
    # then
    curves = store.curves(running)
    student = curves[curves["arm"] == "student"]
    assert student["fraction"].tolist() == [0.5, 1.0, 1.0, 1.4], f"old partial epoch gone: {student}"
    assert (curves["arm"] == "teacher").sum() == 1, "other arms are untouched"


def test_record_events__refused_for_a_worker_that_lost_the_run(store: RunStore, running: str) -> None:
    # given: the run went back to the queue and another worker holds it
    store.requeue(running, "w1", reason="test")
    store.claim_next("w2")
    # when
    ok = store.record_events(running, _events(_tick("teacher", 0, 1)), worker_id="w1")
    # then
    assert not ok, "a worker that lost the run must not write to it"
    assert store.curves(running).empty, "nothing was written"


def test_record_events__non_finite_values_become_null(store: RunStore, running: str) -> None:
    store.record_events(running, _events(_tick("teacher", 0, 1, loss=float("nan"))), worker_id="w1")
    assert store.curves(running)["value"].isna().all(), "NaN is stored as NULL (read back as NaN)"


def test_add_metrics(store: RunStore, running: str) -> None:
    store.add_metrics(running, [("teacher", "tick", 0, 2, 4, "loss", 0.3, 1.0),
                                ("teacher", "epoch", 0, 4, 4, "loss", 0.2, 2.0),
                                ("teacher", "epoch", 0, 4, 4, "loss", 0.1, 3.0)])
    curves = store.curves(running)
    assert curves["fraction"].tolist() == [0.5, 1.0], "tick at 0.5, one upserted epoch row at 1.0"
    assert curves["value"].tolist() == [0.3, 0.1], "the epoch row keeps the last value"


def test_curves__empty_run_has_columns(store: RunStore) -> None:
    curves = store.curves(store.create_run(CONFIG))
    assert curves.empty and list(curves.columns) == ["arm", "kind", "epoch", "step", "fraction", "name", "value",
                                                     "t"], "an empty frame with the documented columns"


def test_heartbeat(store: RunStore, running: str) -> None:
    assert store.heartbeat(running, "w1"), "the holder's heartbeat lands"
    assert not store.heartbeat(running, "w2"), "another worker's heartbeat is refused"


def test_requeue_stale(store: RunStore, running: str) -> None:
    # given: a silent worker
    time.sleep(0.05)
    # when
    fresh = store.requeue_stale(stale_after_s=60)
    stale = store.requeue_stale(stale_after_s=0.01)
    # then
    assert fresh == [], "a recent heartbeat is not stale"
    assert stale == [running], "a silent worker's run is requeued"
    run = store.get_run(running)
    assert run.status == "queued" and run.worker_id is None, "back in the queue, no worker"
    assert not store.heartbeat(running, "w1"), "the old worker learns it lost the run"
    again = store.claim_next("w2")
    assert again is not None and again.attempts == 2, "the next claim counts a second attempt"
    assert "stopped heartbeating" in store.logs(running), "the log says why"


def test_requeue_stale__cancel_requested_becomes_cancelled(store: RunStore, running: str) -> None:
    store.request_cancel(running)
    time.sleep(0.05)
    assert store.requeue_stale(stale_after_s=0.01) == [running], "the stale run is handled"
    assert store.get_run(running).status == "cancelled", "a run asked to stop is not resumed"


def test_requeue_stale__gives_up_after_max_crashes(store: RunStore, running: str) -> None:
    # given: a run whose worker already died once
    time.sleep(0.02)
    store.requeue_stale(stale_after_s=0.01, max_crashes=2)
    store.claim_next("w2")
    time.sleep(0.02)
    # when: its second worker dies too
    store.requeue_stale(stale_after_s=0.01, max_crashes=2)
    # then
    run = store.get_run(running)
    assert run.status == "failed", f"no endless crash loop, got {run.status}"
    assert "died 2 times" in run.error, f"the error says why: {run.error!r}"


def test_request_cancel__queued_is_cancelled_at_once(store: RunStore) -> None:
    run_id = store.create_run(CONFIG)
    assert store.request_cancel(run_id) == "cancelled", "queued -> cancelled"
    run = store.get_run(run_id)
    assert run.status == "cancelled" and run.finished_at is not None, "finished now"
    assert store.claim_next("w1") is None, "a cancelled run leaves the queue"


def test_request_cancel__running_sets_flag(store: RunStore, running: str) -> None:
    assert store.request_cancel(running) == "running", "a running run stays running until the worker stops it"
    assert store.get_run(running).cancel_requested, "the flag is set"
    assert store.holds(running, "w1") == (True, True), "the worker sees the flag in its cheap check"


def test_request_cancel__finished_unchanged(store: RunStore, running: str) -> None:
    store.finish(running, "succeeded", summary={"ok": 1}, worker_id="w1")
    assert store.request_cancel(running) == "succeeded", "finished runs stay as they are"
    with pytest.raises(KeyError):
        store.request_cancel("unknown")


def test_finish(store: RunStore, running: str) -> None:
    # when
    done = store.finish(running, "failed", error="ValueError: boom", traceback="Traceback...", worker_id="w1")
    # then
    run = store.get_run(running)
    assert done and run.status == "failed" and run.finished, "failed is a finished status"
    assert run.error == "ValueError: boom" and run.traceback == "Traceback...", "error and traceback kept"
    assert not store.finish(running, "succeeded", worker_id="w1"), "a finished run cannot be finished again"
    with pytest.raises(ValueError, match="finish status"):
        store.finish(running, "running")


def test_finish__summary_round_trips(store: RunStore, running: str) -> None:
    store.finish(running, "succeeded", summary={"arms": {"student": {"test_accuracy": 0.9}}}, worker_id="w1")
    assert store.get_run(running).summary == {"arms": {"student": {"test_accuracy": 0.9}}}, "summary as dict"


def test_delete_run(store: RunStore, kd_home: Path) -> None:
    # given: a finished run with metrics and an artifact folder
    run_id = store.create_run(CONFIG)
    store.claim_next("w1")
    store.record_events(run_id, _events(_tick("teacher", 0, 1)))
    store.finish(run_id, "succeeded")
    folder = paths.run_dir(run_id, kd_home)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    # when
    store.delete_run(run_id)
    # then
    assert store.get_run(run_id) is None, "the run row is gone"
    assert store.curves(run_id).empty and store.logs(run_id) == "", "metrics and logs are gone"
    assert not folder.exists(), "the artifact folder is gone"


def test_delete_run__refuses_running(store: RunStore, running: str) -> None:
    with pytest.raises(ValueError, match="is running"):
        store.delete_run(running)
    assert store.get_run(running) is not None, "nothing was deleted"


def test_workers__registration_and_liveness(store: RunStore) -> None:
    store.register_worker("w1")
    store.register_worker("w2")
    store.stop_worker("w2")
    alive = [w.id for w in store.workers(alive_within_s=10)]
    assert alive == ["w1"], f"stopped workers are not alive, got {alive}"


def test_claim_meta__only_first_caller_wins(store: RunStore) -> None:
    assert store.claim_meta("spawn", 10), "the first caller sets the marker"
    assert not store.claim_meta("spawn", 10), "a second caller within the window does not"
    assert store.claim_meta("spawn", 0), "after the window it can be set again"


def test_statuses_constants() -> None:
    assert RUN_STATUSES == ("queued", "running", "succeeded", "failed", "cancelled"), "status order"
    assert FINISHED == {"succeeded", "failed", "cancelled"}, "finished statuses"


def test_store__does_not_import_tensorflow(kd_home: Path) -> None:
    # given: a fresh interpreter (this one may have TensorFlow loaded by other tests)
    import subprocess

    code = ("import sys; from kdcore.store import RunStore; from kdcore.cli import queue; "
            "from kdcore.worker import processes; "
            "s = RunStore(); s.curves(s.create_run(__import__('kdcore.config').config.RunConfig())); "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    # when
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # then
    assert out.stdout.strip() == "False", "store, worker and CLI modules must not import TensorFlow/Keras"


def test_curves__fast_with_100_runs_and_200k_rows(kd_home: Path) -> None:
    # given: 100 runs of 2,000 metric rows each
    store = RunStore(kd_home)
    ids = [store.create_run(CONFIG) for _ in range(100)]
    for run_id in ids:
        rows = [(arm, "tick", e, s, 100, name, 0.5, 1.0) for arm in ("teacher", "student") for e in range(5)
                for s in range(1, 101) for name in ("loss", "accuracy")]
        store.add_metrics(run_id, rows)
    # when
    store.curves(ids[50])  # warm-up: pandas import, page cache
    timings = []
    for run_id in ids[:7]:
        started = time.perf_counter()
        frame = store.curves(run_id)
        timings.append(time.perf_counter() - started)
    # then
    assert len(frame) == 2000, f"one run's rows, got {len(frame)}"
    median = sorted(timings)[len(timings) // 2]
    assert median < 0.05, f"curves should take < 50 ms, median {median * 1000:.1f} ms"


# -- the shell commands over the store (kdcore submit / status / cancel / logs) ---------------------


def _cli(argv: list[str]) -> int:
    from kdcore.cli.main import main

    return main(argv)


def test_cli_submit__prints_id_and_queues(kd_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # given
    config_file = tmp_path / "my.yaml"
    config_file.write_text("name: from yaml\ntrain:\n  epochs: 2\n")
    # when
    code = _cli(["submit", "--config", str(config_file), "--set", "distill.alpha=0.5", "--home", str(kd_home)])
    run_id = capsys.readouterr().out.strip()
    # then
    assert code == 0, "submit succeeds"
    run = RunStore(kd_home).get_run(run_id)
    assert run is not None and run.status == "queued", "the printed id is a queued run"
    assert run.config["distill"]["alpha"] == 0.5 and run.name == "from yaml", "file and --set both applied"


@pytest.mark.parametrize("argv, needle", [
    (["--set", "train.epochs=0"], "train.epochs"),
    (["--config", "/nope/my.yaml"], "cannot be read"),
    (["--set", "nonsense"], "expected section.field=value"),
])
def test_cli_submit__bad_config_exits_2_without_traceback(kd_home: Path, capsys: pytest.CaptureFixture,
                                                          argv: list[str], needle: str) -> None:
    code = _cli(["submit", *argv])
    err = capsys.readouterr().err
    assert code == 2, f"a bad config exits 2, got {code}"
    assert needle in err and "Traceback" not in err, f"the ConfigError text, no traceback: {err}"
    assert RunStore(kd_home).list_runs() == [], "nothing was queued"


def test_cli_status_cancel_logs(kd_home: Path, capsys: pytest.CaptureFixture) -> None:
    # given
    store = RunStore(kd_home)
    run_id = store.create_run(RunConfig(name="shell"))
    # when / then: status lists it
    assert _cli(["status"]) == 0 and run_id in capsys.readouterr().out, "status lists the run"
    assert _cli(["status", run_id]) == 0 and "queued" in capsys.readouterr().out, "status ID shows it"
    # when / then: cancel
    assert _cli(["cancel", run_id]) == 0, "cancel succeeds"
    assert "cancelled" in capsys.readouterr().out and store.get_run(run_id).status == "cancelled", "cancelled"
    # when / then: logs and json status
    assert _cli(["logs", run_id]) == 0 and "cancelled" in capsys.readouterr().out, "logs show the cancel"
    assert _cli(["status", "--json", run_id]) == 0, "json status"
    assert '"status": "cancelled"' in capsys.readouterr().out, "json has the status"


@pytest.mark.parametrize("command", ["status", "cancel", "logs"])
def test_cli__unknown_or_invalid_id(kd_home: Path, capsys: pytest.CaptureFixture, command: str) -> None:
    assert _cli([command, "no-such-run"]) == 1, "an unknown id exits 1"
    assert "no run with id" in capsys.readouterr().err, "and says so"
    assert _cli([command, "../etc"]) == 2, "an invalid id exits 2"
    assert "run id must be" in capsys.readouterr().err, "and says what an id looks like"
