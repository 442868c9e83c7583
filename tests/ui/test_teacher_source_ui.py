"""The teacher-source logic behind the New-run form and the Live page (no Streamlit, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kdcore import paths
from kdcore.config import RunConfig, apply_overrides
from kdcore.results import RunSummary
from kdcore.ui import form as ui_form
from kdcore.ui import tables as ui_tables
from kdcore.ui import teacher_source as ui_ts

K = ui_form.form_key


def values_for(kind: str, **fields: Any) -> dict[str, Any]:
    values = ui_form.form_values()
    values[K("teacher_source.kind")] = kind
    values.update({K(f"teacher_source.{name}"): value for name, value in fields.items()})
    return values


def test_config_dict_from_form__submits_only_the_chosen_sources_fields() -> None:
    # given a form that holds fields of every source, and a reused teacher and augmentation from before
    values = values_for("soft_labels", file="/x/train.npy", test_file="/x/test.npy", id_column="row",
                        members=["run-a", "run-b"])
    values.update({K("teacher_from"): "run-old", K("distill.augment_window"): 0.3, K("distill.augment_mask"): 0.1})
    # when it is turned into a config
    raw = ui_form.config_dict_from_form(values)
    # then only soft labels' fields are submitted, no reused teacher, and augmentation is off
    assert raw["teacher_source"] == {"kind": "soft_labels", "file": "/x/train.npy", "test_file": "/x/test.npy",
                                     "id_column": "row", "output": "auto"}, f"{raw['teacher_source']}"
    assert raw.get("teacher_from") is None, "a reused teacher goes with trained only"
    assert (raw["distill"]["augment_window"], raw["distill"]["augment_mask"]) == (0.0, 0.0), "nothing labels it"
    assert ui_form.check_form(values).config is not None, "and the config is valid"


def test_form_values__keep_an_ensembles_members_as_a_list() -> None:
    # given a config of an ensemble
    config = apply_overrides(RunConfig(), ["teacher_source.kind=ensemble", "teacher_source.members=run-a,run-b"])
    # when the form is filled from it and submitted again
    values = ui_form.form_values(config)
    back = ui_form.check_form(values).config
    # then the multiselect holds a list and the config comes back the same
    assert values[K("teacher_source.members")] == ["run-a", "run-b"], "a list for the multiselect"
    assert back is not None and back.teacher_source == config.teacher_source, f"{back and back.teacher_source}"


def test_soft_label_problems__a_path_outside_the_allowed_folders_is_refused(tmp_path: Path) -> None:
    # given a file outside the home and $KDCORE_DATA_ROOTS
    outside = tmp_path / "elsewhere" / "labels.npy"
    outside.parent.mkdir()
    np.save(outside, np.zeros((4, 2)))
    # when it is checked
    found = ui_ts.soft_label_problems({}, str(outside), home=tmp_path / "home", rows=4, num_classes=2,
                                      id_column=None, output="auto")
    # then the rule is named
    assert found and "KDCORE_DATA_ROOTS" in found[0], f"the path rule is named: {found}"


def test_soft_label_problems__reads_a_file_once_per_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a good file of logits in the home
    path = tmp_path / "uploads" / "logits.npy"
    path.parent.mkdir()
    np.save(path, np.random.default_rng(0).normal(size=(6, 3)))
    cache: dict = {}
    calls: list[Path] = []
    import kdcore.datasets as datasets

    real = datasets.read_soft_labels
    monkeypatch.setattr(datasets, "read_soft_labels", lambda p, **kw: calls.append(p) or real(p, **kw))
    # when it is checked on two reruns, then with the wrong K
    first = ui_ts.soft_label_problems(cache, str(path), home=tmp_path, rows=6, num_classes=3, id_column=None,
                                      output="auto")
    again = ui_ts.soft_label_problems(cache, str(path), home=tmp_path, rows=6, num_classes=3, id_column=None,
                                      output="auto")
    wrong = ui_ts.soft_label_problems(cache, str(path), home=tmp_path, rows=6, num_classes=2, id_column=None,
                                      output="auto")
    # then it fits, was read once for those settings, and the wrong K is named
    assert first == again == [], f"it fits: {first}"
    assert len(calls) == 2, f"read once per settings: {calls}"
    assert wrong and "K=2" in wrong[0], f"the expected K is named: {wrong}"


def test_keras_check__a_run_without_its_teacher_file_is_a_problem_and_reports_are_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given an ensemble of a run that kept its teacher.keras and one that did not
    kept = paths.run_dir("run-kept", tmp_path) / "teacher.keras"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"PK")
    calls: list[Path] = []
    monkeypatch.setattr("kdcore.worker.teacher_check_process.run_teacher_check",
                        lambda file, config, home, **kw: calls.append(Path(file)) or {"ok": True, "problems": [],
                                                                                     "params": 10})
    config = apply_overrides(RunConfig(), ["teacher_source.kind=ensemble", "teacher_source.members=run-kept,run-gone"])
    cache: dict = {}
    # when the form draws (no check yet), then when asked to check, then draws again
    before = ui_ts.keras_check(cache, config, tmp_path, run_missing=False)
    asked = ui_ts.keras_check(cache, config, tmp_path, run_missing=True)
    after = ui_ts.keras_check(cache, config, tmp_path, run_missing=False)
    # then the kept one is pending, then checked once; the missing one is a problem naming the run
    assert before.pending == ["run-kept"], f"not checked before asked: {before}"
    assert calls == [kept], f"checked once, by its teacher.keras: {calls}"
    assert after.pending == [] and after.reports["run-kept"]["ok"], f"the report is kept: {after}"
    assert any("run-gone" in p and "teacher.keras" in p for p in asked.problems), f"{asked.problems}"
    assert ui_ts.teacher_params(after.reports) is None, "no total while a member has no count"


def test_length_offer__only_for_a_token_teacher_of_another_length() -> None:
    config = apply_overrides(RunConfig(), ["data.maxlen=200"])
    # a token teacher of 400 tokens -> offered; of 200 -> nothing; a text teacher -> nothing
    assert ui_ts.length_offer([{"input": "tokens", "input_length": 400}], config) == 400, "offered"
    assert ui_ts.length_offer([{"input": "tokens", "input_length": 200}], config) is None, "same length"
    assert ui_ts.length_offer([{"input": "text", "input_length": None}, None], config) is None, "text reads any"


def test_report_text__says_input_outputs_kind_and_size() -> None:
    text = ui_ts.report_text({"input": "tokens", "input_length": 200, "outputs": 3, "probabilities": True,
                              "params": 1_500_000})
    assert text == "reads token ids of length 200 · 3 outputs (probabilities) · 1.50 M params", text


def test_teacher_source_line__soft_labels_without_test_outputs_say_so() -> None:
    # given a soft-label run whose teacher has no test accuracy, and a run trained here
    soft = RunSummary.from_dict({"teacher_source": "soft labels from train.npy (logits)",
                                 "arms": {"teacher": {"test_accuracy": None}, "student": {"test_accuracy": 0.8}}})
    config = {"teacher_source": {"kind": "soft_labels", "file": "/x/train.npy"}}
    # then the line names the source and why there is no accuracy; a trained teacher gets no line
    line = ui_tables.teacher_source_line(soft, config)
    assert line and "soft labels from train.npy" in line and "no test accuracy" in line, line
    assert ui_tables.teacher_source_line(soft, {"teacher_source": {"kind": "trained"}}) is None, "trained: none"
    frame = ui_tables.summary_frame(soft)
    teacher_row = frame[frame["Model"] == frame["Model"].iloc[0]].iloc[0]
    assert teacher_row["Test accuracy"] == "–", f"a dash in the table: {teacher_row.to_dict()}"


def test_check_form__a_teacher_source_rule_shows_under_the_field_it_names() -> None:
    # given an uploaded-model source without its file, and an ensemble of one
    no_file = ui_form.check_form(values_for("keras"))
    one = ui_form.check_form(values_for("ensemble", members=["run-a"]))
    # then each problem is filed under the field to change
    assert "is needed" in no_file.by_field["teacher_source.file"][0], f"{no_file.by_field}"
    assert "2 to 16 members" in one.by_field["teacher_source.members"][0], f"{one.by_field}"
    assert no_file.problems[0].startswith("**Teacher file**"), f"worded with its label: {no_file.problems}"


def test_keras_check__a_file_outside_the_allowed_folders_is_not_checked(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # given an uploaded-model source naming a file outside the home
    outside = tmp_path / "elsewhere" / "t.keras"
    outside.parent.mkdir()
    outside.write_bytes(b"PK")
    calls: list[Path] = []
    monkeypatch.setattr("kdcore.worker.teacher_check_process.run_teacher_check",
                        lambda file, *a, **kw: calls.append(file) or {"ok": True, "problems": []})
    config = apply_overrides(RunConfig(), ["teacher_source.kind=keras", f"teacher_source.file={outside}"])
    # when it is checked
    found = ui_ts.keras_check({}, config, tmp_path / "home", run_missing=True)
    # then the server path rule refuses it, and no process was started
    assert calls == [], "nothing checked"
    assert found.problems and "KDCORE_DATA_ROOTS" in found.problems[0], f"{found.problems}"
