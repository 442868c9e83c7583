"""One experiment end to end on tiny synthetic data: artifacts, pairing, cancel, resume, reuse, seeds."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from kdcore.config import RecurrentSize
from kdcore.engine import models
from kdcore.engine.optimizers import make_optimizer
from kdcore.engine.pipeline import run_experiment
from kdcore.engine.students import initial_student_weights
from kdcore.engine.training import ArmCheckpoint, ArmSpec, train_arm
from kdcore.paths import RUN_ARTIFACTS
from kdcore.progress import ProgressEvent, RecordingReporter, RunCancelled
from kdcore.samples import StopAt, tiny_config

pytestmark = pytest.mark.slow
SMALL = RecurrentSize(embedding_dim=4, lstm_units=2, gru_units=2)

LOAD_WITHOUT_KDCORE = """
import sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1])
x = np.random.default_rng(0).integers(0, 200, size=(3, model.input_shape[1]))
print(model.predict(x, verbose=0).shape)
assert not any(m.startswith("kdcore") for m in sys.modules), "kdcore must not be needed"
"""


def load_without_kdcore(path: Path) -> str:
    """Load a saved model in a fresh interpreter that cannot see kdcore, and predict."""
    done = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_KDCORE, str(path)], capture_output=True, text=True,
                          cwd="/", timeout=120, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"plain keras.models.load_model failed:\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def finished_run(synthetic_imdb, tmp_path_factory):
    """One complete tiny run, shared read-only by the tests that only inspect it."""
    home = tmp_path_factory.mktemp("home")
    folder = home / "runs" / "r1"
    reporter = RecordingReporter()
    summary = run_experiment(tiny_config(synthetic_imdb), folder, reporter, home=home, tick_interval=0.0)
    return folder, summary, reporter.events, home


def test_run_experiment__writes_every_artifact(finished_run):
    folder, summary, _, _ = finished_run
    missing = [name for name in RUN_ARTIFACTS if not (folder / name).is_file()]
    assert not missing, f"artifacts missing: {missing}"
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary)), "summary.json must be what run_experiment returned"


def test_run_experiment__summary_has_every_figure(finished_run):
    _, summary, _, _ = finished_run
    for arm in ("teacher", "student", "scratch"):
        result = summary["arms"][arm]
        for key in ("test_accuracy", "test_loss", "params", "file_bytes", "train_seconds", "samples_per_s"):
            assert result.get(key) is not None, f"{arm}.{key} missing from summary"
    student, scratch, teacher = (summary["arms"][a] for a in ("student", "scratch", "teacher"))
    assert student["gain_over_scratch"] == pytest.approx(student["test_accuracy"] - scratch["test_accuracy"])
    assert student["teacher_share"] == pytest.approx(student["test_accuracy"] / teacher["test_accuracy"])
    assert student["params"] == 2370 and teacher["params"] == 6082, "params must match param_count"
    assert summary["arms"]["teacher"]["test_accuracy"] > 0.8, "the synthetic task is learnable"
    assert summary["verdict"], "the summary says in words whether distillation paid"


def test_run_experiment__student_loads_with_plain_keras(finished_run):
    folder, _, _, _ = finished_run
    assert "(3, 2)" in load_without_kdcore(folder / "student.keras"), "student predicts two logits per review"
    model = keras.models.load_model(folder / "scratch.keras")
    model.load_weights(folder / "student.weights.h5")  # same architecture: the weights file fits


def test_run_experiment__student_file_holds_no_teacher(finished_run):
    folder, _, _, _ = finished_run
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Skipping variable loading for optimizer": a mismatched file
        student = keras.models.load_model(folder / "student.keras")
    assert student.count_params() == 2370, "student.keras must be the student alone, not a Distiller"
    assert getattr(student, "optimizer", None) is None, \
        "the download is the deployable model: resume's optimizer state stays in checkpoints/"


def test_run_experiment__reports_ticks_and_epoch_ends_per_arm(finished_run):
    _, _, events, _ = finished_run
    for arm in ("teacher", "student", "scratch"):
        ends = [e for e in events if e.kind == "epoch_end" and e.arm == arm]
        assert [e.epoch for e in ends] == [0, 1], f"{arm}: one epoch_end per epoch"
        assert {"val_loss", "val_accuracy", "loss", "accuracy"} <= set(ends[-1].metrics)
        ticks = [e for e in events if e.kind == "tick" and e.arm == arm]
        assert ticks and all(0 < t.fraction < 2 for t in ticks), f"{arm}: ticks on a fractional-epoch axis"
        assert [t.fraction for t in ticks] == sorted(t.fraction for t in ticks), f"{arm}: ticks in order"
    student_end = next(e for e in events if e.kind == "epoch_end" and e.arm == "student")
    assert {"hard_loss", "distill_loss"} <= set(student_end.metrics), "the student reports both loss terms"


def test_initial_student_weights__depend_on_seed_only(synthetic_imdb):
    config = tiny_config(synthetic_imdb)
    a, b, c = (initial_student_weights(config, s) for s in (5, 5, 6))
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "same seed, same initial weights"
    assert not all(np.array_equal(x, y) for x, y in zip(a, c)), "another seed, other weights"


def test_run_experiment__alpha_one_student_equals_scratch(finished_run):
    # given alpha=1 the distillation loss is the labels' cross-entropy alone (teacher from the cache)
    _, _, _, home = finished_run
    config = tiny_config(Path(finished_run[1]["data"]["source"]), "distill.alpha=1.0", "train.epochs=1",
                         "train.teacher_epochs=2")
    summary = run_experiment(config, home / "runs" / "alpha1", home=home)
    # then the paired student and scratch (same initial weights, same batches) end identical
    student = keras.models.load_model(home / "runs" / "alpha1" / "student.keras").get_weights()
    scratch = keras.models.load_model(home / "runs" / "alpha1" / "scratch.keras").get_weights()
    for s, r in zip(student, scratch):
        np.testing.assert_allclose(s, r, atol=1e-5, err_msg="student and scratch must start and train alike")
    assert summary["arms"]["student"]["test_accuracy"] == pytest.approx(summary["arms"]["scratch"]["test_accuracy"])


def test_run_experiment__cancel_keeps_finished_arms_and_resume_skips_them(finished_run):
    # given a run stopped in the student's second epoch
    _, first, _, home = finished_run
    config = tiny_config(Path(first["data"]["source"]), "distill.temperature=3", "train.seed=5")
    folder = home / "runs" / "resumed"
    with pytest.raises(RunCancelled):
        run_experiment(config, folder, StopAt("student", 1), home=home, tick_interval=0.0)
    assert (folder / "teacher.keras").is_file(), "the finished teacher's model is kept"
    assert not (folder / "student.keras").exists(), "the unfinished student is not saved as a result"
    # when it is run again on the same folder
    again = RecordingReporter()
    summary = run_experiment(config, folder, again, home=home, tick_interval=0.0)
    # then the teacher is not retrained, the student resumes after its first epoch, the scratch trains
    starts = [e for e in again.events if e.kind == "arm_start"]
    assert [(e.arm, e.epoch) for e in starts] == [("student", 1), ("scratch", 0)], \
        f"resume must skip the teacher and restart the student at epoch 2, got {starts}"
    assert any(e.kind == "tick" and e.arm == "scratch" for e in again.events), "no cached scratch for seed 5"
    ends = [e.epoch for e in again.events if e.kind == "epoch_end" and e.arm == "student"]
    assert ends == [1], "only the student's second epoch is trained again"
    assert summary["arms"]["student"]["epochs_trained"] == 2
    assert summary["teacher_source"] == "resumed"

    # and reading the finished run back keeps what it measured, the time it took included
    read_back = run_experiment(config, folder, home=home, tick_interval=0.0)
    assert read_back["total_seconds"] == summary["total_seconds"], "not the seconds of the reading"
    assert read_back["arms"]["student"]["test_accuracy"] == summary["arms"]["student"]["test_accuracy"]


def test_run_experiment__reuses_cached_teacher_over_seeds(finished_run):
    # given a finished run; when a second run differs only in alpha, temperature and seed repeats
    folder, first, _, home = finished_run
    config = tiny_config(Path(first["data"]["source"]), "distill.alpha=0.5", "distill.temperature=2",
                         "train.seeds=2", "train.epochs=1", "train.teacher_epochs=2")
    reporter = RecordingReporter()
    summary = run_experiment(config, home / "runs" / "seeds", reporter, home=home)
    # then its teacher comes from the cache, untrained, with the same test accuracy
    assert summary["teacher_reused"] and summary["teacher_source"].startswith("cache")
    assert not any(e.arm == "teacher" and e.kind in ("arm_start", "tick") for e in reporter.events)
    assert summary["arms"]["teacher"]["test_accuracy"] == pytest.approx(first["arms"]["teacher"]["test_accuracy"])
    # and K=2 seeds give two paired results
    assert {"student", "student@1", "scratch", "scratch@1"} <= set(summary["arms"]), "K=2 pairs of arms"
    assert len(summary["seeds"]["student"]["values"]) == 2 and len(summary["seeds"]["gain"]["values"]) == 2
    assert summary["seeds"]["gain"]["exceeds_spread"] in (True, False), "two seeds give a spread to compare with"


def test_run_experiment__reuses_an_identical_scratch_student(finished_run):
    # given a finished run; when another differs only in what the scratch student does not see
    _, first, _, home = finished_run
    config = tiny_config(Path(first["data"]["source"]), "distill.alpha=0.7", "distill.temperature=4")
    reporter = RecordingReporter()
    summary = run_experiment(config, home / "runs" / "same-scratch", reporter, home=home, tick_interval=0.0)

    # then its scratch arm is the first run's: not trained, same result, curves replayed, model copied
    assert summary["scratch_reused"] == ["scratch"]
    assert not any(e.arm == "scratch" and e.kind == "tick" for e in reporter.events), "not trained"
    starts = [e for e in reporter.events if e.arm == "scratch" and e.kind == "arm_start"]
    assert len(starts) == 1 and "reused" in starts[0].message, "one start, saying so (the store drops stale rows)"
    replayed = [e for e in reporter.events if e.arm == "scratch" and e.kind == "epoch_end"]
    assert [e.epoch for e in replayed] == [0, 1] and all("val_accuracy" in e.metrics for e in replayed)
    assert summary["arms"]["scratch"] == first["arms"]["scratch"], "the same result, figure for figure"
    assert (home / "runs" / "same-scratch" / "scratch.keras").is_file(), "the scratch model is in this run too"
    assert summary["arms"]["student"]["gain_over_scratch"] == pytest.approx(
        summary["arms"]["student"]["test_accuracy"] - first["arms"]["scratch"]["test_accuracy"])

    # and a different student, or seed, trains its own
    other = run_experiment(tiny_config(Path(first["data"]["source"]), "student.gru_units=3", "train.epochs=1"),
                           home / "runs" / "other-scratch", home=home)
    assert other["scratch_reused"] == []


def test_run_experiment__teacher_only(finished_run):
    # given a finished run's home; when a teacher of another seed is trained alone
    _, first, _, home = finished_run
    config = tiny_config(Path(first["data"]["source"]), "train.seed=11", "train.teacher_epochs=1")
    summary = run_experiment(config, home / "runs" / "teacher-only", home=home, students=False)
    # then only the teacher is there, with its figures, and the verdict says so
    assert set(summary["arms"]) == {"teacher"} and summary["arms"]["teacher"]["test_accuracy"] > 0.5
    assert summary["verdict"].startswith("Teacher only:") and "no student was trained" in summary["verdict"]
    # and it fills the teacher cache for a later full run
    later = run_experiment(config, home / "runs" / "after-teacher-only", home=home)
    assert later["teacher_source"].startswith("cache")


def test_run_experiment__teacher_trains_with_its_own_batch_size_and_rate(finished_run, monkeypatch):
    # given a teacher whose batch is 4x the students' (which stays 32) and whose rate is a tenth of theirs
    _, first, _, home = finished_run
    config = tiny_config(Path(first["data"]["source"]), "train.seed=12", "train.teacher_epochs=1",
                         "train.teacher_batch_size=128", "train.teacher_learning_rate=0.001", "train.epochs=1",
                         "train.train_scratch=false")
    reporter = RecordingReporter()
    rates: list[float] = []  # learning rates of the optimizers compile_classifier makes, in order
    monkeypatch.setattr(models, "make_optimizer", lambda name, rate: rates.append(rate) or make_optimizer(name, rate))

    # when the run trains it and a student
    run_experiment(config, home / "runs" / "teacher-batch", reporter, home=home, tick_interval=0.0)

    # then each arm's epoch has as many steps as its own batch size makes, and the teacher its own rate
    train_rows = first["data"]["train"]
    steps = {e.arm: e.steps for e in reporter.events if e.kind == "arm_start"}
    assert steps == {"teacher": math.ceil(train_rows / 128), "student": math.ceil(train_rows / 32)}, f"{steps}"
    assert rates[0] == 0.001 and config.train.learning_rate == 0.01, f"the teacher's rate first: {rates}"


def test_run_experiment__teacher_from_earlier_run(finished_run):
    # a different seed means a different teacher key: only teacher_from can reuse the teacher
    _, first, _, home = finished_run
    later = tiny_config(Path(first["data"]["source"]), "train.epochs=1", "train.seed=9", "teacher_from=r1",
                        "train.train_scratch=false")
    summary = run_experiment(later, home / "runs" / "from-r1", home=home)
    assert summary["teacher_source"] == "run r1"
    assert "scratch" not in summary["arms"], "the scratch arm is optional"


def test_run_experiment__teacher_from_incompatible_run_is_refused(finished_run):
    _, first, _, home = finished_run
    later = tiny_config(Path(first["data"]["source"]), "data.maxlen=30", "teacher_from=r1")
    with pytest.raises(ValueError, match="set data.teacher_maxlen=40"):
        run_experiment(later, home / "runs" / "bad", home=home)


def test_train_arm__keeps_best_validation_epoch(synthetic_imdb, tmp_path):
    # given a scripted validation history whose best epoch is the second of three
    from kdcore.engine.data import load_splits
    from kdcore.engine.models import build_classifier, compile_classifier

    config = tiny_config(synthetic_imdb)
    splits = load_splits(config.data, 0)
    model = compile_classifier(build_classifier(SMALL, 200, 40, "m"),
                               0.05, jit_compile=False)
    scripted = iter([0.50, 0.20, 0.35])
    model.evaluate = lambda *a, **k: {"loss": next(scripted), "accuracy": 0.5}
    snapshots: dict[int, list[np.ndarray]] = {}

    class Snap(RecordingReporter):
        def report(self, event: ProgressEvent) -> None:
            if event.kind == "epoch_end":
                snapshots[event.epoch] = [w.copy() for w in model.get_weights()]

    spec = ArmSpec("scratch", model, model, splits.x_train, splits.y_train, splits.x_val, splits.y_val, epochs=3,
                   batch_size=32, eval_batch_size=256, keep_best=True, monitor="val_loss", patience=None, seed=0)
    # when the arm trains
    state = train_arm(spec, ArmCheckpoint(tmp_path, "scratch"), Snap(), tick_interval=1.0)
    # then the model holds the weights of epoch 2, not of the last epoch
    assert state.best_epoch == 1
    for kept, want in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(kept, want, err_msg="kept weights must be the best epoch's")
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[1], snapshots[2])), "epoch 3 changed weights"


def test_train_arm__early_stopping_after_patience(synthetic_imdb, tmp_path):
    from kdcore.engine.data import load_splits
    from kdcore.engine.models import build_classifier, compile_classifier

    splits = load_splits(tiny_config(synthetic_imdb).data, 0)
    model = compile_classifier(build_classifier(SMALL, 200, 40, "m"),
                               0.05, jit_compile=False)
    scripted = iter([0.2, 0.3, 0.4, 0.1, 0.1])
    model.evaluate = lambda *a, **k: {"loss": next(scripted), "accuracy": 0.5}
    spec = ArmSpec("scratch", model, model, splits.x_train, splits.y_train, splits.x_val, splits.y_val, epochs=5,
                   batch_size=64, eval_batch_size=256, keep_best=True, monitor="val_loss", patience=2, seed=0)
    state = train_arm(spec, ArmCheckpoint(tmp_path, "scratch"), RecordingReporter(), tick_interval=1.0)
    assert state.epochs_done == 3 and state.stopped_early, "two epochs without improvement stop training"
    assert state.best_epoch == 0


def test_arm_checkpoint__restores_weights_and_optimizer_state(synthetic_imdb, tmp_path):
    # given a model trained for an epoch and checkpointed
    from kdcore.engine.data import load_splits
    from kdcore.engine.models import build_classifier, compile_classifier
    from kdcore.engine.training import ArmState

    splits = load_splits(tiny_config(synthetic_imdb).data, 0)
    size = SMALL
    trained = compile_classifier(build_classifier(size, 200, 40, "m"), 0.01, jit_compile=False)
    trained.fit(splits.x_train, splits.y_train, batch_size=64, epochs=1, verbose=0)
    checkpoint = ArmCheckpoint(tmp_path, "scratch")
    checkpoint.save_epoch(trained, trained.optimizer, ArmState(epochs_done=1), improved=True)
    # when a fresh model restores it
    fresh = compile_classifier(build_classifier(size, 200, 40, "m"), 0.01, jit_compile=False)
    checkpoint.restore(fresh, fresh.optimizer, fresh.trainable_variables)
    # then weights and every optimizer variable (step count, moments) are back
    for a, b in zip(trained.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg="weights must be restored")
    assert len(fresh.optimizer.variables) == len(trained.optimizer.variables)
    for a, b in zip(trained.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"optimizer variable {a.path}")


def test_arm_checkpoint__refuses_a_model_not_compiled_with_its_training_optimizer(tmp_path):
    from kdcore.engine.models import build_classifier, compile_classifier
    from kdcore.engine.training import ArmState

    model = compile_classifier(build_classifier(SMALL, 200, 40, "m"),
                               0.01, jit_compile=False)
    with pytest.raises(RuntimeError, match="optimizer"):
        ArmCheckpoint(tmp_path, "x").save_epoch(model, keras.optimizers.Adam(), ArmState(), improved=False)
