"""kdcore.ui_*: the form <-> config mapping, tables, progress and the download bytes, without Streamlit."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, get_args

import pandas as pd
import pytest

from kdcore import paths
from kdcore.config import (
    FAMILY_RECIPES,
    NOTEBOOK_TEACHER,
    SIZE_PRESETS,
    TINY,
    RunConfig,
    TrainConfig,
    field_reference,
    param_count,
)
from kdcore.results import RunSummary
from kdcore.store import RunRecord
from kdcore.ui import entry as ui_entry
from kdcore.ui import files as ui_files
from kdcore.ui import form as ui_form
from kdcore.ui import format as ui_format
from kdcore.ui import progress as ui_progress
from kdcore.ui import tables as ui_tables


def record(**changes: object) -> RunRecord:
    base = dict(id="r1", name="", status="running", config=RunConfig().model_dump(), created_at=100.0,
                started_at=100.0, finished_at=None, worker_id="w", heartbeat_at=None, arm=None, epoch=None,
                step=None, steps=None, epochs=None, samples_per_s=None, device="CPU", error=None, traceback=None,
                summary=None, cancel_requested=False, attempts=1)
    return RunRecord(**{**base, **changes})


def test_field_labels__cover_every_config_field() -> None:
    # every family's teacher and student fields (`teacher.filters (conv)` -> `teacher.filters`), both families
    fields = {row["field"].split(" (")[0] for row in field_reference()}
    assert fields == set(ui_form.FIELD_LABELS), (
        f"the New-run form must edit every config field (a new field would be dropped silently): "
        f"{fields ^ set(ui_form.FIELD_LABELS)}")


def test_form_values__round_trip_to_the_same_config() -> None:
    config = RunConfig.model_validate({"name": "x", "data": {"path": "/d/imdb.npz", "train_limit": 300},
                                       "student": TINY.model_dump(), "distill": {"alpha": 0.5},
                                       "train": {"patience": 2, "seeds": 3, "teacher_batch_size": 128,
                                                 "teacher_optimizer": "lazy_adam"}, "teacher_from": "run-1"})
    rebuilt, problems = ui_form.validate_form(ui_form.form_values(config))
    assert problems == [] and rebuilt == config, f"form values should rebuild the config: {problems}"


def test_optimizer_labels__one_per_config_choice() -> None:
    assert tuple(ui_form.OPTIMIZER_LABELS) == get_args(TrainConfig.model_fields["teacher_optimizer"].annotation), \
        "the form offers exactly the config's choices"


def test_form_values__an_older_run_is_copied_as_it_ran() -> None:
    # given a run stored before the teacher had its own rate and optimizer (its teacher used the students')
    old = RunConfig().model_dump()
    del old["train"]["teacher_learning_rate"], old["train"]["teacher_optimizer"]

    # when "new run from this one" fills the form with it
    config, problems = ui_form.validate_form(ui_form.form_values(old))

    # then the copy trains its teacher as that run did, not with today's recipe
    assert problems == [] and config is not None
    assert (config.train.teacher_rate, config.train.teacher_optimizer) == (config.train.learning_rate, "adam")


def test_form_values__empty_data_path_means_none() -> None:
    values = ui_form.form_values()
    assert values[ui_form.form_key("data.path")] == "", "the text box starts empty"
    assert ui_form.config_dict_from_form({**values, ui_form.form_key("data.path"): "  "})["data"]["path"] is None


def test_validate_form__problems_name_the_field_for_people() -> None:
    values = {**ui_form.form_values(), ui_form.form_key("distill.alpha"): 1.3}
    config, problems = ui_form.validate_form(values)
    assert config is None and problems[0].startswith("**Alpha** (`distill.alpha`)"), f"{problems}"


def test_size_estimate__counts_each_model_even_if_the_other_is_invalid() -> None:
    values = {**ui_form.form_values(), ui_form.form_key("student.lstm_units"): 0}
    estimate = ui_form.size_estimate(values)
    assert estimate.teacher_params == param_count(NOTEBOOK_TEACHER, 20000), "the valid teacher is still counted"
    assert estimate.student_params is None and estimate.compression is None, "the invalid student is not"


def test_presets__set_and_recognise_sizes() -> None:
    values = {**ui_form.form_values(), **ui_form.preset_values("student", "tiny")}
    assert ui_form.matching_preset(values, "student") == "tiny"
    values[ui_form.form_key("student.gru_units")] = 5
    assert ui_form.matching_preset(values, "student") == ui_form.CUSTOM_PRESET, "an edited size is custom"


@pytest.mark.parametrize("family", ["ngram", "conv"])
def test_form__each_family_round_trips_and_counts_its_parameters(family: str) -> None:
    # given: the form switched to a family, then one of its sizes edited
    values = {**ui_form.form_values(), **ui_form.family_values(family), ui_form.form_key("teacher.family"): family}
    values[ui_form.form_key("teacher.embedding_dim")] = 16

    # when
    config, problems = ui_form.validate_form(values)
    estimate = ui_form.size_estimate(values)

    # then: the family's own fields only, its recipe, its parameter count
    assert problems == [] and config is not None, f"a valid {family} form: {problems}"
    assert config.teacher.family == family and config.teacher.embedding_dim == 16, f"{config.teacher}"
    assert config.data.teacher_maxlen == FAMILY_RECIPES[family]["data.teacher_maxlen"], "the family's recipe came along"
    assert estimate.teacher_params == param_count(config.teacher, config.data.vocab_size), "live count of this family"
    again, problems = ui_form.validate_form(ui_form.form_values(config))
    assert again == config, f"form values rebuild the {family} config: {problems}"


@pytest.mark.parametrize(("family", "field", "value", "words"), [
    ("ngram", "teacher.bigram_buckets", 1, "greater than or equal to 2"),
    ("conv", "teacher.kernel_sizes", "3, x", "whole numbers separated by commas"),
    ("conv", "teacher.kernel_sizes", "3, 99", "between 1 and 64"),
    ("conv", "teacher.filters", 0, "greater than or equal to 1"),
])
def test_form__bad_family_sizes_are_refused_by_name(family: str, field: str, value: Any, words: str) -> None:
    values = {**ui_form.form_values(), **ui_form.family_values(family), ui_form.form_key("teacher.family"): family,
              ui_form.form_key(field): value}
    config, problems = ui_form.validate_form(values)
    label = ui_form.FIELD_LABELS[field]
    assert config is None and any(p.startswith(f"**{label}** (`{field}`)") and words in p for p in problems), problems
    assert ui_form.size_estimate(values).teacher_params is None, "no count for an invalid teacher"
    assert ui_form.size_estimate(values).student_params is not None, "the student is still counted"


def test_form__a_family_switch_keeps_recipe_fields_the_user_changed() -> None:
    # given a form where the user set alpha and the teacher's epochs
    values = {**ui_form.form_values(), ui_form.form_key("distill.alpha"): 0.5,
              ui_form.form_key("train.teacher_epochs"): 7}

    # when the teacher switches from recurrent to n-gram
    values.update(ui_form.family_values("ngram", values, "recurrent"))

    # then those stay, the untouched recipe field follows the family, the sizes are the family's
    assert values[ui_form.form_key("distill.alpha")] == 0.5 and values[ui_form.form_key("train.teacher_epochs")] == 7
    assert values[ui_form.form_key("data.teacher_maxlen")] == FAMILY_RECIPES["ngram"]["data.teacher_maxlen"]
    assert values[ui_form.form_key("teacher.bigram_buckets")] == 2**18


def test_form__switching_back_clears_a_teacher_length_the_recipe_set() -> None:
    values = {**ui_form.form_values(), ui_form.form_key("data.maxlen"): 500}
    values.update(ui_form.family_values("ngram", values, "recurrent"))
    assert values[ui_form.form_key("data.teacher_maxlen")] == 500, "never shorter than the student's 500"
    values.update(ui_form.family_values("recurrent", values, "ngram"))
    assert values[ui_form.form_key("data.teacher_maxlen")] is None, "the recipe's value goes with its family"


def test_field_help__describes_the_shown_family() -> None:
    assert "averaged" in ui_form.field_help("teacher.dropout", "ngram")
    assert "averaged" not in ui_form.field_help("teacher.dropout", "recurrent")


def test_presets__a_teacher_preset_of_another_family_switches_it() -> None:
    values = {**ui_form.form_values(), **ui_form.preset_values("teacher", "tiny-conv")}
    assert values[ui_form.form_key("teacher.family")] == "conv"
    assert values[ui_form.form_key("teacher.kernel_sizes")] == "2, 3", "widths as the text box shows them"
    assert ui_form.matching_preset(values, "teacher") == "tiny-conv"
    assert "tiny-conv" in ui_form.role_presets("student"), "issue 20: a student may be of any family"
    same_family = {**ui_form.form_values(), ui_form.form_key("distill.alpha"): 0.5}
    same_family.update(ui_form.preset_values("teacher", "tiny", same_family))
    assert same_family[ui_form.form_key("distill.alpha")] == 0.5, "a preset of the same family keeps the recipe fields"


def test_prepare_form_state__prefill_wins_once_then_the_stash() -> None:
    state: dict = {ui_form.PREFILL_KEY: {"config": RunConfig(name="old").model_dump(), "from": "run-7"}}
    assert ui_form.prepare_form_state(state) == "run-7", "says where the values came from"
    assert state[ui_form.form_key("name")] == "old" and ui_form.PREFILL_KEY not in state, "prefill is consumed"
    state[ui_form.form_key("name")] = "edited"
    ui_form.stash_form(state)
    fresh = {ui_form.FORM_STASH: state[ui_form.FORM_STASH]}  # widget keys dropped after a page change
    assert ui_form.prepare_form_state(fresh) is None and fresh[ui_form.form_key("name")] == "edited", "stash restores"


@pytest.mark.parametrize(("seconds", "text"), [(None, "–"), (5, "5 s"), (75, "1 min 15 s"), (3720, "1 h 02 min")])
def test_fmt_duration(seconds: float | None, text: str) -> None:
    assert ui_format.fmt_duration(seconds) == text


def test_size_text__each_family_in_one_cell() -> None:
    assert ui_format.size_text(NOTEBOOK_TEACHER.model_dump()) == "128/64/128"
    assert ui_format.size_text({"embedding_dim": 8, "lstm_units": 4, "gru_units": 4}) == "8/4/4", "older runs"
    assert ui_format.size_text(SIZE_PRESETS["ngram"].model_dump()) == "n-gram 64d, 262,144 buckets"
    assert ui_format.size_text(SIZE_PRESETS["conv"].model_dump()) == "conv 64d, 64×[3,4,5]"


def test_formatting__params_bytes_points() -> None:
    assert (ui_format.fmt_params(2_857_474), ui_format.fmt_params(950)) == ("2.86 M", "950")
    assert (ui_format.fmt_bytes(512), ui_format.fmt_bytes(34_000_000)) == ("512 B", "32.4 MB")
    assert ui_format.fmt_points(0.004) == "+0.40 pts"


def test_arm_progress__current_arm_from_the_record_and_earlier_arms_done() -> None:
    curves = pd.DataFrame([("teacher", "epoch", 0, 4, 1.0, "val_accuracy", 0.8, 10.0),
                           ("student", "tick", 0, 2, 0.5, "accuracy", 0.7, 20.0)],
                          columns=["arm", "kind", "epoch", "step", "fraction", "name", "value", "t"])
    rec = record(arm="student", epoch=1, step=2, steps=4, epochs=3)
    by_arm = {p.arm: p for p in ui_progress.arm_progress(rec, curves)}
    assert by_arm["teacher"].fraction == 1.0 and by_arm["teacher"].text.startswith("done"), "a later arm started"
    assert by_arm["student"].fraction == pytest.approx(0.5) and "batch 2/4" in by_arm["student"].text
    assert by_arm["scratch"].fraction == 0.0 and by_arm["scratch"].text == "not started"
    left = ui_progress.time_left(rec, list(by_arm.values()), now=160.0)
    assert left is not None and left > 0, "an estimate once some work is done"


def test_arm_progress__a_reused_teacher_is_not_trained() -> None:
    cfg = RunConfig(teacher_from="run-0").model_dump()
    progress = ui_progress.arm_progress(record(config=cfg, status="queued"), None)
    assert progress[0].arm == "teacher" and progress[0].planned_epochs == 0 and "reused" in progress[0].text


def test_summary_frame__formats_each_arm() -> None:
    summary = {"arms": {"teacher": {"test_accuracy": 0.86, "params": 2_857_474, "file_bytes": 34_000_000},
                        "student": {"test_accuracy": 0.84, "gain_over_scratch": 0.02, "teacher_share": 0.9767},
                        "scratch": {"test_accuracy": 0.82}}}
    table = ui_tables.summary_frame(RunSummary.from_dict(summary)).set_index("Model")
    assert table.loc["Teacher", "Size on disk"] == "32.4 MB" and table.loc["Teacher", "Parameters"] == "2.86 M"
    assert table.loc["Distilled student", "Gain over scratch"] == "+2.00 pts"
    assert table.loc["Scratch student", "Teacher accuracy kept"] == "95.3%", "share computed when absent"


def test_result_metrics__smaller_by_names_the_parameters_and_the_bytes_ratio() -> None:
    # given a run whose teacher has 4x the student's parameters and a deployable file 3x the student's
    summary = RunSummary.from_dict({"compression": 4.0, "bytes_ratio": 3.0,
                                    "arms": {"teacher": {"params": 4_000, "file_bytes": 30_000},
                                             "student": {"params": 1_000, "file_bytes": 10_000}}})
    # when the headline numbers are built
    metrics = {label: value for label, value, _ in ui_tables.result_metrics(summary)}
    # then "smaller by" gives both, each saying what it compares
    assert metrics["Smaller by: params · bytes"] == "4.0× · 3.0×", f"both ratios, labelled: {metrics}"


def test_result_metrics__an_older_summary_shows_no_bytes_ratio() -> None:
    # given a summary stored before the downloads lost their optimizer state: no bytes ratio was stored
    summary = RunSummary.from_dict({"compression": 4.0, "arms": {"teacher": {"params": 4_000, "file_bytes": 30_000},
                                                                 "student": {"params": 1_000, "file_bytes": 30_000}}})
    # when the headline numbers are built
    metrics = {label: value for label, value, _ in ui_tables.result_metrics(summary)}
    # then only the parameters ratio is shown, labelled, and no bytes ratio is guessed from those old files
    assert metrics["Smaller by: params"] == "4.0×", f"only what is known: {metrics}"
    assert ui_tables.smaller_by(None, None) == ("Smaller by", "–"), "nothing known, nothing shown"


def test_summary_frame__accuracies_and_gains_carry_the_test_sets_intervals() -> None:
    # given a run on 200 test reviews whose student kept its paired test against scratch
    summary = {"data": {"test": 200},
               "arms": {"student": {"test_accuracy": 0.555, "gain_over_scratch": 0.09, "gain_low": 0.0268,
                                    "gain_high": 0.1517, "gain_p_value": 0.00792},
                        "scratch": {"test_accuracy": 0.465, "test_accuracy_low": 0.3972, "test_accuracy_high": 0.5341}}}
    # when the results table is built
    table = ui_tables.summary_frame(RunSummary.from_dict(summary)).set_index("Model")
    # then every accuracy shows its 95% interval, and the gain its paired interval and McNemar p
    assert table.loc["Scratch student", "Test accuracy"] == "46.5% (39.7–53.4)", "the stored Wilson interval"
    assert table.loc["Distilled student", "Test accuracy"] == "55.5% (48.6–62.2)", "computed from data.test"
    assert table.loc["Distilled student", "Gain over scratch"] == "+9.00 pts (+2.68 to +15.17; p = 0.0079)"


def test_seed_lines__only_when_seeds_were_repeated() -> None:
    one = {"seeds": {"student": {"mean": 0.8, "std": 0.0, "values": [0.8]}, "gain": {"mean": 0.0, "std": 0.0}}}
    assert ui_tables.seed_lines(RunSummary.from_dict(one)) == [], "one seed has no spread to report"
    two = {"seeds": {"student": {"mean": 0.8, "std": 0.01, "values": [0.79, 0.81]},
                     "gain": {"mean": 0.02, "std": 0.005, "exceeds_spread": True}}}
    assert ui_tables.seed_lines(RunSummary.from_dict(two)) == [
        "Distilled student: 80.00% ± 1.00% test accuracy over 2 seeds",
        "Gain of distillation: +2.00 pts ± 0.50 pts, larger than the spread between seeds"]
    two["seeds"]["gain"].update(ci95=0.0635, exceeds_spread=False)
    assert ui_tables.seed_lines(RunSummary.from_dict(two))[-1] == (
        "Gain of distillation: +2.00 pts ± 6.35 pts (95% interval), within the spread between seeds"
    ), "the interval, when the run has one"


def test_runs_frame_and_filter(tmp_path: Path) -> None:
    runs = [record(id="a", name="alpha sweep", status="succeeded", finished_at=160.0,
                   summary={"arms": {"student": {"test_accuracy": 0.8, "gain_over_scratch": 0.01}}}),
            record(id="b", name="other", status="failed", error="out of memory")]
    assert [r.id for r in ui_tables.filter_runs(runs, ["failed"])] == ["b"]
    assert [r.id for r in ui_tables.filter_runs(runs, [], "MEMORY")] == ["b"], "search covers the error, any case"
    row = ui_tables.runs_frame(runs).set_index("ID").loc["a"]
    assert (row["Student acc"], row["Gain (pts)"], row["Duration"]) == (80.0, 1.0, "1 min 00 s")
    older = record(id="o", config={"distill": {}})
    consistent = record(id="c", config={"distill": {"teacher_view": "student"}})
    augmented = record(id="g", config={"distill": {"teacher_view": "student", "augment_window": 0.0,
                                                   "augment_mask": 0.1}})
    assert ui_tables.runs_frame([older, consistent, augmented])["Targets"].tolist() == \
        ["own view", "student's", "student's, augmented"], \
        "a config from before distill.teacher_view meant the teacher's own view; two runs that differ there differ"


def test_artifacts__only_known_names_of_valid_runs(tmp_path: Path) -> None:
    with pytest.raises(paths.InvalidRunId):
        ui_files.artifact_path("../x", "student.keras", tmp_path)
    with pytest.raises(ValueError, match="unknown artifact"):
        ui_files.artifact_path("run-1", "../../etc/passwd", tmp_path)


def test_build_run_zip__holds_files_and_fills_in_from_the_store(tmp_path: Path) -> None:
    folder = paths.run_dir("run-1", tmp_path)
    folder.mkdir(parents=True)
    (folder / "student.keras").write_bytes(b"model")
    curves = pd.DataFrame({"arm": ["student"], "value": [0.5]})
    data = ui_files.build_run_zip("run-1", tmp_path, config={"name": "x"}, curves=curves)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == ["run-1/config.json", "run-1/metrics.csv", "run-1/student.keras"]
    assert archive.getinfo("run-1/student.keras").compress_type == zipfile.ZIP_STORED, "models are stored"
    assert archive.read("run-1/student.keras") == b"model"


def test_entry_params__round_trip_through_app_py() -> None:
    params = ui_entry.entry_params("live", {"run": "r1"})
    assert ui_entry.entry_target(params) == ("live", {"run": "r1"})
    assert ui_entry.entry_target({"run": "r1"}) == (None, {"run": "r1"})


def test_run_id_from_query__validates() -> None:
    assert ui_files.run_id_from_query(None) is None and ui_files.run_id_from_query(["a", "b-2"]) == "b-2"
    with pytest.raises(paths.InvalidRunId):
        ui_files.run_id_from_query("../../etc")


def test_start_local_worker__turns_failures_into_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker",
                        lambda home=None: (_ for _ in ()).throw(OSError("x")))
    message = ui_entry.start_local_worker()
    assert message and "python -m kdcore worker" in message, "says how to start one by hand"
    monkeypatch.setattr("kdcore.worker.processes.ensure_local_worker", lambda home=None: False)
    assert ui_entry.start_local_worker() is None, "False means one is alive already: no warning"


def test_label_problem__a_rule_across_fields_is_labelled_by_the_field_it_names_first() -> None:
    text = ui_form.label_problem("config: distill.teacher_view must be 'student' when distill.augment_mask is above 0")
    assert text == "**Teacher's targets from** (`distill.teacher_view`): must be 'student' when distill.augment_mask " \
                   "is above 0"
    assert ui_form.label_problem("config: must be a mapping") == "`config`: must be a mapping"
