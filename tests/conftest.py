"""Shared fixtures: tiny learnable IMDB-shaped data, an isolated kdcore home, tiny configs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdcore.config import RunConfig
from kdcore.samples import write_synthetic_imdb
from kdcore.store import RunStore

SHARED_IMDB_ENV = "KDCORE_IMDB_PATH"
SHARED_DATA_ENV = "KDCORE_SHARED_DATA"


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


def _shared_file(relative: str) -> Path:
    """A file of the shared data folder: $KDCORE_SHARED_DATA, else the folder two above $KDCORE_IMDB_PATH (CI)."""
    root = os.environ.get(SHARED_DATA_ENV)
    if not root and os.environ.get(SHARED_IMDB_ENV):
        root = str(Path(os.environ[SHARED_IMDB_ENV]).resolve().parents[1])
    path = Path(root or "/nonexistent") / relative
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the shared data file {relative} is missing (${SHARED_DATA_ENV}={root!r})")
        pytest.skip(f"set ${SHARED_DATA_ENV} (or ${SHARED_IMDB_ENV}) to run this test on {relative}")
    return path


@pytest.fixture(scope="session")
def shared_tweets() -> Path:
    """The real 3-class tweets CSV (not UTF-8, CRLF, string labels); read-only."""
    return _shared_file("tweets/tweets_3class.csv")


@pytest.fixture(scope="session")
def shared_imdb_csv() -> Path:
    """IMDB's raw review texts (split, label, rating, id, text), gzip-compressed; read-only."""
    return _shared_file("imdb/imdb_reviews.csv.gz")


@pytest.fixture
def kd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty kdcore home for this test, also exported as $KDCORE_HOME."""
    home = tmp_path / "kdhome"
    home.mkdir()
    monkeypatch.setenv("KDCORE_HOME", str(home))
    return home


@pytest.fixture
def store(kd_home: Path) -> Iterator[RunStore]:
    """The run store of ``kd_home``, closed after the test."""
    with RunStore(kd_home) as s:
        yield s


@pytest.fixture
def running(store: RunStore) -> str:
    """A run named ``unit`` claimed by worker ``w1``."""
    run_id = store.create_run(RunConfig(name="unit"))
    store.register_worker("w1")
    assert store.claim_next("w1") is not None, "fixture: the queued run should be claimable"
    return run_id
