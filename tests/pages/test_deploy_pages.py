"""The compression report on the Live page (tables, chart) and its files on the Download page, from a stored summary."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from kdcore import paths
from tests.pages.test_download import deferred_downloads  # noqa: F401 - the fixture: file name -> its callable
from tests.ui.test_deploy_ui import stored_report


def summary_with_report(report: dict[str, Any] | None) -> dict[str, Any]:
    arms = {name: {"test_accuracy": acc, "test_loss": 0.4, "params": params, "file_bytes": params * 4,
                   "best_epoch": 1, "epochs_trained": 2}
            for name, acc, params in (("teacher", 0.87, 2_857_474), ("student", 0.85, 120_000),
                                      ("scratch", 0.83, 120_000))}
    summary = {"device": "CPU", "total_seconds": 30.0, "arms": arms, "bytes_ratio": 23.8, "verdict": "Paid."}
    return {**summary, "deployment": report} if report is not None else summary


def test_live__finished_run_with_a_report_shows_the_deployment_section(
        kd_home: Path, open_page: Callable[..., AppTest], texts: Callable[[AppTest], str],
        add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given a finished run whose summary holds a compression report
    run_id = add_finished_run("with-report", summary_with_report(stored_report()))
    # when its Live page opens
    at = open_page("pages/live.py", {"run": run_id})
    # then the Deployment section shows the latency table, its chart and the formats
    assert not at.exception, f"page raised: {at.exception}"
    assert "Deployment" in [h.value for h in at.subheader], f"subheaders: {[h.value for h in at.subheader]}"
    frames = [f.value for f in at.dataframe]
    latency = next(f for f in frames if "p50 (ms)" in f.columns).set_index("Model")
    assert latency.loc["Distilled student", "p50 (ms)"] == 3.0 and latency.loc["Teacher", "Params"] == "2.86 M"
    formats = next(f for f in frames if "Detail" in f.columns).set_index("Format")
    assert formats.loc["TFLite / LiteRT", "Status"] == "❌ failed", f"{formats}"
    assert formats.loc["Keras int8 weights", "Test accuracy"] == "84.7%", "int8's own accuracy"
    assert "live.latency_chart" in [c.key for c in at.get("plotly_chart")], "the latency chart is drawn"
    assert "3.0x as fast as the teacher" in texts(at), "the speed-up in words"


def test_live__a_run_without_a_report_has_no_deployment_section(
        kd_home: Path, open_page: Callable[..., AppTest], add_finished_run: Callable[[str, dict[str, Any]], str]
) -> None:
    run_id = add_finished_run("no-report", summary_with_report(None))
    at = open_page("pages/live.py", {"run": run_id})
    assert not at.exception, f"page raised: {at.exception}"
    assert "Deployment" not in [h.value for h in at.subheader], "older runs have no report to show"


def test_download__offers_the_reports_files_and_zips_the_savedmodel(
        kd_home: Path, open_page: Callable[..., AppTest], deferred_downloads: dict[str, Any],  # noqa: F811
        add_finished_run: Callable[[str, dict[str, Any]], str]) -> None:
    # given a finished run with int8, ONNX and SavedModel files written (TFLite failed)
    run_id = add_finished_run("deploy-files", summary_with_report(stored_report()))
    folder = paths.run_dir(run_id, kd_home)
    (folder / "student_savedmodel" / "variables").mkdir(parents=True)
    (folder / "student_savedmodel" / "saved_model.pb").write_bytes(b"pb")
    (folder / "student_int8.keras").write_bytes(b"PK-int8")
    (folder / "student.onnx").write_bytes(b"onnx")
    # when the Download page opens
    at = open_page("pages/download.py", {"run": run_id})
    assert not at.exception, f"page raised: {at.exception}"
    # then each written file is offered, the missing TFLite is not, and the SavedModel comes zipped
    disabled = {b.label: b.proto.disabled for b in at.get("download_button")}
    assert disabled["Download student_int8.keras"] is False and disabled["Download student.onnx"] is False
    assert disabled["Download student.tflite"] is True, f"TFLite failed: nothing to offer: {disabled}"
    assert deferred_downloads[f"{run_id}-student_int8.keras"]() == b"PK-int8", "the int8 file's bytes"
    archive = zipfile.ZipFile(io.BytesIO(deferred_downloads[f"{run_id}-student_savedmodel.zip"]()))
    assert archive.read("student_savedmodel/saved_model.pb") == b"pb", f"{archive.namelist()}"
    assert "needs Flex ops" in " ".join(c.value for c in at.caption), "the failed format says why"
