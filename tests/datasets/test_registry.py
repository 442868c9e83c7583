"""The registry on disk: one folder per content hash, written atomically, renamed, listed, deleted."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from kdcore.config import DATASET_ID_PATTERN, RunConfig
from kdcore.datasets import (
    IMDB_BUILTIN,
    DatasetError,
    Manifest,
    ReadOptions,
    delete,
    get_manifest,
    list_datasets,
    load_rows,
    register,
    register_frame,
    rename,
)
from kdcore.datasets import registry as registry_module
from kdcore.datasets.manifest import MANIFEST_VERSION
from kdcore.store import RunStore
from tests.datasets.helpers import rows_csv, stored, write


def tiny_frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"text {i} {lab}" for i, lab in enumerate("ab" * n)], "label": ["a", "b"] * n})


def test_register__writes_rows_and_manifest(home: Path, tmp_path: Path):
    manifest = register(home, write(tmp_path / "reviews.csv", rows_csv()), name="My reviews")
    folder = home / "datasets" / manifest.id
    assert re.fullmatch(DATASET_ID_PATTERN, manifest.id), "the id is what data.dataset accepts"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "rows.parquet"], "two files, no temp"
    on_disk = json.loads((folder / "manifest.json").read_text())
    assert on_disk["version"] == MANIFEST_VERSION and on_disk["classes"] == ["neg", "pos"], on_disk
    assert manifest.source_name == "reviews.csv" and len(manifest.source_sha256) == 64, manifest
    assert manifest.split_sizes == {"train": 6, "val": 2, "test": 2}, "per class of 5: 1 val, 1 test (the minimum)"
    rows = load_rows(home, manifest.id)
    assert list(rows.columns) == ["text", "label", "split"] and str(rows["label"].dtype) == "int32", rows.dtypes


def test_register__same_content_twice_is_one_dataset(home: Path, tmp_path: Path):
    # given the same rows under two file names, and a first registration with a name
    first = register(home, write(tmp_path / "a.csv", rows_csv()), name="first")
    second = register(home, write(tmp_path / "b.csv", rows_csv()), name="second")
    assert second.id == first.id and second.name == "first", "the existing dataset is returned, its name kept"
    assert stored(home) == [first.id], "one folder"


def test_register__different_seed_is_a_different_dataset(home: Path, tmp_path: Path):
    source = write(tmp_path / "a.csv", rows_csv(n_per_class=20))
    assert register(home, source).id != register(home, source, ReadOptions(seed=1)).id, "the split is content"


def test_register_frame__tiny_dataset(home: Path):
    manifest = register_frame(home, tiny_frame(), name="tiny")
    assert manifest.classes == ("a", "b") and manifest.rows == 12 and manifest.source_name == "frame", manifest
    assert register_frame(home, tiny_frame(), name="again").id == manifest.id, "same frame, same id"


def test_register_frame__split_column_is_used(home: Path):
    frame = tiny_frame(4).assign(split=["train"] * 4 + ["val"] * 2 + ["test"] * 2)
    manifest = register_frame(home, frame, name="split")
    assert manifest.split_sizes == {"train": 4, "val": 2, "test": 2}, manifest.split_sizes


def test_register__failure_while_writing_leaves_nothing(home: Path, tmp_path: Path, monkeypatch):
    # given a disk that fails while the manifest is written
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(registry_module.json, "dumps", broken)
    with pytest.raises(OSError):
        register(home, write(tmp_path / "a.csv", rows_csv()))
    assert stored(home) == [], "the temporary folder is removed"


def test_rename__keeps_the_id(home: Path):
    manifest = register_frame(home, tiny_frame(), name="old")
    renamed = rename(home, manifest.id, "  New   name ")
    assert renamed.id == manifest.id and renamed.name == "New name", renamed
    assert get_manifest(home, manifest.id).name == "New name", "written to disk"
    with pytest.raises(DatasetError, match="name"):
        rename(home, manifest.id, "   ")


def test_list_datasets__newest_first_with_builtin(home: Path, tmp_path: Path):
    assert list_datasets(home) == [] and list_datasets(home, builtin=True) == [IMDB_BUILTIN], "empty home"
    manifest = register_frame(home, tiny_frame(), name="one")
    listed = list_datasets(home, builtin=True)
    assert [m.id for m in listed] == ["imdb", manifest.id], listed
    assert IMDB_BUILTIN.num_classes == 2 and get_manifest(home, "imdb") is IMDB_BUILTIN


def test_get_manifest__unknown_or_unsafe_id_is_refused(home: Path):
    for bad in ("0123456789abcdef", "../../etc/passwd"):
        with pytest.raises(DatasetError, match="dataset"):
            get_manifest(home, bad)


def test_delete__removes_the_folder(home: Path):
    manifest = register_frame(home, tiny_frame(), name="gone")
    delete(home, manifest.id)
    assert stored(home) == [] and list_datasets(home) == [], "nothing left"
    with pytest.raises(DatasetError):
        load_rows(home, manifest.id)


def test_delete__refused_while_a_run_uses_it(home: Path):
    # given a queued run on the dataset
    manifest = register_frame(home, tiny_frame(), name="busy")
    config = RunConfig.model_validate({"data": {"dataset": manifest.id}})
    with RunStore(home) as store:
        run_id = store.create_run(config)
        store.create_run(RunConfig())  # an IMDB run: not listed
        in_use = store.active_datasets()
    assert in_use == {manifest.id: [run_id]}, in_use
    with pytest.raises(DatasetError) as info:
        delete(home, manifest.id, in_use=in_use[manifest.id])
    assert run_id in str(info.value) and manifest.id in str(info.value), str(info.value)
    assert stored(home) == [manifest.id], "the dataset stays"


def test_active_datasets__finished_runs_do_not_count(home: Path):
    manifest = register_frame(home, tiny_frame(), name="done")
    config = RunConfig.model_validate({"data": {"dataset": manifest.id}})
    with RunStore(home) as store:
        run_id = store.create_run(config)
        store.request_cancel(run_id)
        assert store.active_datasets() == {}, "a cancelled run does not hold its dataset"


def test_manifest__round_trips_and_refuses_damage():
    data = IMDB_BUILTIN.to_dict()
    assert Manifest.from_dict(data) == IMDB_BUILTIN, "to_dict/from_dict round trip"
    with pytest.raises(DatasetError, match="damaged"):
        Manifest.from_dict({"id": "x"})


def test_delete__accepts_the_whole_in_use_mapping(home: Path):
    manifest = register_frame(home, tiny_frame(), name="free")
    delete(home, manifest.id, in_use={"0123456789abcdef": ["run-1"]})
    assert stored(home) == [], "another dataset's runs do not hold this one"


def test_register__removes_stale_temporary_folders(home: Path):
    # given a temporary folder left two hours ago by a killed process, and a fresh one being written now
    stale, fresh = home / "datasets" / ".tmp-old-1", home / "datasets" / ".tmp-new-2"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    manifest = register_frame(home, tiny_frame(), name="x")
    assert stored(home) == [".tmp-new-2", manifest.id], "the stale one removed, the fresh one left alone"
