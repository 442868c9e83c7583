"""The compression report: the student in every deployable form, each saved model timed on the CPU.

What is pinned here is what was seen with TF 2.21 / Keras 3.15 (docs/deploy.md): the SavedModel,
int8 and ONNX work for every family; TFLite's built-in ops take the conv and n-gram students as
they are and the recurrent one only unrolled. A converter that fails is a status in the report,
never a failed run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from kdcore.config import SIZE_PRESETS, ReportConfig, family_of
from kdcore.engine import deploy, latency
from kdcore.engine import deploy_formats as formats
from kdcore.engine.families import builder
from kdcore.engine.latency import LatencyFailed, fit_length, measure_latency, percentile
from kdcore.engine.pipeline import run_experiment
from kdcore.results import RunSummary
from kdcore.samples import tiny_config
from tests.engine.test_deployable import optimizer_entries

FORMATS = ("keras", "savedmodel", "int8", "tflite", "onnx")
#: What each family's student gives TFLite here: converted as it is, or only with its loops unrolled.
TFLITE_AS_IS = {"recurrent": False, "ngram": True, "conv": True}
FAMILY_PRESETS = {"recurrent": "tiny", "ngram": "tiny-ngram", "conv": "tiny-conv"}
VOCAB, MAXLEN = 200, 40


@pytest.fixture(scope="module")
def reported_run(synthetic_imdb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A tiny run with the report on (20 timed calls): its folder and its summary."""
    folder = tmp_path_factory.mktemp("reported") / "run"
    config = tiny_config(synthetic_imdb, "report.enabled=true", "report.latency_calls=20")
    return folder, run_experiment(config, folder, home=folder.parent / "home")


def tiny_student(family: str, seed: int = 0) -> keras.Model:
    """An untrained tiny student of ``family`` (a converter does not care whether it learned)."""
    keras.utils.set_random_seed(seed)
    size = SIZE_PRESETS[FAMILY_PRESETS[family]]
    assert family_of(size) == family, f"preset {FAMILY_PRESETS[family]} is a {family} model"
    return builder(family)(size, VOCAB, MAXLEN, "student")


def token_rows(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pre-padded token rows and labels, as the run's test set is."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, MAXLEN)).astype(np.int32)
    x[:, :8] = 0
    return x, rng.integers(0, 2, size=n)


# ----------------------------------------------------------------------------- the report of a run


@pytest.mark.slow
def test_compression_report__every_number_present_latency_positive(reported_run) -> None:
    # given a tiny run with the report on
    _, summary = reported_run
    report = summary["deployment"]
    # then every saved arm is timed: positive latency, p95 at or above the median, the calls asked for
    assert set(report["latency"]) == {"teacher", "student", "scratch"}, f"arms timed: {report['latency']}"
    for arm, timed in report["latency"].items():
        assert timed["batch1_median_ms"] > 0 and timed["throughput_per_s"] > 0, f"{arm}: {timed}"
        assert timed["batch1_p95_ms"] >= timed["batch1_median_ms"], f"{arm}: p95 below the median: {timed}"
        assert timed["batch1_calls"] == 20 and timed["throughput_batch"] == 256, f"{arm}: {timed}"
    assert report["threads"] == 1 and report["cpu"] and report["latency_status"] == "ok", f"{report}"
    # and every format was written, sized and scored
    rows = {row["format"]: row for row in report["formats"]}
    assert tuple(rows) == FORMATS, f"formats in order: {list(rows)}"
    for name, row in rows.items():
        assert row["status"] == "ok" and row["bytes"] > 0, f"{name}: {row}"
        assert 0.0 <= row["test_accuracy"] <= 1.0, f"{name} has a test accuracy: {row}"
    assert report["seconds"] > 0, "the report's own time is recorded"
    # and the Sweeps page's names hold
    assert summary["deployment"]["latency"]["student"]["batch1_median_ms"] > 0, "Sweeps reads this path"
    assert summary["arms"]["student"]["params"] > 0, "Sweeps reads the student's params here"


@pytest.mark.slow
def test_compression_report__stored_in_summary_json_and_round_trips(reported_run) -> None:
    folder, summary = reported_run
    stored = json.loads((folder / "summary.json").read_text())
    assert stored["deployment"] == summary["deployment"], "summary.json holds the report the call returned"
    typed = RunSummary.from_dict(stored)
    assert typed.deployment is not None and typed.to_dict()["deployment"] == stored["deployment"], \
        "the typed summary writes the report back unchanged"
    assert typed.deployment.latency["student"].batch1_median_ms == stored["deployment"]["latency"]["student"][
        "batch1_median_ms"], "the typed latency is the stored one"


@pytest.mark.slow
def test_compression_report__savedmodel_reloads_with_the_same_predictions(reported_run) -> None:
    import tensorflow as tf

    # given the run's SavedModel and its student.keras
    folder, _ = reported_run
    x, _ = token_rows(8)
    reloaded = tf.saved_model.load(str(folder / "student_savedmodel"))
    # when both predict the same rows
    expected = keras.models.load_model(folder / "student.keras").predict(x, verbose=0)
    got = reloaded.serve(tf.constant(x)).numpy()
    # then they agree
    np.testing.assert_allclose(got, expected, atol=1e-5, err_msg="the SavedModel predicts as student.keras")


@pytest.mark.slow
def test_compression_report__int8_file_loads_with_plain_keras_without_optimizer_state(reported_run) -> None:
    folder, summary = reported_run
    model = keras.models.load_model(folder / "student_int8.keras")  # plain Keras, safe mode
    assert model.predict(token_rows(4)[0], verbose=0).shape == (4, 2), "the int8 student predicts"
    assert any("int8" in layer.dtype_policy.name for layer in model.layers), "its Dense/Embedding layers are int8"
    assert not optimizer_entries(folder / "student_int8.keras"), "no optimizer state in the int8 file"
    for name in ("student.keras", "teacher.keras", "scratch.keras"):
        assert not optimizer_entries(folder / name), f"{name} (the report's input) holds no optimizer state"
    int8 = next(r for r in summary["deployment"]["formats"] if r["format"] == "int8")
    assert int8["test_accuracy"] is not None, f"int8's accuracy is reported: {int8}"


@pytest.mark.slow
def test_compression_report__finished_run_read_back_keeps_its_report(reported_run, synthetic_imdb: Path) -> None:
    # given the finished run, when it is run again on the same folder (a resume of a finished run)
    folder, summary = reported_run
    config = tiny_config(synthetic_imdb, "report.enabled=true", "report.latency_calls=20")
    again = run_experiment(config, folder, home=folder.parent / "home")
    # then nothing is measured twice: the report is the stored one
    assert again["deployment"] == summary["deployment"], "a read-back run keeps its report"


# ----------------------------------------------------------------------------- failures are statuses


def test_compression_report__off_gives_no_section(tmp_path: Path) -> None:
    assert deploy.compression_report(tmp_path, np.zeros((1, 4)), np.zeros(1), ReportConfig(enabled=False),
                                     None) is None, "report.enabled=false: no deployment section"


def test_compression_report__failing_converters_and_timing_become_statuses(tmp_path: Path, monkeypatch) -> None:
    # given a saved student, and every converter and the timing process failing
    tiny_student("ngram").save(tmp_path / "student.keras")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("converter exploded\nerror: 'tf.Foo' op is neither a custom op nor a flex op")

    def no_timing(*_args: Any, **_kwargs: Any) -> Any:
        raise LatencyFailed("the timing process exited with 1: boom")

    for name in ("savedmodel", "int8", "tflite", "onnx"):
        monkeypatch.setattr(formats, name, broken)
    monkeypatch.setattr(formats, "onnx_available", lambda: None)
    monkeypatch.setattr(deploy, "measure_latency", no_timing)
    x, y = token_rows(8)
    # when the report runs
    report = deploy.compression_report(tmp_path, x, y, ReportConfig(), 0.5)
    # then it returns (no exception) and says what failed, in one line each
    assert report is not None, "the report is written even when every part fails"
    statuses = {f.format: (f.status, f.detail) for f in report.formats}
    assert statuses["keras"][0] == "ok", f"student.keras itself is fine: {statuses}"
    for name in ("savedmodel", "int8", "tflite", "onnx"):
        assert statuses[name] == ("failed", "'tf.Foo' op is neither a custom op nor a flex op"), \
            f"{name}: the converter's error line is the reason: {statuses[name]}"
    assert report.latency_status == "failed" and "boom" in (report.latency_detail or ""), f"{report}"
    assert dict(report.latency) == {}, "no latency figures when the timing failed"


def test_compression_report__an_unexpected_error_is_the_reports_not_the_runs(tmp_path: Path, monkeypatch) -> None:
    def bug(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug in the report itself")

    monkeypatch.setattr(deploy, "student_formats", bug)
    report = deploy.compression_report(tmp_path, *token_rows(4), ReportConfig(), 0.5)
    assert report is not None and report.latency_status == "failed", f"{report}"
    assert (report.latency_detail or "").startswith("the report stopped:"), f"{report.latency_detail}"


def test_compression_report__a_cancel_skips_what_is_left(tmp_path: Path, monkeypatch) -> None:
    # given a saved student, and a run whose cancel arrives after its students finished
    tiny_student("ngram").save(tmp_path / "student.keras")
    monkeypatch.setattr(deploy, "measure_latency", lambda *a, **k: pytest.fail("a cancelled run is not timed"))
    # when the report runs
    report = deploy.compression_report(tmp_path, *token_rows(4), ReportConfig(), 0.5, should_stop=lambda: True)
    # then nothing more is exported nor timed, and each part says why
    assert report is not None and report.latency_status == "skipped", f"{report}"
    assert {f.format: f.status for f in report.formats} == {"keras": "ok", "savedmodel": "skipped", "int8": "skipped",
                                                           "tflite": "skipped", "onnx": "skipped"}, f"{report}"
    assert report.format("int8").detail == deploy.CANCELLED, f"{report.format('int8')}"


def test_report_settings__change_no_cache_key_and_tiny_runs_turn_the_report_off(synthetic_imdb: Path) -> None:
    base = tiny_config(synthetic_imdb)
    other = tiny_config(synthetic_imdb, "report.enabled=true", "report.threads=4", "report.latency_calls=50")
    assert base.report.enabled is False and other.report.enabled is True, "tiny_config turns it off; extra wins"
    assert base.teacher_key() == other.teacher_key(), "the report settings are not in the teacher's key"
    assert base.scratch_key(0) == other.scratch_key(0), "nor in the scratch student's"


def test_compression_report__conversions_off_are_skipped(tmp_path: Path, monkeypatch) -> None:
    tiny_student("ngram").save(tmp_path / "student.keras")
    monkeypatch.setattr(deploy, "measure_latency", lambda *a, **k: {})
    x, y = token_rows(8)
    report = deploy.compression_report(tmp_path, x, y, ReportConfig(conversions=False), 0.5)
    assert report is not None
    assert {f.format: f.status for f in report.formats}["tflite"] == "skipped", "TFLite not tried"
    assert report.format("onnx").detail == "report.conversions is off", f"{report.format('onnx')}"
    assert not (tmp_path / "student.tflite").exists(), "nothing written for a skipped format"


def test_student_formats__no_student_file_skips_every_format(tmp_path: Path) -> None:
    rows = deploy.student_formats(tmp_path, *token_rows(4), ReportConfig(), None)
    assert [r["status"] for r in rows] == ["skipped"] * 5, f"no student.keras: {rows}"


def test_one_line__keeps_the_last_error_line_and_bounds_its_length() -> None:
    exc = RuntimeError("loc(...): error: first\nnoise\n<unknown>:0: error: the real reason")
    assert formats.one_line(exc) == "the real reason", "the converter's last error: line"
    assert len(formats.one_line(RuntimeError("x" * 1000))) <= 301, "a long message is cut"
    assert formats.one_line(RuntimeError()) == "RuntimeError", "an empty message names the error"


# ----------------------------------------------------------------------------- latency


def test_fit_length__cuts_to_the_last_tokens_or_pads_in_front() -> None:
    rows = np.array([[1, 2, 3, 4]], dtype=np.int32)
    assert fit_length(rows, 2).tolist() == [[3, 4]], "longer rows keep their last tokens"
    assert fit_length(rows, 6).tolist() == [[0, 0, 1, 2, 3, 4]], "shorter rows are padded in front"


def test_percentile__p95_of_known_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == pytest.approx(95.05), "linear interpolation, as NumPy's default"


@pytest.mark.slow
def test_measure_latency__times_a_saved_model_in_a_one_thread_process(tmp_path: Path) -> None:
    # given a saved tiny model
    tiny_student("conv").save(tmp_path / "student.keras")
    # when it is timed in the child process
    timed = measure_latency({"student": tmp_path / "student.keras"}, token_rows(16)[0], threads=1, calls=15,
                            batch=32, workdir=tmp_path)
    # then it answers with positive figures and leaves no rows file behind
    student = timed["student"]
    assert student["batch1_calls"] == 15 and student["throughput_batch"] == 32, f"{student}"
    assert 0 < student["batch1_median_ms"] <= student["batch1_p95_ms"], f"{student}"
    assert not (tmp_path / "latency_rows.npy").exists(), "the rows file is removed"


def test_measure_latency__a_dead_timing_process_is_latency_failed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(latency.sys, "executable", "/bin/false")  # exits 1 and prints nothing
    with pytest.raises(LatencyFailed, match="exited with 1: no message"):
        measure_latency({"student": tmp_path / "student.keras"}, token_rows(4)[0], threads=1, calls=10, batch=4,
                        workdir=tmp_path)
    assert not (tmp_path / "latency_rows.npy").exists(), "the rows file is removed after a failure too"


@pytest.mark.slow
def test_measure_latency__a_missing_model_is_named_with_its_error(tmp_path: Path) -> None:
    timed = measure_latency({"student": tmp_path / "nope.keras"}, token_rows(4)[0], threads=1, calls=10, batch=4,
                            workdir=tmp_path)
    assert set(timed) == {"student"} and "nope.keras" in timed["student"]["error"], f"{timed}"


# ----------------------------------------------------------------------------- per family


@pytest.mark.slow
@pytest.mark.parametrize("family", list(TFLITE_AS_IS))
def test_tflite__each_familys_outcome_as_seen_in_tf_2_21(family: str, tmp_path: Path) -> None:
    # given an untrained tiny student of the family
    student = tiny_student(family)
    x, y = token_rows()
    # when it is converted
    row = formats.attempt("tflite", lambda: formats.tflite(student, tmp_path, x, y))
    # then it converts (the recurrent one only unrolled) and predicts as the Keras model does
    assert row["status"] == "ok", f"{family}: {row}"
    assert ("unrolled" not in row["detail"]) == TFLITE_AS_IS[family], f"{family}: {row['detail']}"
    flat = (tmp_path / "student.tflite").read_bytes()
    np.testing.assert_allclose(formats.tflite_logits(flat, x), student.predict(x, verbose=0), atol=1e-4,
                               err_msg=f"{family}: the TFLite file predicts as the model")
    if not TFLITE_AS_IS[family]:
        with pytest.raises(Exception, match="(?i)tensor ?list"):
            formats._convert_tflite(student)  # as it is: Keras 3's LSTM/GRU loop needs Flex ops


@pytest.mark.slow
@pytest.mark.parametrize("family", list(TFLITE_AS_IS))
def test_savedmodel_int8_and_onnx__every_family_converts_and_scores(family: str, tmp_path: Path) -> None:
    # given an untrained tiny student of the family
    student = tiny_student(family)
    x, y = token_rows()
    # when each of the other formats is made
    saved = formats.attempt("savedmodel", lambda: formats.savedmodel(student, tmp_path, x[:8], 0.5))
    int8 = formats.attempt("int8", lambda: formats.int8(student, tmp_path, x, y))
    # then each works, and ONNX (when tf2onnx is installed) scores as Keras does
    assert saved["status"] == "ok" and saved["bytes"] > 0, f"{family}: {saved}"
    assert int8["status"] == "ok" and int8["test_accuracy"] is not None, f"{family}: {int8}"
    if formats.onnx_available():
        pytest.skip(formats.onnx_available())
    onnx = formats.attempt("onnx", lambda: formats.onnx(student, tmp_path, x, y))
    expected = float(np.mean(np.argmax(student.predict(x, verbose=0), axis=-1) == y))
    assert onnx["status"] == "ok" and onnx["bytes"] > 0, f"{family}: {onnx}"
    assert onnx["test_accuracy"] == pytest.approx(expected), f"{family}: onnxruntime scores as Keras does"


@pytest.mark.slow
def test_measure_latency__a_model_that_reads_text_is_named_not_fatal(tmp_path: Path) -> None:
    # given a token model and a model that reads raw strings (as an uploaded teacher may)
    tiny_student("ngram").save(tmp_path / "student.keras")
    texts = keras.Input(shape=(1,), dtype="string")
    keras.Model(texts, keras.layers.StringLookup(vocabulary=["a", "b"])(texts)).save(tmp_path / "teacher.keras")
    # when the run's latency is measured
    timed, status, detail = deploy.arm_latency(tmp_path, token_rows(8)[0], ReportConfig(latency_calls=10))
    # then the token model is timed and the other one named with the reason
    assert status == "ok" and set(timed) == {"student"}, f"{status}: {dict(timed)}"
    assert detail is not None and detail.startswith("not timed: teacher: ValueError: it reads"), detail
