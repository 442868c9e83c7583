"""The distillation loss and the Distiller: the formula, the frozen teacher, cached == live."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kdcore.config import DataConfig, RecurrentSize
from kdcore.engine.data import load_splits
from kdcore.engine.distill import TEACHER_LOGITS, TOKENS, DistillationLoss, Distiller, teacher_logits
from kdcore.engine.models import build_classifier, compile_classifier

SMALL = RecurrentSize(embedding_dim=8, lstm_units=4, gru_units=4)


def numpy_distillation_loss(y, s, t, alpha, temperature, scale_t2):
    """The formula of docs/distillation.md, written independently in NumPy."""
    def log_softmax(z):
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    hard = -log_softmax(s)[np.arange(len(y)), y].mean()
    lp_t, lp_s = log_softmax(t / temperature), log_softmax(s / temperature)
    kl = (np.exp(lp_t) * (lp_t - lp_s)).sum(axis=-1).mean()
    factor = temperature**2 if scale_t2 else 1.0
    return alpha * hard + (1 - alpha) * factor * kl, hard, factor * kl


@pytest.fixture(scope="module")
def splits(synthetic_imdb):
    return load_splits(DataConfig(path=str(synthetic_imdb), vocab_size=200, maxlen=40), seed=0)


@pytest.mark.parametrize("scale_t2", [True, False])
@pytest.mark.parametrize(("alpha", "temperature"), [(0.1, 10.0), (0.5, 2.0), (0.0, 1.0), (1.0, 5.0)])
def test_distillation_loss__equals_numpy_formula(alpha, temperature, scale_t2):
    # given fixed logits and labels
    rng = np.random.default_rng(3)
    s = rng.normal(size=(16, 2)).astype("float32") * 3
    t = rng.normal(size=(16, 2)).astype("float32") * 3
    y = rng.integers(0, 2, size=16)
    # when the Keras loss is computed
    total, hard, soft = DistillationLoss(alpha, temperature, scale_t2)(y, s, t)
    # then it matches the NumPy computation term by term
    want_total, want_hard, want_soft = numpy_distillation_loss(y, s, t, alpha, temperature, scale_t2)
    np.testing.assert_allclose(float(hard), want_hard, rtol=1e-5, err_msg="hard (label) term")
    np.testing.assert_allclose(float(soft), want_soft, rtol=1e-4, atol=1e-7, err_msg="soft (teacher) term")
    np.testing.assert_allclose(float(total), want_total, rtol=1e-4, atol=1e-7, err_msg="total loss")


def test_distillation_loss__t2_factor_scales_soft_term_only():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    y = rng.integers(0, 2, size=8)
    _, hard_on, soft_on = DistillationLoss(0.3, 4.0, True)(y, s, t)
    _, hard_off, soft_off = DistillationLoss(0.3, 4.0, False)(y, s, t)
    assert float(hard_on) == pytest.approx(float(hard_off)), "T^2 must not touch the hard term"
    assert float(soft_on) == pytest.approx(16.0 * float(soft_off), rel=1e-5), "T^2 = 16 multiplies the soft term"


@pytest.mark.parametrize(("alpha", "temperature", "field"), [(-0.1, 1.0, "alpha"), (1.5, 1.0, "alpha"),
                                                             (0.5, 0.0, "temperature")])
def test_distillation_loss__rejects_bad_settings(alpha, temperature, field):
    with pytest.raises(ValueError, match=field):
        DistillationLoss(alpha, temperature)


def _models(vocab: int, maxlen: int, seed: int = 0) -> tuple[keras.Model, keras.Model]:
    keras.utils.set_random_seed(seed)
    teacher = build_classifier(RecurrentSize(embedding_dim=12, lstm_units=6, gru_units=6), vocab, maxlen, "teacher")
    student = build_classifier(SMALL, vocab, maxlen, "student")
    return teacher, student


def test_distiller__teacher_frozen_and_student_trained(splits):
    # given a live-teacher distiller
    teacher, student = _models(200, 40)
    teacher_before = [w.copy() for w in teacher.get_weights()]
    student_before = [w.copy() for w in student.get_weights()]
    distiller = Distiller(student, teacher, DistillationLoss(0.1, 10.0))
    distiller.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=False)
    # when it trains for an epoch
    distiller.fit(splits.x_train, splits.y_train, batch_size=32, epochs=1, verbose=0)
    # then only the student moved, and only the student is trainable
    for before, after in zip(teacher_before, teacher.get_weights()):
        assert np.array_equal(before, after), "teacher weights must be bit-identical after distillation"
    changed = [not np.array_equal(b, a) for b, a in zip(student_before, student.get_weights())]
    assert all(changed), "every student weight tensor must have been updated"
    assert {id(v) for v in distiller.trainable_weights} == {id(v) for v in student.trainable_weights}, \
        "the distiller's trainable weights must be exactly the student's"


def test_distiller__reports_meaningful_metrics(splits):
    teacher, student = _models(200, 40)
    distiller = Distiller(student, teacher, DistillationLoss(0.25, 3.0))
    distiller.compile(optimizer=keras.optimizers.Adam(0.01),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], jit_compile=False)
    history = distiller.fit(splits.x_train[:64], splits.y_train[:64], batch_size=64, epochs=1, verbose=0).history
    assert {"loss", "accuracy", "hard_loss", "distill_loss"} <= set(history), f"metrics reported: {set(history)}"
    # with one batch the reported loss is exactly alpha*hard + (1-alpha)*distill of that batch
    want = 0.25 * history["hard_loss"][0] + 0.75 * history["distill_loss"][0]
    assert history["loss"][0] == pytest.approx(want, rel=1e-5), "loss must be the total being minimised"


def test_distiller__cached_logits_equal_live_teacher(splits):
    # given a teacher, a student, and one batch
    teacher, student = _models(200, 40)
    x, y = splits.x_train[:32], splits.y_train[:32]
    loss = DistillationLoss(0.1, 10.0)
    live = Distiller(student, teacher, loss)
    cached = Distiller(student, None, loss)
    logits = teacher_logits(teacher, x, batch_size=1000)
    # when the loss is computed both ways
    live_loss = float(live.compute_loss(x, y, student(x), training=False))
    cached_loss = float(cached.compute_loss({TOKENS: x, TEACHER_LOGITS: logits}, y, student(x), training=False))
    # then they agree
    assert cached_loss == pytest.approx(live_loss, rel=1e-5), "cached-logit loss must equal live-teacher loss"


def test_distiller__without_teacher_or_logits_fails_clearly(splits):
    _, student = _models(200, 40)
    with pytest.raises(ValueError, match="teacher_logits"):
        Distiller(student, None, DistillationLoss(0.1, 10.0)).compute_loss(splits.x_train[:4], splits.y_train[:4])


def test_distiller__refuses_same_model_as_teacher_and_student():
    _, student = _models(200, 40)
    with pytest.raises(ValueError, match="different"):
        Distiller(student, student, DistillationLoss(0.1, 10.0))


def _agreement_after_distillation(splits, swap: bool) -> float:
    """Train a teacher on *inverted* labels, distil with alpha=0, measure student-teacher agreement.

    The inverted task means agreement cannot come from the labels: only from the teacher.
    ``swap`` reproduces the notebook's bug (teacher and student exchanged in ``__init__``).
    """
    teacher, student = _models(200, 40, seed=1)
    compile_classifier(teacher, 0.01, jit_compile=False)
    teacher.fit(splits.x_train, 1 - splits.y_train, batch_size=32, epochs=4, verbose=0)
    t_pred = teacher_logits(teacher, splits.x_test, 1000).argmax(-1)  # the teacher as it was handed over
    roles = (teacher, student) if swap else (student, teacher)
    distiller = Distiller(roles[0], roles[1], DistillationLoss(alpha=0.0, temperature=2.0))
    distiller.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=False)
    distiller.fit(splits.x_train, splits.y_train, batch_size=32, epochs=6, verbose=0)
    s_pred = teacher_logits(student, splits.x_test, 1000).argmax(-1)
    return float((t_pred == s_pred).mean())


@pytest.mark.slow
def test_distiller__alpha_zero_student_copies_teacher(splits):
    # given a teacher that learnt the opposite of the labels, and alpha=0 (teacher only)
    # when the student is distilled, then it agrees with the teacher far more than chance (0.5)
    agreement = _agreement_after_distillation(splits, swap=False)
    assert agreement > 0.9, f"student agrees with teacher on {agreement:.0%} of test reviews"


@pytest.mark.slow
def test_distiller__swapped_roles_are_caught(splits):
    # given the notebook's bug (roles swapped), the same check must fail: the student never trains
    agreement = _agreement_after_distillation(splits, swap=True)
    assert agreement < 0.9, f"with swapped roles the agreement check must fail, got {agreement:.0%}"
