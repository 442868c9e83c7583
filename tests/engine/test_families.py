"""Teacher families: config and recipes, parameter counts, building, training, saving, distilling."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kdcore.config import (
    FAMILIES,
    FAMILY_RECIPES,
    PRESETS,
    SIZE_PRESETS,
    ConfigError,
    ConvSize,
    NgramSize,
    RecurrentSize,
    RunConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    param_count,
)
from kdcore.engine.data import load_split_views, repad
from kdcore.engine.distill import TEACHER_LOGITS, TEACHER_TOKENS, TOKENS, DistillationLoss, Distiller, teacher_logits
from kdcore.engine.families import builder
from kdcore.engine.families.ngram import bigram_multiplier, hashed_bigrams
from kdcore.engine.models import build_classifier, compile_classifier
from kdcore.engine.optimizers import make_optimizer
from kdcore.samples import tiny_config

# -- config ----------------------------------------------------------------------------------


def test_config__a_family_brings_its_recipe_unless_a_field_is_given():
    # given / when: the n-gram teacher chosen three ways
    from_dict = config_from_dict({"teacher": {"family": "ngram"}})
    from_preset = apply_overrides(RunConfig(), ["teacher=ngram"])
    with_own_alpha = apply_overrides(RunConfig(), ["distill.alpha=0.5", "teacher.family=ngram"])

    # then: its recipe, except what the user set
    recipe = FAMILY_RECIPES["ngram"]
    for config in (from_dict, from_preset):
        assert config.data.teacher_maxlen == recipe["data.teacher_maxlen"], "the family's longer view"
        assert config.train.teacher_epochs == recipe["train.teacher_epochs"], "the family's epochs"
        assert config.distill.teacher_view == recipe["distill.teacher_view"] == "student", "targets from its words"
    assert with_own_alpha.distill.alpha == 0.5, "an explicit setting beats the recipe, in any order"
    assert from_preset.teacher == NgramSize(), "teacher=ngram is the family's default sizes"


def test_config__a_family_switch_keeps_what_the_config_file_set(tmp_path: Path):
    # given a config file that sets alpha and the teacher's length itself
    path = tmp_path / "run.yaml"
    path.write_text("distill: {alpha: 0.5}\ndata: {teacher_maxlen: 300}\n")

    # when the family is switched on the command line
    config = apply_overrides(load_config(path), ["teacher.family=ngram"])

    # then the file's values stay and only the untouched recipe field follows the family
    assert (config.distill.alpha, config.data.teacher_maxlen) == (0.5, 300), "the user's values stay"
    assert config.train.teacher_epochs == FAMILY_RECIPES["ngram"]["train.teacher_epochs"], "the rest follows"


def test_config__a_recipe_never_makes_the_teacher_read_less_than_the_student():
    for config in (apply_overrides(RunConfig(), ["data.maxlen=800", "teacher=ngram"]),
                   config_from_dict({"teacher": "ngram", "data": {"maxlen": 800}})):
        assert config.data.teacher_length == 800, f"{config.data}"


def test_config__a_longer_student_follows_through_family_switches():
    ngram = apply_overrides(RunConfig(), ["teacher=ngram"])
    conv = apply_overrides(ngram, ["teacher=conv", "data.maxlen=500"])
    assert conv.data.teacher_length == 500, "the recipe's 400 meant 'at least the student's length'"


def test_config__overrides_that_choose_two_families_are_refused():
    with pytest.raises(ConfigError, match="choose different families"):
        apply_overrides(RunConfig(), ["teacher=tiny-conv", "teacher.family=ngram"])
    agreeing = apply_overrides(RunConfig(), ["teacher.family=conv", "teacher=tiny-conv"])
    assert agreeing.teacher == SIZE_PRESETS["tiny-conv"], "a preset and its own family agree"


def test_config__switching_family_back_restores_the_notebook_recipe():
    ngram = apply_overrides(RunConfig(), ["teacher.family=ngram"])
    back = apply_overrides(ngram, ["teacher.family=recurrent"])
    assert back == RunConfig(), "recurrent again: the notebook's teacher and settings"


def test_config__without_a_family_a_config_is_the_notebooks():
    # an older config.json has no family field: it still means the recurrent teacher, unchanged
    old = {"teacher": {"embedding_dim": 128, "lstm_units": 64, "gru_units": 128}, "data": {"maxlen": 200}}
    config = config_from_dict(old)
    assert config.teacher.family == "recurrent" and config.data.teacher_maxlen is None
    assert config.data.teacher_length == 200, "the teacher reads the students' length"


@pytest.mark.parametrize(("raw", "words"), [
    pytest.param({"teacher": {"family": "transformer"}}, "teacher.family: unknown family 'transformer'; "
                 "allowed: recurrent, ngram, conv", id="unknown-family"),
    pytest.param({"teacher": {"family": "ngram", "lstm_units": 8}}, "teacher.lstm_units: unknown field",
                 id="other-familys-field"),
    pytest.param({"teacher": {"family": "ngram", "bigram_buckets": 1}}, "teacher.bigram_buckets: Input should be "
                 "greater than or equal to 2", id="one-bucket"),
    pytest.param({"teacher": {"family": "conv", "kernel_sizes": "3,x"}}, "teacher.kernel_sizes: give kernel widths",
                 id="width-not-a-number"),
    pytest.param({"teacher": {"family": "conv", "kernel_sizes": [0, 65]}}, "teacher.kernel_sizes: each kernel width "
                 "must be between 1 and 64, not 0, 65", id="width-out-of-range"),
    pytest.param({"teacher": {"family": "conv", "kernel_sizes": []}}, "teacher.kernel_sizes: ", id="no-widths"),
    # issue 20: a student may be of any family, refused by name like the teacher where its sizes cannot be
    pytest.param({"student": {"family": "ngram", "lstm_units": 8}}, "student.lstm_units: unknown field",
                 id="student-other-familys-field"),
    pytest.param({"student": {"family": "transformer"}}, "student.family: unknown family 'transformer'; "
                 "allowed: recurrent, ngram, conv", id="student-unknown-family"),
    pytest.param({"student": {"family": "conv", "kernel_sizes": [0]}}, "student.kernel_sizes: each kernel width "
                 "must be between 1 and 64, not 0", id="student-width-out-of-range"),
    pytest.param({"student": "transformer"}, "student: unknown preset 'transformer'; allowed: notebook-teacher, "
                 "notebook-student, small-student, tiny, ngram", id="student-unknown-preset"),
    pytest.param({"data": {"teacher_maxlen": 0}}, "data.teacher_maxlen: Input should be greater than or equal to 1",
                 id="teacher-maxlen-0"),
    pytest.param({"teacher": "ngram", "data": None}, "data: Input should be a valid dictionary", id="data-null"),
])
def test_config__bad_family_settings_are_refused_by_name(raw, words):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw)
    assert any(p.startswith(words) for p in caught.value.problems), f"{words!r} not in {caught.value.problems}"


def test_config__kernel_widths_from_text():
    config = apply_overrides(RunConfig(), ["teacher=conv", "teacher.kernel_sizes=2, 5,7"])
    assert config.teacher.kernel_sizes == (2, 5, 7)


def test_teacher_key__depends_on_family_sizes_and_teacher_length_only():
    base = apply_overrides(RunConfig(), ["teacher=ngram"])
    assert base.teacher_key() != RunConfig().teacher_key(), "another family is another teacher"
    assert base.teacher_key() != apply_overrides(base, ["teacher.bigram_buckets=1024"]).teacher_key()
    assert base.teacher_key() != apply_overrides(base, ["data.teacher_maxlen=300"]).teacher_key()
    assert base.teacher_key() == apply_overrides(base, ["data.maxlen=100", "distill.alpha=0.5"]).teacher_key(), \
        "the student's length and the distillation settings do not change the teacher"


# -- parameter counts and the models ----------------------------------------------------------

SIZES = [
    pytest.param(NgramSize(embedding_dim=3, bigram_buckets=17), 101, id="ngram-3x17"),
    pytest.param(NgramSize(embedding_dim=8, bigram_buckets=2, dropout=0.5), 50, id="ngram-2-buckets"),
    pytest.param(NgramSize(), 20000, id="ngram-default"),
    pytest.param(ConvSize(embedding_dim=5, filters=3, kernel_sizes=(1,)), 60, id="conv-one-width"),
    pytest.param(ConvSize(embedding_dim=7, filters=4, kernel_sizes=(2, 2, 9), embedding_dropout=0.2), 300,
                 id="conv-repeated-width"),
    pytest.param(ConvSize(), 20000, id="conv-default"),
]


@pytest.mark.parametrize(("size", "vocab_size"), SIZES)
def test_param_count__equals_keras_for_every_family(size, vocab_size):
    model = build_classifier(size, vocab_size, 12, "teacher")
    assert param_count(size, vocab_size) == model.count_params(), f"param_count of {size}"


def test_param_count__ngram_default_is_mostly_the_bigram_table():
    size = NgramSize()
    assert param_count(size, 20000) == 20000 * 64 + 2**18 * 64 + 2 * 64 + 2 == 18_057_346


# -- the registry and the engine agree -------------------------------------------------------

#: Every family's small presets: the ones built and trained where a test needs each family.
TEST_PRESETS = [name for name, preset in PRESETS.items() if preset.for_tests]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_registry__each_builder_resolves_to_the_function_it_names(family: str):
    # given the registry's dotted name for the family's builder
    module, _, function = FAMILIES[family].builder.partition(":")

    # when the engine resolves it
    build = builder(family)

    # then it is that function
    assert callable(build), f"{family}: {FAMILIES[family].builder} is callable"
    assert (build.__module__, build.__name__) == (module, function), f"{family}: resolved {build}"


@pytest.mark.parametrize("size", [pytest.param(preset.size, id=name) for name, preset in PRESETS.items()])
def test_registry__each_preset_builds_a_model_of_the_registrys_count(size):
    # given a preset's sizes and its family's entry
    entry = FAMILIES[size.family]

    # when the family's builder makes the model, directly and through build_classifier
    model = builder(size.family)(size, 300, 16, "probe")
    classifier = build_classifier(size, 300, 16, "probe")

    # then Keras counts what the registry counts, and the model is a classifier of two float32 logits
    assert model.count_params() == entry.param_count(size, 300) == param_count(size, 300), f"count of {size}"
    assert classifier.count_params() == model.count_params(), "build_classifier builds with the family's builder"
    assert (tuple(model.input_shape), tuple(model.output_shape)) == ((None, 16), (None, 2)), "tokens in, 2 logits out"
    assert model.get_layer("logits").dtype_policy.compute_dtype == "float32", "the logits layer is float32"
    assert model.name == "probe", "the model carries the given name"


def test_registry__every_family_has_a_small_preset_for_tests():
    assert {SIZE_PRESETS[name].family for name in TEST_PRESETS} == set(FAMILIES), f"small presets: {TEST_PRESETS}"


@pytest.mark.parametrize("buckets", [2, 3, 64, 1000, 2**18, 2**22])
def test_bigram_hash__stays_inside_int32_and_the_table(buckets):
    rows = buckets - 1
    m = bigram_multiplier(buckets)
    assert (rows - 1) * m + (rows - 1) < 2**31, "no int32 overflow (JAX computes in int32)"
    assert math.gcd(m, rows) == 1 or rows == 1, "m coprime with the rows: no systematic collisions"
    tokens = np.array([[0, 0, 1, 999_999, 5, 999_998], [7, 3, 3, 2, 1, 999_999]], dtype="int32")
    ids = keras.ops.convert_to_numpy(hashed_bigrams(keras.ops.convert_to_tensor(tokens), buckets))
    assert ids.shape == (2, 5) and ids.min() >= 0 and ids.max() < buckets, f"ids inside the table: {ids}"
    assert (ids[0, :2] == 0).all() and (ids[0, 2:] > 0).all() and (ids[1] > 0).all(), "0 exactly at padding pairs"


def test_ngram__averages_real_unigrams_and_bigrams_only():
    # given an n-gram model and a review with padding in front
    size = NgramSize(embedding_dim=6, bigram_buckets=97)
    model = build_classifier(size, 50, 7, "t")
    review = np.array([[0, 0, 1, 5, 6, 7, 5]], dtype="int32")
    uni = model.get_layer("unigram_embedding").get_weights()[0]
    bi = model.get_layer("bigram_embedding").get_weights()[0]
    ids = keras.ops.convert_to_numpy(hashed_bigrams(keras.ops.convert_to_tensor(review), 97))[0]

    # when the mean is computed by hand over the 5 real tokens and their 4 pairs
    vectors = [uni[t] for t in review[0] if t] + [bi[i] for i in ids if i]
    kernel, bias = model.get_layer("logits").get_weights()
    want = np.mean(vectors, axis=0) @ kernel + bias

    # then the model's logits are that mean's
    assert len(vectors) == 9
    np.testing.assert_allclose(model.predict(review, verbose=0)[0], want, atol=1e-5)


SAVE_AND_LOAD = """
import sys, numpy as np, keras
x = np.load(sys.argv[1])
for path in sys.argv[2:]:
    model = keras.models.load_model(path)
    np.save(path + ".out.npy", model.predict(x[:, -model.input_shape[1]:], verbose=0))
assert not any(m.startswith("kdcore") for m in sys.modules), "kdcore must not be needed"
"""


def test_every_family__trains_a_step_saves_and_loads_with_plain_keras(tmp_path: Path):
    # given one small model per family, each trained one step on tiny data
    rng = np.random.default_rng(0)
    x = rng.integers(0, 60, size=(16, 20)).astype("int32")
    x[:4, :10] = 0  # some padding
    y = rng.integers(0, 2, size=16).astype("int32")
    paths, outputs = [], {}
    for preset in TEST_PRESETS:  # tiny, tiny-ngram, tiny-conv
        model = compile_classifier(build_classifier(SIZE_PRESETS[preset], 60, 20, preset.replace("-", "_")), 0.01,
                                   jit_compile=False)
        before = [w.copy() for w in model.get_weights()]
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
        assert np.isfinite(history["loss"][0]), f"{preset}: a finite loss"
        assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), f"{preset} learned"
        path = tmp_path / f"{preset}.keras"
        model.save(path)
        paths.append(str(path))
        outputs[str(path)] = model.predict(x, verbose=0)
    np.save(tmp_path / "x.npy", x)

    # when each is loaded in a fresh interpreter that cannot import kdcore
    done = subprocess.run([sys.executable, "-c", SAVE_AND_LOAD, str(tmp_path / "x.npy"), *paths], capture_output=True,
                          text=True, cwd="/", timeout=180, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})

    # then it loads with plain Keras and predicts what it predicted before saving
    assert done.returncode == 0, f"plain keras.models.load_model failed:\n{done.stderr[-2000:]}"
    for path, want in outputs.items():
        np.testing.assert_allclose(np.load(path + ".out.npy"), want, atol=1e-5, err_msg=path)


def test_distiller__live_teacher_reads_its_own_longer_view():
    # given a teacher that reads 30 tokens and a student that reads the last 12 of them
    rng = np.random.default_rng(1)
    long = rng.integers(1, 80, size=(8, 30)).astype("int32")
    short = long[:, -12:]
    y = rng.integers(0, 2, size=8).astype("int32")
    teacher = build_classifier(SIZE_PRESETS["tiny-ngram"], 80, 30, "teacher")
    student = build_classifier(RecurrentSize(embedding_dim=4, lstm_units=2, gru_units=2), 80, 12, "student")
    loss = DistillationLoss(0.3, 4.0)

    # when the loss is computed with the live teacher on its view, and with its cached logits
    live = Distiller(student, teacher, loss).compute_loss({TOKENS: short, TEACHER_TOKENS: long}, y, student(short))
    logits = teacher_logits(teacher, long, batch_size=64)
    cached = Distiller(student, None, loss).compute_loss({TOKENS: short, TEACHER_LOGITS: logits}, y, student(short))

    # then both are the same loss
    assert float(live) == pytest.approx(float(cached), rel=1e-5)


# -- the pipeline with another family --------------------------------------------------------


def test_logits_file__named_after_what_the_teacher_read():
    from kdcore.engine.teacher import logits_file

    base = apply_overrides(RunConfig(), ["teacher=ngram", "distill.teacher_view=own"])
    names = {logits_file(base), logits_file(apply_overrides(base, ["distill.teacher_view=student"])),
             logits_file(apply_overrides(base, ["distill.teacher_view=student", "data.maxlen=100"]))}
    assert len(names) == 3, f"each view of the reviews has its own soft-targets file: {names}"
    assert logits_file(apply_overrides(base, ["distill.alpha=0.3"])) == logits_file(base), "alpha is not a view"


@pytest.mark.slow
def test_run_experiment__ngram_teacher_with_its_own_length(synthetic_imdb, tmp_path: Path, monkeypatch):
    from kdcore.engine import models
    from kdcore.engine.pipeline import run_experiment
    from kdcore.engine.teacher import logits_file

    made: list[str] = []  # the optimizers the run compiles its arms with, in order
    monkeypatch.setattr(models, "make_optimizer", lambda name, rate: made.append(name) or make_optimizer(name, rate))

    # given an n-gram teacher that reads 60 tokens, students that read 40
    home = tmp_path / "home"
    config = tiny_config(synthetic_imdb, "teacher=tiny-ngram", "data.teacher_maxlen=60", "train.teacher_epochs=3",
                         "train.epochs=1", "distill.teacher_view=own")

    assert config.train.teacher_optimizer == "lazy_adam", "the family's recipe trains it with LazyAdam"

    # when the experiment runs
    summary = run_experiment(config, home / "runs" / "ng", home=home, tick_interval=0.0)
    assert made[0] == "lazy_adam" and set(made[1:]) == {"adam"}, f"the teacher trains with LazyAdam, no other: {made}"

    # then the teacher learned the task on its own view, and each saved model reads its own length
    folder = home / "runs" / "ng"
    teacher, student = (keras.models.load_model(folder / f"{arm}.keras") for arm in ("teacher", "student"))
    assert teacher.input_shape == (None, 60) and student.input_shape == (None, 40)
    assert summary["arms"]["teacher"]["params"] == param_count(config.teacher, 200) == teacher.count_params()
    assert summary["arms"]["teacher"]["test_accuracy"] > 0.8, "the synthetic task is learnable by bag of n-grams"
    assert getattr(teacher, "optimizer", None) is None, \
        "the teacher is saved without its optimizer's slots (a third of the bytes)"
    assert {"student", "scratch"} <= set(summary["arms"])

    # and a later run reuses it, by cache and by run id, with a check on the length it read
    consistent = apply_overrides(config, ["distill.alpha=0.5", "distill.teacher_view=student", "data.maxlen=20"])
    again = run_experiment(consistent, home / "runs" / "again", home=home)
    assert again["teacher_source"].startswith("cache")

    # and with teacher_view=student its soft targets come from the student's words (20 here), padded to its 60
    views = load_split_views(consistent.data, config.train.seed, {20, 60})
    own, consistent_logits = (np.load(home / "runs" / run / "checkpoints" / logits_file(cfg))
                              for run, cfg in (("ng", config), ("again", consistent)))
    np.testing.assert_allclose(own, teacher.predict(views[60].x_train, verbose=0), atol=1e-5)
    np.testing.assert_allclose(consistent_logits, teacher.predict(repad(views[20].x_train, 60), verbose=0), atol=1e-5)
    assert not np.allclose(own, consistent_logits, atol=1e-3), "the two views give different targets"
    by_id = apply_overrides(config, ["teacher_from=ng", "train.seed=3", "train.train_scratch=false"])
    assert run_experiment(by_id, home / "runs" / "by-id", home=home)["teacher_source"] == "run ng"
    with pytest.raises(ValueError, match="set data.teacher_maxlen=60"):
        run_experiment(apply_overrides(by_id, ["data.teacher_maxlen=50"]), home / "runs" / "bad", home=home)
    with pytest.raises(ValueError, match="family and sizes"):
        run_experiment(apply_overrides(by_id, ["teacher=tiny-conv", "data.teacher_maxlen=60"]), home / "runs" / "bad2",
                       home=home)
