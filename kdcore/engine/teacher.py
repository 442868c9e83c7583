"""The run's teacher, wherever it comes from, and the soft targets the students learn from.

A teacher is the slow part of a run and does not depend on the distillation settings, so
it is trained once per teacher key and then reused: resumed from this run's folder,
taken from the shared cache (``<home>/teachers/<teacher key>``), or from an earlier run
named by ``teacher_from``. A teacher trained here is published to the cache for later runs.
Its logits on the training rows are computed once, in large batches, and kept beside the
checkpoints, so a resumed run does not compute them again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdcore.config import ConfigError, RunConfig, param_count, stored_config
from kdcore.engine.context import RunContext
from kdcore.engine.data import Splits, repad
from kdcore.engine.distill import teacher_logits
from kdcore.engine.files import atomic_save_npy, publish_folder
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.teacher_sources import TeacherSourceError, given_teacher, logits_model
from kdcore.engine.training import ArmCheckpoint, ArmState
from kdcore.paths import run_dir as run_folder
from kdcore.paths import teachers_dir
from kdcore.progress import phase_event


class Teacher:
    """Trains, resumes or reuses the run's teacher; hands its soft targets, or itself, to the students."""

    def __init__(self, run: RunContext):
        self.run = run
        #: Where the teacher came from: ``trained``, ``resumed``, ``cache <key>``, ``run <id>``, or a given
        #: teacher's description (``uploaded model t.keras``, ``soft labels from ...``, ``ensemble of 3: ...``).
        self.source = ""
        #: The teacher's parameters (the summary's compression); None for soft labels.
        self.params: int | None = None
        self._model: keras.Model | None = None  # kept only for students it labels on every step
        self._probabilities = False  # an uploaded model that outputs probabilities: wrapped to logs per step

    def soft_targets(self, splits: Splits, student_view: Splits) -> np.ndarray | None:
        """Train, resume or reuse the teacher; return its soft targets on the training rows.

        ``splits`` is the teacher's view of the data (padded to its own length), on which it
        trains; ``student_view`` the students'. Both hold the same rows, so the logits line up
        with the student's batches. With ``distill.teacher_view=student`` the teacher makes its
        targets from the student's words only (its view, padded to the teacher's length).
        Augmented students get None: the teacher labels each altered batch as they train, so a
        pass over the unaltered rows would be wasted.
        """
        c = self.run.config
        if c.teacher_source.kind != "trained":
            return self._given(splits, student_view)
        self.params = param_count(c.teacher, c.data.vocab_size, splits.num_classes)
        checkpoint = self.run.checkpoint("teacher")
        state = checkpoint.load()
        if state.finished and (self.run.folder / "teacher.keras").exists():
            return self._resumed(state, splits, student_view)
        teacher, state = self._reuse_or_train(checkpoint, splits)
        self.run.finish("teacher", teacher, state, checkpoint, splits, self.params)
        fixed_targets = not any(c.augmentation())
        logits = self._targets(teacher, splits, student_view) if fixed_targets else None
        if logits is not None:
            atomic_save_npy(self._logits_path(), logits)
        self._model = None if fixed_targets else teacher  # else its memory goes
        if self.source == "trained":
            self._publish(state)
        self.run.record("teacher", state)
        return logits

    def model(self) -> keras.Model:
        """The trained (or uploaded) teacher, for students whose targets it makes on every step."""
        if self._model is None:
            self._model = keras.models.load_model(self.run.folder / "teacher.keras", compile=False, safe_mode=True)
            if self._probabilities:
                self._model = logits_model(self._model)
        return self._model

    def _given(self, splits: Splits, student_view: Splits) -> np.ndarray | None:
        """A teacher not trained here: no training; its outputs on this run's rows, its test result recorded.

        An uploaded ``.keras`` is copied as the run's ``teacher.keras`` (so it is downloaded from the
        run, reused by ``teacher_from`` or an ensemble, and labels altered batches); soft labels and an
        ensemble have no single model, hence no ``teacher.keras``. With an augmented transfer set (a
        ``.keras`` teacher only, the config refuses the others) the model labels each altered batch.
        """
        c = self.run.config
        fixed_targets = not any(c.augmentation())
        self._phase("targets")
        given = given_teacher(c, splits, student_view, self.run.home, need_train=fixed_targets, log=self.run.log)
        if not fixed_targets and given.reads_text:
            raise TeacherSourceError("distill.augment_window and distill.augment_mask alter token ids, and this "
                                     "teacher reads raw text; set both to 0, or use a teacher that reads token ids")
        self.source, self.params, self._probabilities = given.description, given.params, given.probabilities
        file_bytes = given.file_bytes
        if c.teacher_source.kind == "keras" and given.model_file is not None:
            target = self.run.folder / "teacher.keras"
            shutil.copyfile(given.model_file, target.with_name("teacher.tmp.keras"))
            target.with_name("teacher.tmp.keras").replace(target)
            file_bytes = target.stat().st_size
        self.run.log(f"Teacher: {given.description}; no teacher training in this run.")
        self.run.record_given("teacher", splits, given.test, self.params, file_bytes)
        self._model = None
        return given.train if fixed_targets else None

    def _resumed(self, state: ArmState, splits: Splits, student_view: Splits) -> np.ndarray | None:
        """This run finished its teacher before: its result stands; its targets are read back (or made again)."""
        self.run.record("teacher", state)
        self.source = "resumed"
        self._model = None  # read back from teacher.keras if an augmented student needs it
        if any(self.run.config.augmentation()):
            return None
        logits_path = self._logits_path()
        if not logits_path.exists():  # stopped before they were saved, or resumed with another view
            atomic_save_npy(logits_path, self._targets(self.model(), splits, student_view))
            self._model = None
        return np.load(logits_path)

    def _reuse_or_train(self, checkpoint: ArmCheckpoint, splits: Splits) -> tuple[keras.Model, ArmState]:
        """A teacher from the cache or ``teacher_from`` with its recorded history, else one trained here."""
        c = self.run.config
        reused = self._reused()
        if reused is not None:
            teacher, self.source, history = reused
            self.run.log(f"Teacher reused from {self.source}; no teacher training in this run.")
            compile_classifier(teacher, c.train.learning_rate, self.run.jit)
            return teacher, ArmState(epochs_done=len(history), history=history,
                                     best_epoch=best_index(history, c.train.monitor))
        self.source = "trained"
        self._phase("teacher_model")
        keras.utils.set_random_seed(c.train.seed)
        model = build_classifier(c.teacher, c.data.vocab_size, c.data.teacher_length, "teacher", splits.num_classes,
                                 mask_padding=splits.padding == "post")
        teacher = compile_classifier(model, c.train.teacher_rate, self.run.jit, c.train.teacher_optimizer)
        state = self.run.train("teacher", checkpoint, teacher, teacher, splits.x_train, splits,
                               c.train.teacher_epoch_count, c.train.seed)
        return teacher, state

    def _reused(self) -> tuple[keras.Model, str, list[dict[str, float]]] | None:
        """(teacher, where from, its history) of ``teacher_from`` or the cache; None when neither has one."""
        c = self.run.config
        if c.teacher_from:
            earlier = run_folder(c.teacher_from, self.run.home)
            path = earlier / "teacher.keras"
            if not path.exists():
                raise ValueError(f"teacher_from: run {c.teacher_from!r} has no teacher.keras "
                                 "(did it finish its teacher?)")
            check_compatible(json.loads((earlier / "config.json").read_text()), c)
            history = read_history(earlier / "checkpoints" / "teacher.json")
            self._phase("teacher_earlier")
            return keras.models.load_model(path, compile=False, safe_mode=True), f"run {c.teacher_from}", history
        cached = self._cache_dir() / "teacher.keras"
        if cached.exists():
            history = read_history(self._cache_dir() / "teacher.json")
            self._phase("teacher_cached")
            return keras.models.load_model(cached, compile=False, safe_mode=True), f"cache {c.teacher_key()}", history
        return None

    def _targets(self, teacher: keras.Model, splits: Splits, student_view: Splits) -> np.ndarray:
        """The teacher's logits on the training rows, read from the view ``distill.teacher_view`` names."""
        c = self.run.config
        self._phase("targets")
        targets_from = (splits.x_train if c.distill.teacher_view == "own"
                        else repad(student_view.x_train, c.data.teacher_length, student_view.padding))
        return teacher_logits(teacher, targets_from, c.train.eval_batch_size)

    def _phase(self, phase: str) -> None:
        """Tell the Live page what the teacher step is doing before (or instead of) training batches."""
        self.run.reporter.report(phase_event(phase, "teacher"))

    def _logits_path(self) -> Path:
        return self.run.checkpoints / logits_file(self.run.config)

    def _cache_dir(self) -> Path:
        return teachers_dir(self.run.home) / self.run.config.teacher_key()

    def _publish(self, state: ArmState) -> None:
        """Put the trained teacher where later runs with the same teacher key find it."""

        def fill(folder: Path) -> None:
            shutil.copyfile(self.run.folder / "teacher.keras", folder / "teacher.keras")
            (folder / "teacher.json").write_text(json.dumps({"history": state.history,
                                                             "train_seconds": state.train_seconds}))

        publish_folder(self._cache_dir(), fill)


def logits_file(config: RunConfig) -> str:
    """Where a run keeps its teacher's soft targets, named after what the teacher read to make them.

    A run resumed with another ``distill.teacher_view`` (``kdcore run --run-id ... --set``) then
    finds no targets and makes them again, instead of distilling from the other view's.
    """
    if config.distill.teacher_view == "own":
        return "teacher_logits.npy"
    return f"teacher_logits-student{config.data.maxlen}.npy"


def read_history(state_file: Path) -> list[dict[str, float]]:
    """The per-epoch history of a teacher trained elsewhere, so its curves and best epoch show here too."""
    if not state_file.exists():
        return []
    return json.loads(state_file.read_text()).get("history", [])


def best_index(history: list[dict[str, float]], monitor: str) -> int | None:
    """The 0-based epoch a reused teacher kept, by the monitor of this run; None without that figure."""
    values = [row.get(monitor) for row in history]
    if not values or any(v is None for v in values):
        return None
    pick = min if monitor == "val_loss" else max
    return values.index(pick(values))


def check_compatible(earlier: dict[str, Any], config: RunConfig) -> None:
    """A teacher trained on other inputs cannot be distilled from: say which field differs."""
    try:
        theirs = stored_config(earlier)
    except ConfigError as e:
        raise ValueError(f"teacher_from: the earlier run's config no longer validates ({e})") from e
    mine = {"data.dataset": config.data.dataset, "data.standardize": config.data.standardize,
            "data.split": config.data.split} if config.data.registered else {"data.dataset": "imdb"}
    for name, value in mine.items():
        earlier_value = getattr(theirs.data, name.removeprefix("data."))
        if earlier_value != value:
            raise ValueError(f"teacher_from: the earlier run used {name}={earlier_value}, this run {value}; a "
                             "teacher reads the token ids of its own data, so they must match")
    if theirs.data.vocab_size != config.data.vocab_size:
        raise ValueError(f"teacher_from: the earlier run used data.vocab_size={theirs.data.vocab_size}, this run "
                         f"{config.data.vocab_size}; they must match")
    if theirs.data.teacher_length != config.data.teacher_length:
        raise ValueError(f"teacher_from: the earlier run's teacher read {theirs.data.teacher_length} tokens per "
                         f"review, this run's would read {config.data.teacher_length} (data.teacher_maxlen, else "
                         f"data.maxlen); set data.teacher_maxlen={theirs.data.teacher_length}")
    if theirs.teacher != config.teacher:
        raise ValueError("teacher_from: the earlier run's teacher (family and sizes) differs from this run's teacher "
                         "fields; set the teacher fields to the earlier run's")
