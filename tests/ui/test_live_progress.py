"""kdcore.ui.progress: the Live page's epoch counter, time left and phase, from synthetic store rows."""

from __future__ import annotations

import pandas as pd
import pytest

from kdcore.config import RunConfig, apply_overrides
from kdcore.store import RunRecord
from kdcore.ui import progress as ui_progress

COLUMNS = ["arm", "kind", "epoch", "step", "fraction", "name", "value", "t"]


def record(config: RunConfig, **changes: object) -> RunRecord:
    base = dict(id="r1", name="", status="running", config=config.model_dump(), created_at=0.0,
                started_at=0.0, finished_at=None, worker_id="w", heartbeat_at=None, arm=None, epoch=None,
                step=None, steps=None, epochs=None, samples_per_s=None, device="CPU", error=None, traceback=None,
                summary=None, cancel_requested=False, attempts=1)
    return RunRecord(**{**base, **changes})


def arm_curve(arm: str, epochs_done: int, seconds_per_epoch: float, t0: float, *, steps: int = 10,
              partial: float = 0.0) -> list[tuple]:
    """Tick and epoch rows of one arm trained at a steady speed: ``epochs_done`` epochs, then ``partial`` of one."""
    rows, t = [], t0
    for epoch in range(epochs_done + (1 if partial else 0)):
        last = steps if epoch < epochs_done else round(partial * steps)
        for step in range(1, last + 1):
            t += seconds_per_epoch / steps
            rows.append((arm, "tick", epoch, step, epoch + step / steps, "loss", 0.5, t))
        if epoch < epochs_done:
            rows.append((arm, "epoch", epoch, steps, epoch + 1.0, "epoch_seconds", seconds_per_epoch, t))
            rows.append((arm, "epoch", epoch, steps, epoch + 1.0, "val_accuracy", 0.7, t))
    return rows


def test_epoch_text__the_counter_never_passes_the_planned_epochs() -> None:
    # given the record after a teacher's arm_end: the engine reports epoch = epochs done (2 of 2), step 0
    config = RunConfig()
    after_arm_end = record(config, arm="teacher", epoch=2, step=0, steps=0, epochs=2)
    after_three = record(config, arm="teacher", epoch=3, step=0, steps=0, epochs=3)
    training = record(config, arm="student", epoch=0, step=3, steps=10, epochs=2)
    # when the Live page writes the epoch counter
    # then it is at most the planned epochs, and counts the epoch in progress 1-based while training
    assert ui_progress.epoch_text(after_arm_end) == "2/2", "a cached teacher's arm_end said 'Epoch 3/2'"
    assert ui_progress.epoch_text(after_three) == "3/3", "after the teacher's last epoch it said '4/3'"
    assert ui_progress.epoch_text(training) == "1/2", "the epoch in progress, 1-based"
    assert ui_progress.epoch_text(record(config)) == "–", "nothing yet"


# (planned epochs, curves, the record's arm and position, now, seconds left, why)
TIME_LEFT_CASES = {
    # 100 s in, most of it spent loading data and training a slow teacher (30 s per epoch); the distilled
    # student trains at 5 s per epoch and is half-way through its second of 2; the scratch student has not
    # started: 0.5 + 2 epochs at 5 s
    "own speed": (["train.epochs=2", "train.teacher_epochs=2"],
                  arm_curve("teacher", 2, 30.0, t0=20.0) + arm_curve("student", 1, 5.0, t0=85.0, partial=0.5),
                  dict(arm="student", epoch=1, step=5, steps=10, epochs=2), 100.0, 12.5,
                  "the work left at the arms' measured speed, not the elapsed time scaled by epochs"),
    # a 2-seed run whose first distilled student took 4 s per epoch (the teacher 40 s): its scratch twin
    # and the second seed's pair, 3 epochs each, run at that student's speed: 3 x 3 x 4 s
    "sibling speed": (["train.epochs=3", "train.teacher_epochs=1", "train.seeds=2"],
                      arm_curve("teacher", 1, 40.0, t0=5.0) + arm_curve("student", 3, 4.0, t0=50.0),
                      dict(arm="scratch", epoch=0, step=0, steps=10, epochs=3), 63.0, 36.0,
                      "an arm not started takes a sibling arm's speed rather than the teacher's"),
}


def test_time_left__students_not_started_take_their_own_expected_pace_not_a_faster_teachers() -> None:
    # given an n-gram teacher that trained 2 epochs at 2 s each, and recurrent students not started yet,
    # whose expected pace (earlier runs, else the rough figure per family) is 20 s per epoch
    curves = pd.DataFrame(arm_curve("teacher", 2, 2.0, t0=1.0), columns=COLUMNS)
    rec = record(apply_overrides(RunConfig(), ["teacher=ngram", "train.epochs=3", "train.teacher_epochs=2"]),
                 arm="teacher", epoch=2, step=0, steps=0, epochs=2)
    prior = {"teacher": 2.0, "student": 20.0}
    # when the time left is estimated with and without that prior
    left = ui_progress.time_left(rec, ui_progress.arm_progress(rec, curves), now=10.0, curves=curves, prior=prior)
    borrowed = ui_progress.time_left(rec, ui_progress.arm_progress(rec, curves), now=10.0, curves=curves)
    # then the two students' 3 epochs each count at 20 s, not at the teacher's 2 s
    assert left == pytest.approx(2 * 3 * 20.0, rel=0.05), f"the students' own pace: 120 s, got {left}"
    assert borrowed == pytest.approx(2 * 3 * 2.0, rel=0.05), f"without a prior, the teacher's pace: {borrowed}"


def test_seconds_per_epoch_by_role__rough_per_family_without_earlier_runs() -> None:
    # given an n-gram teacher and the notebook student on 4,000 reviews (3,600 after validation), no earlier runs
    from kdcore.ui import estimate

    config = apply_overrides(RunConfig(), ["teacher=ngram", "data.train_limit=4000"]).model_dump()
    # when the expected seconds per epoch are asked for
    prior = estimate.seconds_per_epoch_by_role(config, {"teacher": 18_000_000, "student": 1_300_000}, [])
    # then each role is its reviews at its family's rough speed
    assert prior["teacher"] == pytest.approx(3600 / estimate.ROUGH_SAMPLES_PER_S["ngram"]), prior
    assert prior["student"] == pytest.approx(3600 / estimate.ROUGH_SAMPLES_PER_S["recurrent"]), prior


@pytest.mark.parametrize("case", list(TIME_LEFT_CASES))
def test_time_left__from_each_arms_measured_speed_and_the_work_left_in_every_arm(case: str) -> None:
    # given a running run's plan, its stored curves and the record's position (see TIME_LEFT_CASES)
    overrides, rows, position, now, expected, why = TIME_LEFT_CASES[case]
    curves = pd.DataFrame(rows, columns=COLUMNS)
    rec = record(apply_overrides(RunConfig(), overrides), **position)
    # when the time left is estimated
    left = ui_progress.time_left(rec, ui_progress.arm_progress(rec, curves), now=now, curves=curves)
    # then it is the work left in every arm at that arm's (or a sibling's) measured speed
    assert left is not None and left == pytest.approx(expected, rel=0.25), f"{why}: about {expected} s, got {left}"


def test_current_phase__the_latest_phase_until_training_starts() -> None:
    # given the events of a run that loaded its data, then is computing its teacher's targets
    events = [{"t": 1.0, "kind": "phase", "arm": None, "epoch": None, "text": "Loading data"},
              {"t": 4.0, "kind": "phase", "arm": "teacher", "epoch": None, "text": "Computing teacher targets"}]
    # when the page asks for the current phase
    phase = ui_progress.current_phase(events, now=10.0)
    # then it is the latest one, with how long it has been going on
    assert phase is not None and phase.label == "Computing teacher targets" and phase.seconds == pytest.approx(6.0)
    # and once an arm starts training, there is no phase to show beside the batch counter
    started = [*events, {"t": 5.0, "kind": "arm_start", "arm": "student", "epoch": 0, "text": "== student"}]
    assert ui_progress.current_phase(started, now=10.0) is None, "training shows its own progress"
