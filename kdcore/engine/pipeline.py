"""One experiment end to end: teacher, its logits, distilled student, scratch student, evaluation.

The order is what makes the comparison fair and cheap: the teacher is trained (or reused)
once and keeps its best validation epoch; its logits on the training set are computed
once in large batches (with an augmented transfer set it labels each altered batch as the
student trains instead); then for each seed the distilled student and the scratch student
start from identical initial weights (a paired comparison) and train for the same epochs;
the test set is touched only at the end. Calling :func:`run_experiment` again on the same
folder after a crash resumes: finished arms are read back, the interrupted arm restarts
from its last finished epoch.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.config import ConfigError, RunConfig, param_count, stored_config
from kdcore.engine.augment import AugmentedBatches
from kdcore.engine.data import Splits, load_split_views, repad
from kdcore.engine.distill import TEACHER_LOGITS, TOKENS, DistillationLoss, Distiller, teacher_logits
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.training import ArmCheckpoint, ArmSpec, ArmState, train_arm
from kdcore.paths import baselines_dir, teachers_dir
from kdcore.paths import run_dir as run_folder
from kdcore.progress import NullReporter, ProgressEvent, Reporter, arm_name
from kdcore.results import summary as summarise

ARTIFACT_FILES = ("config.json", "summary.json", "metrics.csv", "student.keras", "student.weights.h5",
                  "teacher.keras", "scratch.keras")
SAVED_ARMS = ("teacher", "student", "scratch")  # extra seeds are measured, not saved
BASELINE_FORMAT = 1  # bump when what a scratch arm does changes, so cached baselines are not reused
METRICS_COLUMNS = ("arm", "epoch", "loss", "accuracy", "hard_loss", "distill_loss", "val_loss", "val_accuracy",
                   "samples_per_s", "epoch_seconds")


def device_description() -> str:
    """What the arms train on, in words: the GPU's name, or CPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
            return "GPU: " + ", ".join(names)
    elif backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform == "gpu"]
        if devices:
            return "GPU: " + ", ".join(d.device_kind for d in devices)
    return f"CPU ({os.cpu_count()} cores)"


def _jit_setting(choice: str, device: str) -> bool | str:
    """No XLA on a CPU, Keras' choice on a GPU (cuDNN RNNs stay on), or what the config forces.

    Measured with bench/speed.py on this project's 2-core CPU (TF 2.21, Keras 3.15; results in
    bench/results/speed-xla-on.md vs speed.md): with XLA the teacher's and the scratch student's
    steady step speed was about half (39 vs 84, 121 vs 218 samples/s), and every first batch
    waited for compilation, so "auto" means off on a CPU.
    """
    if choice == "off":
        return False
    if choice == "on":
        return True
    return "auto" if device.startswith("GPU") else False


class _Experiment:
    """State shared by the steps of one run; a class only to keep the steps short."""

    def __init__(self, config: RunConfig, folder: Path, reporter: Reporter, home: Path | None, tick_interval: float,
                 device: str):
        self.config = config
        self.folder = folder
        self.reporter = reporter
        self.home = home
        self.tick_interval = tick_interval
        self.checkpoints = folder / "checkpoints"
        self.jit = _jit_setting(config.train.jit_compile, device)
        self.device = device
        self.arms: dict[str, dict[str, Any]] = {}
        self.histories: dict[str, list[dict[str, float]]] = {}
        self.reused_scratch: list[str] = []
        self.trained_arms = 0
        self.teacher: keras.Model | None = None

    def log(self, message: str) -> None:
        self.reporter.report(ProgressEvent("log", message=message))

    # -- the arms ------------------------------------------------------------------------
    def spec(self, arm: str, model: keras.Model, fit_model: keras.Model, x: Any, splits: Splits,
             epochs: int, seed: int, batches: Callable[[int], AugmentedBatches] | None = None) -> ArmSpec:
        t = self.config.train
        self.trained_arms += 1  # a spec is made only to train an arm
        batch_size = t.teacher_batch if arm == "teacher" else t.batch_size
        return ArmSpec(arm=arm, model=model, fit_model=fit_model, x=x, y=splits.y_train, x_val=splits.x_val,
                       y_val=splits.y_val, epochs=epochs, batch_size=batch_size, eval_batch_size=t.eval_batch_size,
                       keep_best=t.keep_best, monitor=t.monitor, patience=t.patience, seed=seed, batches=batches)

    def finish_arm(self, arm: str, model: keras.Model, state: ArmState, checkpoint: ArmCheckpoint,
                   splits: Splits, size_params: int, train_samples: int) -> None:
        """Test once, save the kept model, record the result; the arm is then done for good."""
        test = model.evaluate(splits.x_test, splits.y_test, batch_size=self.config.train.eval_batch_size,
                              verbose=0, return_dict=True)
        file_bytes = None
        if arm in SAVED_ARMS:
            path = self.folder / f"{arm}.keras"
            _without_optimizer(model).save(path) if arm == "teacher" else model.save(path)
            file_bytes = path.stat().st_size
            if arm == "student":
                model.save_weights(self.folder / "student.weights.h5")
        best = state.history[state.best_epoch] if state.best_epoch is not None else {}
        last = state.history[-1] if state.history else {}
        state.result = {
            "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]), "params": size_params,
            "file_bytes": file_bytes, "train_seconds": state.train_seconds,
            "samples_per_s": (train_samples * state.epochs_done / state.train_seconds) if state.train_seconds else None,
            "best_epoch": (state.best_epoch + 1) if state.best_epoch is not None else None,
            "epochs_trained": state.epochs_done, "stopped_early": state.stopped_early,
            "val_accuracy": best.get("val_accuracy"), "val_loss": best.get("val_loss"),
            "train_accuracy": last.get("accuracy"),
        }
        state.finished = True
        checkpoint.save_state(state)
        checkpoint.clear_weights()
        self.reporter.report(ProgressEvent("arm_end", arm, state.epochs_done, 0, 0, state.epochs_done,
                                           {"test_accuracy": state.result["test_accuracy"],
                                            "test_loss": state.result["test_loss"]}))

    def record(self, arm: str, state: ArmState) -> None:
        assert state.result is not None
        self.arms[arm] = dict(state.result)
        self.histories[arm] = state.history

    # -- teacher -------------------------------------------------------------------------
    def teacher_logits(self, splits: Splits, student_view: Splits) -> np.ndarray | None:
        """Train, resume or reuse the teacher; return its soft targets on the training rows.

        ``splits`` is the teacher's view of the data (padded to its own length), on which it
        trains; ``student_view`` the students'. Both hold the same rows, so the logits line up
        with the student's batches. With ``distill.teacher_view=student`` the teacher makes its
        targets from the student's words only (its view, padded to the teacher's length).
        Augmented students get None: the teacher labels each altered batch as they train, so a
        pass over the unaltered rows would be wasted.
        """
        c = self.config
        checkpoint = ArmCheckpoint(self.checkpoints, "teacher")
        logits_path = self.checkpoints / logits_file(c)
        fixed_targets = not any(c.augmentation())
        state = checkpoint.load()
        if state.finished and (self.folder / "teacher.keras").exists():
            self.record("teacher", state)
            self.teacher_source = "resumed"
            self.teacher = None  # read back from teacher.keras if an augmented student needs it
            if not fixed_targets:
                return None
            if not logits_path.exists():  # stopped before they were saved, or resumed with another view
                _atomic_save_npy(logits_path, self._targets(self.teacher_model(), splits, student_view))
                self.teacher = None
            return np.load(logits_path)
        teacher, source = self._reused_teacher()
        params = param_count(c.teacher, c.data.vocab_size)
        if teacher is not None:
            self.teacher_source = source
            self.log(f"Teacher reused from {source}; no teacher training in this run.")
            compile_classifier(teacher, c.train.learning_rate, self.jit)
            history = self.teacher_history
            state = ArmState(epochs_done=len(history), history=history,
                             best_epoch=_best_index(history, c.train.monitor))
        else:
            self.teacher_source = "trained"
            keras.utils.set_random_seed(c.train.seed)
            teacher = compile_classifier(build_classifier(c.teacher, c.data.vocab_size, c.data.teacher_length,
                                                          "teacher"), c.train.teacher_rate, self.jit,
                                         c.train.teacher_optimizer)
            spec = self.spec("teacher", teacher, teacher, splits.x_train, splits, c.train.teacher_epoch_count,
                             c.train.seed)
            state = train_arm(spec, checkpoint, self.reporter, self.tick_interval)
        self.finish_arm("teacher", teacher, state, checkpoint, splits, params, len(splits.y_train))
        logits = self._targets(teacher, splits, student_view) if fixed_targets else None
        if logits is not None:
            _atomic_save_npy(logits_path, logits)
        self.teacher = None if fixed_targets else teacher  # else its memory goes
        if self.teacher_source == "trained":
            self._publish_teacher(state)
        self.record("teacher", state)
        return logits

    def _targets(self, teacher: keras.Model, splits: Splits, student_view: Splits) -> np.ndarray:
        """The teacher's logits on the training rows, read from the view ``distill.teacher_view`` names."""
        c = self.config
        targets_from = (splits.x_train if c.distill.teacher_view == "own"
                        else repad(student_view.x_train, c.data.teacher_length))
        return teacher_logits(teacher, targets_from, c.train.eval_batch_size)

    def _cache_dir(self) -> Path:
        return teachers_dir(self.home) / self.config.teacher_key()

    def _reused_teacher(self) -> tuple[keras.Model | None, str]:
        c = self.config
        if c.teacher_from:
            earlier = run_folder(c.teacher_from, self.home)
            path = earlier / "teacher.keras"
            if not path.exists():
                raise ValueError(f"teacher_from: run {c.teacher_from!r} has no teacher.keras (did it finish its teacher?)")
            _check_compatible(json.loads((earlier / "config.json").read_text()), c)
            self.teacher_history = _read_history(earlier / "checkpoints" / "teacher.json")
            return keras.models.load_model(path, compile=False), f"run {c.teacher_from}"
        cached = self._cache_dir() / "teacher.keras"
        if cached.exists():
            self.teacher_history = _read_history(self._cache_dir() / "teacher.json")
            return keras.models.load_model(cached, compile=False), f"cache {self.config.teacher_key()}"
        return None, ""

    def _publish_teacher(self, state: ArmState) -> None:
        """Put the trained teacher where later runs with the same teacher key find it."""
        target = self._cache_dir()
        if target.exists():
            return
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.folder / "teacher.keras", tmp / "teacher.keras")
        (tmp / "teacher.json").write_text(json.dumps({"history": state.history, "train_seconds": state.train_seconds}))
        try:
            os.replace(tmp, target)
        except OSError:  # another run published the same teacher first
            shutil.rmtree(tmp, ignore_errors=True)

    # -- students --------------------------------------------------------------------------
    def teacher_model(self) -> keras.Model:
        """The trained teacher, for students whose targets it makes on every step."""
        if self.teacher is None:
            self.teacher = keras.models.load_model(self.folder / "teacher.keras", compile=False)
        return self.teacher

    def augmented_batches(self, splits: Splits, teacher_splits: Splits, seed: int,
                          teacher_length: int | None) -> Callable[[int], AugmentedBatches] | None:
        """Per-epoch altered batches of one seed, or None without augmentation.

        The distilled student and its scratch twin get the same seed, hence the same altered
        reviews in the same order: with alpha 1 they would train identically.
        """
        c = self.config
        window, mask = c.augmentation()
        if not (window or mask):
            return None

        def batches(first_epoch: int) -> AugmentedBatches:
            return AugmentedBatches(splits.x_train, teacher_splits.x_train, splits.y_train, c.train.batch_size, seed,
                                    first_epoch, window, mask, teacher_length)

        return batches

    def distilled_inputs(self, splits: Splits, teacher_splits: Splits, logits: np.ndarray | None,
                         seed: int) -> tuple[keras.Model | None, Any, Callable[[int], AugmentedBatches] | None]:
        """(teacher to run on every step, fixed inputs, batches made per epoch) of a distilled student.

        With fixed targets, the teacher's cached logits ride along with the tokens; with an
        augmented transfer set, the teacher labels each altered batch as it trains.
        """
        batches = self.augmented_batches(splits, teacher_splits, seed, self.config.data.teacher_length)
        if batches is None:
            assert logits is not None, "fixed targets are made whenever the students are not augmented"
            return None, {TOKENS: splits.x_train, TEACHER_LOGITS: logits}, None
        return self.teacher_model(), splits.x_train, batches

    def student_pair(self, seed_index: int, splits: Splits, logits: np.ndarray | None, teacher_splits: Splits) -> None:
        """The distilled student and its scratch twin, from the same initial weights."""
        c = self.config
        seed = c.train.seed + seed_index
        params = param_count(c.student, c.data.vocab_size)
        initial = initial_student_weights(c, seed)
        loss = DistillationLoss(c.distill.alpha, c.distill.temperature, c.distill.scale_t2)

        arm = arm_name("student", seed_index)
        checkpoint = ArmCheckpoint(self.checkpoints, arm)
        state = checkpoint.load()
        if not state.finished:
            student = self._fresh_student("student", initial)
            teacher, x, batches = self.distilled_inputs(splits, teacher_splits, logits, seed)
            distiller = Distiller(student, teacher, loss)
            # the student's own optimizer does the training, so student.keras carries its real state
            distiller.compile(optimizer=student.optimizer,
                              metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], jit_compile=self.jit)
            state = train_arm(self.spec(arm, student, distiller, x, splits, c.train.epochs, seed, batches), checkpoint,
                              self.reporter, self.tick_interval)
            self.finish_arm(arm, student, state, checkpoint, splits, params, len(splits.y_train))
        self.record(arm, state)

        if not c.train.train_scratch:
            return
        arm = arm_name("scratch", seed_index)
        checkpoint = ArmCheckpoint(self.checkpoints, arm)
        state = checkpoint.load()
        if not state.finished and not self._reuse_scratch(seed_index, arm, checkpoint):
            scratch = self._fresh_student("scratch", initial)
            batches = self.augmented_batches(splits, teacher_splits, seed, None)
            state = train_arm(self.spec(arm, scratch, scratch, splits.x_train, splits, c.train.epochs, seed, batches),
                              checkpoint, self.reporter, self.tick_interval)
            self.finish_arm(arm, scratch, state, checkpoint, splits, params, len(splits.y_train))
        if arm not in self.reused_scratch:
            self._publish_scratch(seed_index, arm, checkpoint)  # also a resumed run's, if not offered yet
        self.record(arm, checkpoint.load())

    def _baseline_dir(self, seed_index: int) -> Path:
        """The config's scratch key plus where and with what it trains: another device or Keras is another result."""
        where = json.dumps([self.device, keras.__version__, keras.backend.backend(), str(self.jit),
                            BASELINE_FORMAT])
        return baselines_dir(self.home) / (self.config.scratch_key(seed_index) + "-" +
                                           hashlib.sha256(where.encode()).hexdigest()[:8])

    def _reuse_scratch(self, seed_index: int, arm: str, checkpoint: ArmCheckpoint) -> bool:
        """Take an identical scratch student's result from an earlier run; its curves are replayed."""
        folder = self._baseline_dir(seed_index)
        if not (folder / "scratch.json").exists():  # (not ArmCheckpoint: it would create the folder)
            return False
        state = ArmState(**json.loads((folder / "scratch.json").read_text()))
        if not state.finished:
            return False
        if arm in SAVED_ARMS:
            model_file = folder / "scratch.keras"
            if not model_file.exists():
                return False
            shutil.copyfile(model_file, self.folder / f"{arm}.keras")
        self.log(f"{arm}: reused the identical scratch student of an earlier run (same student, data, seed, "
                 f"training settings and device; {folder.name}).")
        checkpoint.clear_weights()  # an interrupted attempt at this arm leaves nothing behind
        self.reporter.report(ProgressEvent("arm_start", arm, 0, 1, 1, state.epochs_done,
                                           message="reused from an identical earlier run, not trained"))
        for row in state.history:
            epoch = int(row["epoch"])
            self.reporter.report(ProgressEvent("epoch_end", arm, epoch, 1, 1, state.epochs_done,
                                               {k: v for k, v in row.items() if k != "epoch"}))
        checkpoint.save_state(state)
        assert state.result is not None
        self.reporter.report(ProgressEvent("arm_end", arm, state.epochs_done, 0, 0, state.epochs_done,
                                           {"test_accuracy": state.result["test_accuracy"],
                                            "test_loss": state.result["test_loss"]}))
        self.reused_scratch.append(arm)
        return True

    def _publish_scratch(self, seed_index: int, arm: str, checkpoint: ArmCheckpoint) -> None:
        """Offer a finished scratch student to later runs that would train the same one."""
        target = self._baseline_dir(seed_index)
        if target.exists():
            return
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkpoint.state_path, tmp / "scratch.json")
        if arm in SAVED_ARMS:
            shutil.copyfile(self.folder / f"{arm}.keras", tmp / "scratch.keras")
        try:
            os.replace(tmp, target)
        except OSError:  # another run published the same baseline first
            shutil.rmtree(tmp, ignore_errors=True)

    def _fresh_student(self, name: str, initial: list[np.ndarray]) -> keras.Model:
        c = self.config
        model = build_classifier(c.student, c.data.vocab_size, c.data.maxlen, name)
        model.set_weights(initial)
        return compile_classifier(model, c.train.learning_rate, self.jit)

    # -- outputs ---------------------------------------------------------------------------
    def write_metrics(self) -> None:
        with open(self.folder / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for arm, history in self.histories.items():
                for row in history:
                    writer.writerow({**row, "arm": arm, "epoch": int(row["epoch"]) + 1})


def logits_file(config: RunConfig) -> str:
    """Where a run keeps its teacher's soft targets, named after what the teacher read to make them.

    A run resumed with another ``distill.teacher_view`` (``kdcore run --run-id ... --set``) then
    finds no targets and makes them again, instead of distilling from the other view's.
    """
    if config.distill.teacher_view == "own":
        return "teacher_logits.npy"
    return f"teacher_logits-student{config.data.maxlen}.npy"


def _without_optimizer(model: keras.Model) -> keras.Model:
    """An uncompiled copy with the same weights: a teacher is reused and downloaded, never trained on.

    Adam keeps two slots per weight, so for the n-gram teacher's 17M-row-weight tables this
    makes the file (and every cached copy) a third of the size.
    """
    copy = keras.Model.from_config(model.get_config())  # not clone_model: it copies the compiled optimizer too
    copy.set_weights(model.get_weights())
    return copy


def initial_student_weights(config: RunConfig, seed: int) -> list[np.ndarray]:
    """The weights both the distilled and the scratch student start from: a function of the seed only."""
    keras.utils.set_random_seed(seed)
    return build_classifier(config.student, config.data.vocab_size, config.data.maxlen, "student").get_weights()


def _read_history(state_file: Path) -> list[dict[str, float]]:
    """The per-epoch history of a teacher trained elsewhere, so its curves and best epoch show here too."""
    if not state_file.exists():
        return []
    return json.loads(state_file.read_text()).get("history", [])


def _best_index(history: list[dict[str, float]], monitor: str) -> int | None:
    values = [row.get(monitor) for row in history]
    if not values or any(v is None for v in values):
        return None
    pick = min if monitor == "val_loss" else max
    return values.index(pick(values))


def _check_compatible(earlier: dict[str, Any], config: RunConfig) -> None:
    """A teacher trained on other inputs cannot be distilled from: say which field differs."""
    try:
        theirs = stored_config(earlier)
    except ConfigError as e:
        raise ValueError(f"teacher_from: the earlier run's config no longer validates ({e})") from e
    if theirs.data.vocab_size != config.data.vocab_size:
        raise ValueError(f"teacher_from: the earlier run used data.vocab_size={theirs.data.vocab_size}, this run "
                         f"{config.data.vocab_size}; they must match")
    if theirs.data.teacher_length != config.data.teacher_length:
        raise ValueError(f"teacher_from: the earlier run's teacher read {theirs.data.teacher_length} tokens per review, "
                         f"this run's would read {config.data.teacher_length} (data.teacher_maxlen, else data.maxlen); "
                         f"set data.teacher_maxlen={theirs.data.teacher_length}")
    if theirs.teacher != config.teacher:
        raise ValueError("teacher_from: the earlier run's teacher (family and sizes) differs from this run's teacher "
                         "fields; set the teacher fields to the earlier run's")


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _finished_seconds(run_dir: Path) -> float | None:
    """``total_seconds`` of the summary an earlier, finished call wrote here, if any."""
    try:
        return float(json.loads((run_dir / "summary.json").read_text())["total_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _set_precision(mode: str) -> str:
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy({"off": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}[mode])
    return previous


def run_experiment(config: RunConfig, run_dir: Path, reporter: Reporter | None = None, *,
                   home: Path | None = None, tick_interval: float = 0.5, students: bool = True) -> dict[str, Any]:
    """Run (or resume) the experiment in ``run_dir`` and return its summary (also ``summary.json``).

    ``reporter`` receives progress events and is asked between batches whether to stop;
    if it says so, :class:`~kdcore.progress.RunCancelled` is raised and finished arms'
    artifacts stay on disk. ``students=False`` trains (or reuses) the teacher only, to
    measure teachers or fill the teacher cache for later runs.
    """
    reporter = reporter or NullReporter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save(run_dir / "config.json")
    earlier_seconds = _finished_seconds(run_dir)
    started = time.monotonic()
    previous_policy = _set_precision(config.train.mixed_precision)
    try:
        device = device_description()
        exp = _Experiment(config, run_dir, reporter, home, tick_interval, device)
        d = config.data
        views = load_split_views(d, config.train.seed, {d.maxlen, d.teacher_length})
        splits = views[d.maxlen]
        lengths = (f"{d.maxlen} tokens" if d.teacher_length == d.maxlen
                   else f"{d.teacher_length} tokens for the teacher, {d.maxlen} for the students")
        exp.log(f"Device: {device}. Data: {len(splits.y_train):,} train, {len(splits.y_val):,} validation "
                f"({d.validate_on}), {len(splits.y_test):,} test reviews from {splits.source}; {lengths}.")
        logits = exp.teacher_logits(views[d.teacher_length], splits)
        for seed_index in range(config.train.seeds if students else 0):
            exp.student_pair(seed_index, splits, logits, views[d.teacher_length])
    finally:
        keras.config.set_dtype_policy(previous_policy)
    summarise.add_comparisons(exp.arms)
    seeds = summarise.compare_arms(exp.arms)
    result = {
        "device": device,
        # a finished run read back again keeps the time it took, not the seconds of the reading
        "total_seconds": (earlier_seconds if exp.trained_arms == 0 and earlier_seconds is not None
                          else time.monotonic() - started),
        "teacher_reused": exp.teacher_source not in ("trained", "resumed"),
        "teacher_source": exp.teacher_source,
        "teacher_key": config.teacher_key(),
        "scratch_reused": exp.reused_scratch,
        "data": {"train": len(splits.y_train), "val": len(splits.y_val), "test": len(splits.y_test),
                 "validate_on": config.data.validate_on, "source": splits.source},
        "compression": config.compression(),
        "arms": exp.arms,
        "seeds": seeds,
        "verdict": summarise.verdict(exp.arms, seeds),
    }
    exp.write_metrics()
    (run_dir / "summary.json").write_text(json.dumps(result, indent=2))
    exp.log(result["verdict"])
    return result
