"""Shared fixtures: tiny learnable IMDB-shaped data, an isolated kdcore home, tiny configs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kdcore.config import RunConfig, apply_overrides

SHARED_IMDB_ENV = "KDCORE_IMDB_PATH"


def write_synthetic_imdb(path: Path, n_train: int = 400, n_test: int = 200, seed: int = 0) -> Path:
    """Write an npz in Keras' IMDB layout whose labels a tiny model can learn.

    Reviews are lists of word ranks (no offsets applied, as in Keras' file). Positive
    reviews carry several of ranks 10-19, negative ones several of ranks 20-29, both
    mixed with common filler words, so sentiment is a function of the tokens.
    """
    rng = np.random.default_rng(seed)

    def reviews(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2, size=n)
        xs = []
        for label in labels:
            length = int(rng.integers(15, 40))
            filler = rng.integers(30, 200, size=length)
            cue = rng.integers(10, 20, size=6) if label else rng.integers(20, 30, size=6)
            where = rng.choice(length, size=6, replace=False)
            filler[where] = cue
            xs.append([int(v) for v in filler])
        x = np.empty(n, dtype=object)
        x[:] = xs
        return x, labels.astype(np.int64)

    x_train, y_train = reviews(n_train)
    x_test, y_test = reviews(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture(scope="session")
def synthetic_imdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small learnable dataset in Keras' IMDB npz layout (read-only: do not modify)."""
    return write_synthetic_imdb(tmp_path_factory.mktemp("data") / "synthetic_imdb.npz")


@pytest.fixture(scope="session")
def shared_imdb() -> Path:
    """The real IMDB file named by $KDCORE_IMDB_PATH (CI sets it); skipped when absent locally."""
    value = os.environ.get(SHARED_IMDB_ENV)
    if not value or not Path(value).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"${SHARED_IMDB_ENV} must point at imdb.npz in CI (got {value!r})")
        pytest.skip(f"set ${SHARED_IMDB_ENV} to the IMDB npz file to run this test")
    return Path(value)


@pytest.fixture
def kd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty kdcore home for this test, also exported as $KDCORE_HOME."""
    home = tmp_path / "kdhome"
    home.mkdir()
    monkeypatch.setenv("KDCORE_HOME", str(home))
    return home


def tiny_config(data_path: Path, *extra: str) -> RunConfig:
    """A config that trains all three arms on synthetic data in seconds on a CPU."""
    return apply_overrides(
        RunConfig(),
        [
            f"data.path={data_path}",
            "data.vocab_size=200",
            "data.maxlen=40",
            "teacher.embedding_dim=16",
            "teacher.lstm_units=8",
            "teacher.gru_units=8",
            "student=tiny",
            "train.epochs=2",
            "train.batch_size=32",
            "train.learning_rate=0.01",
            "train.jit_compile=off",
            *extra,
        ],
    )
