"""RunRecord: a row whose config or summary is not valid JSON reads as a damaged record, never an exception."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kdcore import paths
from kdcore.config import RunConfig
from kdcore.store import RunStore
from kdcore.store.records import DamagedRecord


def plant(kd_home: Path, run_id: str, column: str, text: str) -> None:
    """Overwrite one column of one row behind the store's back, as a bad tool or a torn disk would."""
    with sqlite3.connect(paths.store_path(kd_home)) as db:
        db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (text, run_id))


@pytest.mark.parametrize("text", ['{"name": "cut off', "", "\x00\xff binary", "[1, 2]", "null"],
                         ids=["truncated", "empty", "binary", "a-list", "null"])
def test_run_record__damaged_config_lists_as_damaged(kd_home: Path, store: RunStore, text: str) -> None:
    # given: a healthy run and one whose config column is not a JSON object
    healthy = store.create_run(RunConfig(name="healthy"), run_id="run-healthy")
    broken = store.create_run(RunConfig(name="broken"), run_id="run-broken")
    plant(kd_home, broken, "config", text)

    # when
    listed = {r.id: r for r in store.list_runs()}
    record = store.get_run(broken)

    # then
    assert set(listed) == {healthy, broken}, f"both rows are listed: {sorted(listed)}"
    assert listed[healthy].damage is None and not listed[healthy].damaged, "the healthy run is not damaged"
    assert record is not None and record.damaged, "the broken run is marked damaged"
    assert "config" in record.damage, f"the damage names the column: {record.damage}"
    assert record.config == {}, f"a damaged config reads as empty: {record.config}"
    assert record.name == "broken" and record.status == "queued", "the rest of the row is intact"


def test_run_record__damaged_config_cannot_be_run_with_defaults(kd_home: Path, store: RunStore) -> None:
    # given: a queued run whose config is damaged
    run_id = store.create_run(RunConfig(name="broken"))
    plant(kd_home, run_id, "config", "{not json")

    # when: a worker claims it
    claimed = store.claim_next("w1")

    # then: the claim works, and asking for its config is a clear error naming the run
    assert claimed is not None and claimed.id == run_id, "the damaged run can still be claimed (and then failed)"
    with pytest.raises(DamagedRecord) as error:
        claimed.run_config()
    assert run_id in str(error.value) and "not valid JSON" in str(error.value), f"clear message: {error.value}"
    assert isinstance(error.value, ValueError), "a ValueError, so callers that catch bad configs catch it"


def test_run_record__damaged_summary(kd_home: Path, store: RunStore) -> None:
    # given: a run whose summary column is garbage
    run_id = store.create_run(RunConfig(name="done"))
    plant(kd_home, run_id, "summary", "{'python': 'repr'}")

    # when
    record = store.get_run(run_id)

    # then: the config still reads, the summary is dropped and the damage says so
    assert record is not None and record.summary is None, "a damaged summary reads as none"
    assert record.config.get("name") == "done", "the config is unaffected"
    assert record.damaged and "summary" in record.damage, f"the damage names the summary: {record.damage}"
