"""Cache keys: teacher_key and scratch_key change with what trains the model, and only with that."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcore.config import RunConfig, apply_overrides

# ----------------------------------------------------------------------------- teacher_key


@pytest.fixture(scope="session")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stand-in data files of different sizes (teacher_key only reads their name and size)."""
    folder = tmp_path_factory.mktemp("keyfiles")
    small, large = folder / "small" / "imdb.npz", folder / "large" / "imdb.npz"
    small.parent.mkdir()
    large.parent.mkdir()
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * 20)
    return small, large


@pytest.mark.parametrize("overrides", [
    pytest.param(["distill.alpha=0.9"], id="alpha"),
    pytest.param(["distill.temperature=2"], id="temperature"),
    pytest.param(["distill.scale_t2=false"], id="scale_t2"),
    pytest.param(["distill.teacher_view=student"], id="teacher_view"),
    pytest.param(["student=tiny"], id="student"),
    pytest.param(["data.test_limit=100"], id="test_limit"),
    pytest.param(["train.epochs=5", "train.teacher_epochs=3"], id="student-epochs-only"),
    pytest.param(["train.train_scratch=false", "train.seeds=3"], id="scratch-and-seeds"),
    pytest.param(["name=another", "train.jit_compile=off", "train.eval_batch_size=64"], id="not-weights"),
    pytest.param(["train.teacher_batch_size=32", "train.teacher_learning_rate=0.0003"], id="teacher-as-before"),
    pytest.param(["train.learning_rate=0.01"], id="students-rate-when-the-teacher-has-its-own"),
    pytest.param(["train.teacher_optimizer=adam"], id="teacher-optimizer-adam"),
])
def test_teacher_key(overrides: list[str]):
    # given: the default config and one that differs only where the teacher is not affected
    base = RunConfig()
    other = apply_overrides(base, overrides)

    # when / then
    assert other.teacher_key() == base.teacher_key(), f"{overrides} does not change the trained teacher"


@pytest.mark.parametrize("overrides", [
    pytest.param(["teacher=tiny"], id="teacher-size"),
    pytest.param(["teacher.dropout=0.1"], id="teacher-dropout"),
    pytest.param(["train.seed=1"], id="seed"),
    pytest.param(["train.epochs=4"], id="epochs"),
    pytest.param(["train.teacher_epochs=4"], id="teacher_epochs"),
    pytest.param(["data.vocab_size=10000"], id="vocab"),
    pytest.param(["data.maxlen=100"], id="maxlen"),
    pytest.param(["data.train_limit=1000"], id="train_limit"),
    pytest.param(["data.val_fraction=0.2"], id="val_fraction"),
    pytest.param(["train.batch_size=64"], id="batch_size"),
    pytest.param(["train.teacher_batch_size=128"], id="teacher_batch_size"),
    pytest.param(["train.teacher_learning_rate=0.001"], id="teacher_learning_rate"),
    pytest.param(["train.teacher_learning_rate=null", "train.learning_rate=0.01"], id="rate-shared-with-students"),
    pytest.param(["train.teacher_optimizer=lazy_adam"], id="teacher_optimizer"),
    pytest.param(["data.validate_on=test"], id="validate_on"),
])
def test_teacher_key__differs(overrides: list[str]):
    # given
    base = RunConfig()
    other = apply_overrides(base, overrides)

    # when / then
    assert other.teacher_key() != base.teacher_key(), f"{overrides} trains a different teacher"


def test_teacher_key__data_file(data_files: tuple[Path, Path]):
    # given: the same config on two different files, and on none
    small, large = data_files
    on_small = apply_overrides(RunConfig(), [f"data.path={small}"])
    on_large = apply_overrides(RunConfig(), [f"data.path={large}"])

    # when / then
    assert on_small.teacher_key() != on_large.teacher_key(), "another data file trains another teacher"
    assert on_small.teacher_key() != RunConfig().teacher_key(), "a named file differs from the default source"
    assert on_small.teacher_key() == apply_overrides(RunConfig(), [f"data.path={small}"]).teacher_key(), \
        "the same file gives the same key"


def test_teacher_key__test_limit_matters_when_validating_on_test():
    # given: the notebook's protocol, where the test set picks the best epoch
    base = apply_overrides(RunConfig(), ["data.validate_on=test"])
    limited = apply_overrides(base, ["data.test_limit=100"])

    # when / then
    assert limited.teacher_key() != base.teacher_key(), "with validate_on=test the test rows affect the teacher"


def test_teacher_key__stable_format():
    # given / when
    key = RunConfig().teacher_key()

    # then
    assert len(key) == 16 and all(c in "0123456789abcdef" for c in key), f"16 hex digits, got {key!r}"
    assert key == RunConfig().teacher_key(), "the same config gives the same key"


#: Keys as the code before the config's split into modules computed them. Cached teachers and
#: scratch students are found by these: a change that moves one makes every model cached under it
#: unreachable (retrained, silently), so a change of the key material must be a decision.
PINNED_KEYS = [
    pytest.param([], "6d6e1e5311038986", "81a0beff809a4d36", id="default"),
    pytest.param(["teacher=ngram"], "0c6c88ee46c7296b", "ce3e26aa4a069650", id="ngram"),
    pytest.param(["teacher=conv"], "38954bcc996d6d10", "81a0beff809a4d36", id="conv"),
    pytest.param(["teacher=ngram", "distill.augment_window=0.5", "distill.augment_mask=0.1"],
                 "0c6c88ee46c7296b", "58567c54b1db641d", id="augmented"),
    pytest.param(["teacher_from=20240101-000000-abcdef", "train.seed=3"],
                 "97b9677149d9a47f", "2f69b1094a07c672", id="teacher_from"),
    pytest.param(["data.validate_on=test", "data.test_limit=100"],
                 "410d945226a21263", "e2be30183f70a5bd", id="validate-on-test"),
    pytest.param(["train.teacher_optimizer=lazy_adam", "train.teacher_batch_size=64"],
                 "e7dc355c00d908a3", "81a0beff809a4d36", id="lazy-adam"),
]


@pytest.mark.parametrize("overrides, teacher, scratch", PINNED_KEYS)
def test_keys__are_the_ones_cached_models_were_stored_under(overrides: list[str], teacher: str, scratch: str):
    # given a config as a run would have it
    config = apply_overrides(RunConfig(), overrides)

    # when / then its keys are the ones earlier code stored its models under
    assert config.teacher_key() == teacher, f"{overrides}: the teacher key moved"
    assert config.scratch_key(0) == scratch, f"{overrides}: the scratch key moved"


def test_keys__of_a_named_data_file_are_pinned(data_files: tuple[Path, Path]):
    # given a config on a 10-byte file named imdb.npz (the key reads the name and size, not the folder)
    config = apply_overrides(RunConfig(), [f"data.path={data_files[0]}"])

    # when / then
    assert (config.teacher_key(), config.scratch_key(0)) == ("51aef15b8adce164", "a86d7cfa496c27fa"), \
        "a named file's keys are the ones earlier code stored its models under"


# ----------------------------------------------------------------------------- scratch_key


@pytest.mark.parametrize("overrides, same", [
    pytest.param(["distill.alpha=0.9", "distill.temperature=2", "distill.teacher_view=student"], True, id="distill"),
    pytest.param(["teacher=ngram", "train.teacher_epochs=5", "train.teacher_batch_size=128",
                  "train.teacher_learning_rate=0.0003", "train.teacher_optimizer=adam",
                  "distill.augment_window=0", "distill.augment_mask=0", "train.epochs=3"], True, id="teacher"),
    # the n-gram recipe augments the transfer set, and the scratch twin reads the same altered reviews
    # for as many epochs as the distilled student
    pytest.param(["teacher=ngram"], False, id="augmented"),
    pytest.param(["name=x", "train.seeds=5", "train.train_scratch=false"], True, id="not-this-seed"),
    pytest.param(["train.seed=1"], False, id="seed"),
    pytest.param(["train.epochs=4"], False, id="epochs"),
    pytest.param(["student.gru_units=8"], False, id="student-size"),
    pytest.param(["data.maxlen=100"], False, id="maxlen"),
    pytest.param(["train.monitor=val_accuracy"], False, id="monitor"),
])
def test_scratch_key__only_what_trains_the_scratch_student(overrides: list[str], same: bool):
    base = RunConfig()
    other = apply_overrides(base, overrides)
    assert (other.scratch_key(0) == base.scratch_key(0)) is same, f"{overrides}: same scratch student is {same}"
    assert base.scratch_key(1) != base.scratch_key(0), "each seed index is its own scratch student"
