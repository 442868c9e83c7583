"""One experiment end to end: teacher, its logits, distilled student, scratch student, evaluation.

The order is what makes the comparison fair and cheap: the teacher is trained (or reused)
once and keeps its best validation epoch; its logits on the training set are computed
once in large batches (with an augmented transfer set it labels each altered batch as the
student trains instead); then for each seed the distilled student and the scratch student
start from identical initial weights (a paired comparison) and train for the same epochs;
the test set is touched only at the end. Calling :func:`run_experiment` again on the same
folder after a crash resumes: finished arms are read back, the interrupted arm restarts
from its last finished epoch.

This module keeps the order only; each step is a module of its own: the teacher
(:mod:`~kdcore.engine.teacher`), the student pairs (:mod:`~kdcore.engine.students`, with the
scratch-baseline cache in :mod:`~kdcore.engine.baselines`), what every arm goes through
(:mod:`~kdcore.engine.context`), the device settings (:mod:`~kdcore.engine.device`) and the
run folder's records (:mod:`~kdcore.engine.run_files`), the compression report after the students
(:mod:`~kdcore.engine.deploy`); a registered dataset's texts become ids in
:mod:`~kdcore.engine.text`, and its raw-text student is exported by :mod:`~kdcore.engine.text_export`.
The worker names this module (``kdcore.engine.pipeline:run_experiment``) and takes its
:func:`device_description`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kdcore.config import DataConfig, RunConfig, param_count
from kdcore.datasets import Manifest
from kdcore.engine.context import RunContext
from kdcore.engine.data import Splits, load_split_views
from kdcore.engine.deploy import compression_report, earlier_report
from kdcore.engine.device import device_description, precision
from kdcore.engine.run_files import finished_seconds, write_metrics, write_summary
from kdcore.engine.students import Students
from kdcore.engine.teacher import Teacher
from kdcore.engine.text import dataset_manifest, write_run_vocabulary
from kdcore.engine.text_export import export_text_student
from kdcore.progress import NullReporter, Reporter, phase_event
from kdcore.results import DataCounts, Deployment
from kdcore.results import summary as summarise

__all__ = ["device_description", "run_experiment"]


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
    earlier_seconds = finished_seconds(run_dir)
    started = time.monotonic()
    with precision(config.train.mixed_precision):
        device = device_description()
        run = RunContext(config, run_dir, reporter, home, tick_interval, device)
        d = config.data
        reporter.report(phase_event("data"))
        views = load_split_views(d, config.train.seed, {d.maxlen, d.teacher_length}, home)
        splits = views[d.maxlen]
        manifest = _record_vocabulary(run_dir, d, splits, home)
        run.log(f"Device: {device}. {_data_line(d, splits)}")
        teacher = Teacher(run)
        logits = teacher.soft_targets(views[d.teacher_length], splits)
        pairs = Students(run, teacher)
        for seed_index in range(config.train.seeds if students else 0):
            pairs.train_pair(seed_index, splits, logits, views[d.teacher_length])
    if manifest is not None and students and splits.vocabulary is not None:
        export_text_student(run_dir, manifest, d, splits.vocabulary)  # outside the precision policy: plain float32
    report = _deployment(run, splits, students)  # outside the precision policy too: the saved float32 models
    result = _summary(run, teacher, pairs, splits, earlier_seconds, started, report)
    write_metrics(run_dir, run.histories)
    write_summary(run_dir, result)
    run.log(result["verdict"])
    return result


def _record_vocabulary(run_dir: Path, d: DataConfig, splits: Splits, home: Path | None) -> Manifest | None:
    """A registered dataset's manifest, after ``vocabulary.json`` has put the run's tokens and data in its folder."""
    if not d.registered or splits.vocabulary is None:
        return None
    manifest = dataset_manifest(d, home)
    write_run_vocabulary(run_dir, manifest, d, splits.vocabulary)
    return manifest


def _data_line(d: DataConfig, splits: Splits) -> str:
    """The run log's account of the data: how many reviews of each split, from where, how long."""
    lengths = (f"{d.maxlen} tokens" if d.teacher_length == d.maxlen
               else f"{d.teacher_length} tokens for the teacher, {d.maxlen} for the students")
    return (f"Data: {len(splits.y_train):,} train, {len(splits.y_val):,} validation ({d.validate_on}), "
            f"{len(splits.y_test):,} test reviews from {splits.source}; {lengths}.")


def _deployment(run: RunContext, splits: Splits, students: bool) -> Deployment | None:
    """The compression report (:mod:`~kdcore.engine.deploy`); a finished run read back keeps the one it has.

    A student stopped by a sweep's successive halving gets none: it is no candidate to deploy, and
    the report (conversions, timing) would cost a stopped point more than its training saved.
    """
    if not students or not run.config.report.enabled:
        return None
    if run.results.get("student", {}).get("pruned"):
        run.log("Compression report skipped: successive halving stopped this student.")
        return None
    if run.trained_arms == 0 and (earlier := earlier_report(run.folder)) is not None:
        return earlier
    run.reporter.report(phase_event("report"))
    return compression_report(run.folder, splits.x_test, splits.y_test, run.config.report,
                              run.results.get("student", {}).get("test_accuracy"), run.log, run.reporter.should_stop)


def _summary(run: RunContext, teacher: Teacher, pairs: Students, splits: Splits, earlier_seconds: float | None,
             started: float, deployment: Deployment | None = None) -> dict[str, Any]:
    """What the run reports (``summary.json``): the arms' results, their comparisons and the verdict."""
    config = run.config
    return summarise.summarise_run(
        run.results, device=run.device,
        # a finished run read back again keeps the time it took, not the seconds of the reading
        total_seconds=(earlier_seconds if run.trained_arms == 0 and earlier_seconds is not None
                       else time.monotonic() - started),
        teacher_source=teacher.source, teacher_key=config.teacher_key(), scratch_reused=pairs.baselines.reused,
        data=DataCounts(train=len(splits.y_train), val=len(splits.y_val), test=len(splits.y_test),
                        validate_on=config.data.validate_on, source=splits.source),
        compression=_compression(config, teacher, splits), evidence=run.evidence(splits),
        deployment=deployment).to_dict()


def _compression(config: RunConfig, teacher: Teacher, splits: Splits) -> float | None:
    """Teacher over student parameters: the config's for a teacher trained here, else the given model's count.

    Soft labels have no model, hence no count: None (shown as a dash).
    """
    if config.teacher_source.kind == "trained":
        return config.compression()
    if not teacher.params:
        return None
    return teacher.params / param_count(config.student, config.data.vocab_size, splits.num_classes)
