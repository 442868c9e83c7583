"""The engine's atomic writes: a file is the old one or the whole new one; a shared cache entry is published once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdcore.engine.files import atomic_save_npy, atomic_write_text, publish_folder


def test_atomic_writes__replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    # given: files that exist already
    text, array = tmp_path / "arm.json", tmp_path / "teacher_logits.npy"
    text.write_text("old")
    np.save(array, np.zeros(2))
    # when: they are written again
    atomic_write_text(text, "new")
    atomic_save_npy(array, np.arange(3.0))
    # then: each holds the new content, and nothing else is left in the folder
    assert text.read_text() == "new", "the text file is replaced"
    np.testing.assert_array_equal(np.load(array), np.arange(3.0), err_msg="the array file is replaced")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm.json", "teacher_logits.npy"], "no temporary left"


def test_publish_folder__the_first_publisher_wins(tmp_path: Path) -> None:
    # given: a cache entry published once
    target = tmp_path / "cache" / "key"

    def fill_with(content: str):
        return lambda folder: (folder / "model.txt").write_text(content)

    publish_folder(target, fill_with("first"))
    # when: another run publishes the same entry
    publish_folder(target, fill_with("second"))
    # then: the first one stays, whole, and no temporary folder is left beside it
    assert (target / "model.txt").read_text() == "first", "a published entry is never overwritten"
    assert [p.name for p in target.parent.iterdir()] == ["key"], "no temporary folder left"


def test_publish_folder__a_run_that_loses_the_race_drops_its_copy(tmp_path: Path) -> None:
    # given: another run that publishes the entry while this one is still filling its copy
    target = tmp_path / "key"

    def fill_while_another_publishes(folder: Path) -> None:
        (folder / "model.txt").write_text("late")
        target.mkdir()
        (target / "model.txt").write_text("early")

    # when: this run tries to publish
    publish_folder(target, fill_while_another_publishes)
    # then: the other run's entry stands and this run's copy is gone
    assert (target / "model.txt").read_text() == "early", "the first rename wins"
    assert [p.name for p in tmp_path.iterdir()] == ["key"], "the losing copy is removed"
