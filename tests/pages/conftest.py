"""Fixtures of the page tests: a real RunStore of fixture runs, and the app driven by Streamlit's AppTest.

The store lives under ``tmp_path`` ($KDCORE_HOME); runs are written through the store's own
writer methods (create, claim, record events, finish) as a worker would. No worker is
started (``ensure_local_worker`` is patched at its boundary) and no TensorFlow is imported.
The helpers a test calls (:func:`open_page`, :func:`texts`, :func:`add_finished_run`) are
fixtures because test modules cannot import from a conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.progress import ProgressEvent
from kdcore.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
WORKER_ID = "w-test"
ARTIFACT_BYTES = {
    "student.keras": b"PK-fake-student-keras",
    "student.weights.h5": b"\x89HDF-fake-student-weights",
    "teacher.keras": b"PK-fake-teacher-keras",
    "scratch.keras": b"PK-fake-scratch-keras",
    "metrics.csv": b"arm,kind,epoch,step,fraction,name,value,t\nstudent,epoch,0,4,1.0,val_accuracy,0.8,1.0\n",
}


# -- fixture runs ---------------------------------------------------------------------------


def small_config(name: str, *extra: str) -> RunConfig:
    return apply_overrides(RunConfig(name=name), ["teacher=tiny", "student=tiny", "data.vocab_size=500",
                                                   "train.epochs=2", *extra])


def arm_events(arm: str, epochs: int, start_acc: float, *, steps: int = 4, t0: float = 0.0,
               finish: bool = True) -> list[tuple[float, ProgressEvent]]:
    """What the pipeline reports for one arm: start, ticks, epoch ends (with val_*), end."""
    events = [(t0, ProgressEvent(kind="arm_start", arm=arm, epochs=epochs, steps=steps))]
    t = t0
    for epoch in range(epochs):
        for step in range(1, steps + 1):
            t += 1.0
            acc = start_acc + 0.02 * (epoch * steps + step)
            events.append((t, ProgressEvent(kind="tick", arm=arm, epoch=epoch, step=step, steps=steps, epochs=epochs,
                                            metrics={"loss": 1.0 - acc, "accuracy": acc, "samples_per_s": 120.0})))
        events.append((t, ProgressEvent(kind="epoch_end", arm=arm, epoch=epoch, step=steps, steps=steps,
                                        epochs=epochs, metrics={"loss": 1.0 - acc, "accuracy": acc,
                                                                "val_loss": 1.05 - acc, "val_accuracy": acc - 0.03})))
    if finish:
        events.append((t, ProgressEvent(kind="arm_end", arm=arm, epochs=epochs, metrics={"test_accuracy": acc})))
    return events


def summary_for(teacher: float, student: float, scratch: float, *, seeds: bool = False) -> dict[str, Any]:
    def arm(acc: float, params: int) -> dict[str, Any]:
        return {"test_accuracy": acc, "test_loss": 1 - acc, "params": params, "file_bytes": params * 12,
                "train_seconds": 12.0, "samples_per_s": 250.0, "best_epoch": 1, "epochs_trained": 2,
                "val_accuracy": acc}

    summary: dict[str, Any] = {
        "device": "CPU", "total_seconds": 42.0, "teacher_reused": False, "teacher_key": "abc",
        "arms": {"teacher": arm(teacher, 2_857_474), "student": {**arm(student, 1_320_000),
                                                                 "gain_over_scratch": student - scratch,
                                                                 "teacher_share": student / teacher},
                 "scratch": arm(scratch, 1_320_000)},
        "verdict": "The distilled student beat the student trained from scratch by 2.0 points.",
    }
    if seeds:
        summary["seeds"] = {"student": {"mean": student, "std": 0.004, "values": [student - 0.004, student + 0.004]},
                            "scratch": {"mean": scratch, "std": 0.003, "values": [scratch - 0.003, scratch + 0.003]},
                            "gain": {"mean": student - scratch, "std": 0.005, "exceeds_spread": True}}
    return summary


def start(store: RunStore, config: RunConfig, run_id: str) -> str:
    """Queue a run and have the fake worker claim it (the queue holds nothing older)."""
    store.create_run(config, run_id=run_id)
    claimed = store.claim_next(WORKER_ID)
    assert claimed is not None and claimed.id == run_id, "fixture: the run just queued should be claimed"
    store.set_device(run_id, "CPU")
    return run_id


def finish_run(store: RunStore, config: RunConfig, run_id: str, summary: dict[str, Any]) -> str:
    """A run that trained its three arms for ``train.epochs`` epochs and succeeded with ``summary``."""
    start(store, config, run_id)
    epochs = config.train.epochs
    events = (arm_events("teacher", epochs, 0.60) + arm_events("student", epochs, 0.55, t0=20)
              + arm_events("scratch", epochs, 0.50, t0=40))
    assert store.record_events(run_id, events, WORKER_ID), "fixture: the claimed run takes its events"
    assert store.finish(run_id, "succeeded", summary=summary, worker_id=WORKER_ID), "fixture: the run finishes"
    return run_id


def fill_store(store: RunStore, kd_home: Path) -> dict[str, str]:
    """Write a succeeded (with fake artifacts), a failed, a running and a queued run."""
    done = finish_run(store, small_config("baseline alpha 0.1", "train.seeds=2"), "run-succeeded",
                      summary_for(0.86, 0.84, 0.82, seeds=True))
    folder = paths.run_dir(done, kd_home)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in ARTIFACT_BYTES.items():
        (folder / name).write_bytes(data)
    (folder / "config.json").write_text(RunConfig(name="baseline alpha 0.1").to_json())

    failed = start(store, small_config("broken data"), "run-failed")
    store.record_events(failed, arm_events("teacher", 2, 0.6, finish=False)[:3], WORKER_ID)
    store.finish(failed, "failed", error="FileNotFoundError: /nowhere/imdb.npz does not exist",
                 traceback="Traceback (most recent call last):\n  File \"pipeline.py\"\nFileNotFoundError: ...",
                 worker_id=WORKER_ID)

    running = start(store, small_config("alpha 0.5 in progress", "distill.alpha=0.5"), "run-running")
    store.record_events(running, arm_events("teacher", 2, 0.6) + arm_events("student", 2, 0.55, t0=20,
                                                                              finish=False)[:4], WORKER_ID)

    queued = store.create_run(small_config("waiting"), run_id="run-queued")
    return {"succeeded": done, "failed": failed, "running": running, "queued": queued}


# -- driving the app ------------------------------------------------------------------------


def open_page(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """Run the app, switch to ``page`` (a path like ``pages/live.py``) with ``?query``."""
    at = AppTest.from_file(APP, default_timeout=30)
    if page is None:
        if query:
            at.query_params.update(query)
        return at.run()
    at.run()
    at.switch_page(page)
    if query:
        at.query_params.update(query)
    return at.run()


def texts(at: AppTest) -> str:
    """Everything the page wrote as text, for "does it say X" checks."""
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success", "title",
                                  "subheader", "code") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


# -- fixtures -------------------------------------------------------------------------------



@pytest.fixture
def fixture_runs(store: RunStore, kd_home: Path) -> dict[str, str]:
    """One run in each interesting state; returns status -> run id."""
    return fill_store(store, kd_home)


@pytest.fixture(autouse=True)
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Patch the app's one outside call: no worker process is started by these tests."""
    calls: list[Any] = []
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker",
                        lambda home=None, **kw: calls.append(home) or True)
    return calls


@pytest.fixture(name="open_page")
def open_page_fixture() -> Callable[..., AppTest]:
    """:func:`open_page`: ``open_page("pages/live.py", {"run": run_id})`` -> the page, run once."""
    return open_page


@pytest.fixture(name="texts")
def texts_fixture() -> Callable[[AppTest], str]:
    """:func:`texts`: everything a page wrote, as one string."""
    return texts


@pytest.fixture
def artifact_bytes() -> dict[str, bytes]:
    """The fake files of the succeeded fixture run, by name."""
    return ARTIFACT_BYTES


@pytest.fixture
def add_finished_run(store: RunStore) -> Callable[[str, dict[str, Any]], str]:
    """``add_finished_run(run_id, summary)``: a succeeded two-epoch run of tiny models with that summary."""
    return lambda run_id, summary: finish_run(store, small_config(run_id), run_id, summary)
