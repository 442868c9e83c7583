"""The augmented transfer set: what the student is shown, that it is reproducible, and runs that use it."""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest

from kdcore.config import ConfigError, RunConfig, apply_overrides, config_from_dict, stored_config
from kdcore.engine.augment import AugmentedBatches, augment_rows
from kdcore.engine.data import OOV_CHAR, START_CHAR, pad, repad
from kdcore.engine.distill import TEACHER_TOKENS, TOKENS
from kdcore.engine.pipeline import run_experiment
from kdcore.paths import teachers_dir
from kdcore.progress import RunCancelled
from kdcore.samples import StopAt, tiny_config

WIDTH, WIDE = 5, 12


def views(reviews: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    seqs = [np.array(r, dtype=np.int32) for r in reviews]
    return pad(seqs, WIDTH), pad(seqs, WIDE)


LONG = [1] + list(range(10, 20))  # 11 tokens: longer than the student's 5
SHORT = [1, 30, 31, 32]


def test_augment_rows__off_is_the_students_view():
    student, teacher = views([LONG, SHORT])
    out = augment_rows(student, teacher, 0.0, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, student)
    assert out is not student, "a copy: the cached view must never change"


def test_augment_rows__windows_are_stretches_of_the_review():
    # given a long review, always windowed
    student, teacher = views([LONG] * 200)
    out = augment_rows(student, teacher, 1.0, 0.0, np.random.default_rng(0))
    # then each row is a contiguous stretch of the review, and different stretches are drawn
    starts = set()
    for row in out:
        start = LONG.index(int(row[0]))
        assert list(row) == LONG[start:start + WIDTH], f"not a stretch of the review: {row}"
        starts.add(start)
    assert starts == set(range(len(LONG) - WIDTH + 1)), "every start, the first word's and the last stretch's included"


def test_augment_rows__short_reviews_are_never_windowed():
    student, teacher = views([SHORT] * 50)
    out = augment_rows(student, teacher, 1.0, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, student)


def test_augment_rows__window_chance_is_respected():
    student, teacher = views([LONG] * 4000)
    out = augment_rows(student, teacher, 0.3, 0.0, np.random.default_rng(0))
    moved = np.mean(np.any(out != student, axis=1))
    # a window may land on the last stretch (1 start in 7), which looks unchanged
    assert moved == pytest.approx(0.3 * 6 / 7, abs=0.03)


def test_augment_rows__mask_hits_words_only():
    student, teacher = views([LONG[:4], LONG] * 2000)
    out = augment_rows(student, teacher, 0.0, 0.2, np.random.default_rng(0))
    hit = out != student
    assert np.all(out[hit] == OOV_CHAR)
    assert not np.any(hit & (student == 0)), "padding stays padding"
    assert not np.any(hit & (student == START_CHAR)), "the start token stays"
    words = student > START_CHAR
    assert hit[words].mean() == pytest.approx(0.2, abs=0.01)


def batches(first_epoch: int, n: int = 70, batch: int = 16) -> AugmentedBatches:
    student, teacher = views([LONG if i % 2 else SHORT for i in range(n)])
    labels = np.arange(n, dtype=np.int32)  # the label says which row a batch holds
    return AugmentedBatches(student, teacher, labels, batch, seed=3, first_epoch=first_epoch, window=0.5, mask=0.1,
                            teacher_length=WIDE)


def test_augmented_batches__each_epoch_shows_every_row_once_in_a_new_order():
    data = batches(0)
    assert data.steps == 5 and data.num_batches is None
    epochs = [np.concatenate([data[e * data.steps + s][1] for s in range(data.steps)]) for e in range(2)]
    for rows in epochs:
        assert sorted(rows) == list(range(70))
    assert list(epochs[0]) != list(epochs[1]), "each epoch shuffles anew"


def test_augmented_batches__a_batch_depends_on_its_epoch_and_step_only():
    # given the batches of a fit from epoch 0 and of one resumed at epoch 1
    first, resumed = batches(0), batches(1)
    later = first[first.steps + 2]
    _ = [first[i] for i in range(3)]  # Keras reads batches ahead to learn their shapes: it changes nothing
    again = resumed[2]
    # then the resumed fit sees the batch the first would have shown at that step
    np.testing.assert_array_equal(later[1], again[1])
    np.testing.assert_array_equal(later[0][TOKENS], again[0][TOKENS])
    np.testing.assert_array_equal(first[first.steps + 2][0][TOKENS], later[0][TOKENS])
    # and another epoch's copy of a row is altered differently
    assert not np.array_equal(first[2][0][TOKENS], later[0][TOKENS])


def test_augmented_batches__the_teacher_reads_the_students_tokens():
    x, _ = batches(0)[1]
    assert x[TOKENS].shape == (16, WIDTH) and x[TEACHER_TOKENS].shape == (16, WIDE)
    np.testing.assert_array_equal(x[TEACHER_TOKENS], repad(x[TOKENS], WIDE))


class Recorded(AugmentedBatches):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[int] = []

    def __getitem__(self, index: int):
        self.asked.append(index)
        return super().__getitem__(index)


def test_augmented_batches__keras_fit_reads_every_step_in_order_across_epochs():
    # given an endless dataset fitted for epochs 1 and 2 of 3 (a resumed arm)
    student, teacher = views([LONG] * 40)
    data = Recorded(student, teacher, np.zeros(40, dtype=np.int32), 16, seed=0, first_epoch=1, window=0.5, mask=0.1,
                    teacher_length=None)
    model = keras.Sequential([keras.Input((WIDTH,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(data, verbose=0, **data.fit_arguments(3))
    # then after Keras' look ahead at the first batches, training asks for steps 0, 1, 2, ... in order
    assert len(history.history["loss"]) == 2, "only the two remaining epochs"
    start = len(data.asked) - data.asked[::-1].index(0) - 1
    in_order = data.asked[start:]
    assert in_order[:2 * data.steps] == list(range(2 * data.steps)), data.asked
    assert in_order == list(range(len(in_order))), f"no step skipped or repeated: {data.asked}"


def test_augmented_batches__fit_runs_the_remaining_epochs():
    assert batches(1).fit_arguments(3) == {"steps_per_epoch": 5, "epochs": 3, "initial_epoch": 1,
                                               "shuffle": False}


@pytest.mark.parametrize(("overrides", "field"), [
    (["teacher=conv", "distill.teacher_view=own", "distill.augment_mask=0.1"], "distill.teacher_view"),
    (["teacher=ngram", "distill.augment_mask=0.6"], "distill.augment_mask"),
    (["teacher=ngram", "distill.augment_window=-0.1"], "distill.augment_window"),
])
def test_config__bad_augmentation_is_refused_by_name(overrides, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        apply_overrides(RunConfig(), overrides)


def test_config__augmentation_with_a_teacher_that_reads_what_the_student_reads():
    # the recurrent recipe's teacher reads the student's 200 tokens: its own view is the student's
    config = apply_overrides(RunConfig(), ["distill.augment_mask=0.1", "distill.augment_window=0.5"])
    assert config.distill.teacher_view == "own" and config.augmentation() == (0.0, 0.1), \
        "no longer view to cut windows from: only the mask acts"


def test_config__the_ngram_recipe_augments_unless_the_user_wants_the_teachers_own_view():
    recipe = apply_overrides(RunConfig(), ["teacher=ngram"])
    assert (recipe.distill.teacher_view, recipe.augmentation()) == ("student", (1.0, 0.2)), "the measured recipe"
    for own in (apply_overrides(RunConfig(), ["teacher=ngram", "distill.teacher_view=own"]),
                config_from_dict({"teacher": {"family": "ngram"}, "distill": {"teacher_view": "own"}})):
        assert (own.distill.teacher_view, own.augmentation()) == ("own", (0.0, 0.0)), \
            "the user's own view wins over the recipe's augmentation, which needs the student's"
    mine = config_from_dict({"teacher": {"family": "conv"}, "distill": {"augment_mask": 0.2}})
    assert (mine.distill.teacher_view, mine.augmentation()) == ("student", (0.0, 0.2)), \
        "and the user's augmentation wins over the recipe's own view"


def test_config__switching_family_keeps_the_users_augmentation_valid():
    # given an n-gram teacher with the user's own augmentation
    mine = apply_overrides(RunConfig(), ["teacher=ngram", "distill.augment_mask=0.15"])
    # when the teacher becomes convolutional (whose recipe makes targets from its own view)
    switched = apply_overrides(mine, ["teacher=conv"])
    # then the augmentation stays, and so does the view it needs
    assert (switched.distill.augment_mask, switched.distill.teacher_view) == (0.15, "student")
    # and without augmentation of the user's, the view follows the new family's recipe
    assert apply_overrides(apply_overrides(RunConfig(), ["teacher=ngram", "distill.augment_mask=0"]),
                           ["teacher=conv"]).distill.teacher_view == "own"


def test_config__augmentation_keys_the_scratch_student_not_the_teacher():
    plain = apply_overrides(RunConfig(), ["teacher=ngram", "distill.augment_window=0", "distill.augment_mask=0"])
    augmented = apply_overrides(RunConfig(), ["teacher=ngram", "distill.augment_window=0.5",
                                              "distill.augment_mask=0.1"])
    other = apply_overrides(RunConfig(), ["teacher=ngram", "distill.augment_window=0.5", "distill.augment_mask=0.2"])
    assert augmented.distill.augmented and not plain.distill.augmented
    assert augmented.teacher_key() == plain.teacher_key(), "the teacher trains on plain reviews either way"
    assert len({plain.scratch_key(0), augmented.scratch_key(0), other.scratch_key(0)}) == 3, \
        "the scratch twin sees the altered reviews: another baseline for each augmentation"
    assert augmented.scratch_key(0) == apply_overrides(augmented, ["distill.alpha=0.3"]).scratch_key(0)


def test_stored_config__a_run_from_before_augmentation_reads_back_without_it():
    raw = apply_overrides(RunConfig(), ["teacher=ngram"]).model_dump(mode="json")
    for field in ("augment_window", "augment_mask"):
        del raw["distill"][field]
    assert not stored_config(raw).distill.augmented


AUGMENTED = ("teacher=tiny-ngram", "data.maxlen=20", "data.teacher_maxlen=40", "distill.teacher_view=student",
             "distill.augment_window=0.5", "distill.augment_mask=0.1", "train.teacher_epochs=2", "train.seed=11")


@pytest.mark.slow
def test_run_experiment__augmented_student_trains_and_resumes_as_if_never_stopped(synthetic_imdb, tmp_path):
    # given the same augmented run twice: once straight through, once stopped in the student's second epoch
    config = tiny_config(synthetic_imdb, *AUGMENTED)
    straight = run_experiment(config, tmp_path / "runs" / "straight", home=tmp_path, tick_interval=0.0)
    folder = tmp_path / "runs" / "stopped"
    with pytest.raises(RunCancelled):
        run_experiment(config, folder, StopAt("student", 1), home=tmp_path, tick_interval=0.0)
    resumed = run_experiment(config, folder, home=tmp_path, tick_interval=0.0)
    # then the student trained on the augmented set, with its loss terms, and learned
    history = straight["arms"]["student"]
    assert history["epochs_trained"] == 2
    assert straight["arms"]["student"]["test_accuracy"] > 0.7, straight["arms"]
    # and the resumed student (its teacher read back from teacher.keras) saw the very same batches
    assert resumed["teacher_source"] == "resumed"
    assert not list(folder.glob("checkpoints/teacher_logits*")), "fixed targets no augmented student reads"
    a = keras.models.load_model(tmp_path / "runs" / "straight" / "student.keras").get_weights()
    b = keras.models.load_model(folder / "student.keras").get_weights()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    metrics = (tmp_path / "runs" / "straight" / "metrics.csv").read_text()
    assert "distill_loss" in metrics.splitlines()[0]
    # and the scratch twin (augmented too) was shared through the baseline cache
    assert resumed["scratch_reused"] == ["scratch"]
    assert resumed["arms"]["scratch"]["test_accuracy"] == straight["arms"]["scratch"]["test_accuracy"]


@pytest.mark.slow
def test_run_experiment__augmented_alpha_one_student_equals_its_scratch_twin(synthetic_imdb, tmp_path):
    # given alpha=1: the distilled student learns from the true labels alone, on the altered reviews
    config = tiny_config(synthetic_imdb, *AUGMENTED, "distill.alpha=1.0", "train.epochs=1")
    run_experiment(config, tmp_path / "runs" / "a1", home=tmp_path, tick_interval=0.0)
    # then it trains exactly as the scratch twin: the same altered reviews, in the same order
    student = keras.models.load_model(tmp_path / "runs" / "a1" / "student.keras").get_weights()
    scratch = keras.models.load_model(tmp_path / "runs" / "a1" / "scratch.keras").get_weights()
    for s, r in zip(student, scratch):
        np.testing.assert_allclose(s, r, atol=1e-5)
    plain = tiny_config(synthetic_imdb, *AUGMENTED[:4], "distill.alpha=1.0", "train.epochs=1")
    run_experiment(plain, tmp_path / "runs" / "plain", home=tmp_path, tick_interval=0.0)
    unaltered = keras.models.load_model(tmp_path / "runs" / "plain" / "scratch.keras").get_weights()
    assert not all(np.allclose(s, u) for s, u in zip(scratch, unaltered)), "and not as a scratch on plain reviews"


@pytest.mark.slow
def test_run_experiment__targets_lost_before_saving_are_made_again_by_the_runs_own_teacher(synthetic_imdb, tmp_path):
    # given a run stopped in its student's first epoch, that then lost its soft targets and the
    # teacher cache: as if it died between saving its teacher and saving the targets
    config = tiny_config(synthetic_imdb, "train.epochs=1", "train.train_scratch=false")
    straight = run_experiment(config, tmp_path / "straight" / "run", home=tmp_path / "straight", tick_interval=0.0)
    home = tmp_path / "stopped"
    with pytest.raises(RunCancelled):
        run_experiment(config, home / "run", StopAt("student", 0), home=home, tick_interval=0.0)
    for lost in [*(home / "run" / "checkpoints").glob("teacher_logits*"), *teachers_dir(home).iterdir()]:
        shutil.rmtree(lost) if lost.is_dir() else lost.unlink()
    resumed = run_experiment(config, home / "run", home=home, tick_interval=0.0)
    # then the targets come from the teacher the run trained, not from a new, untrained one
    assert resumed["teacher_source"] == "resumed"
    assert resumed["arms"]["student"]["test_accuracy"] == straight["arms"]["student"]["test_accuracy"]
    a = keras.models.load_model(tmp_path / "straight" / "run" / "student.keras").get_weights()
    b = keras.models.load_model(home / "run" / "student.keras").get_weights()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
