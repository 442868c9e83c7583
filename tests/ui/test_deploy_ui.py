"""The Live and Download pages' view of a compression report: tables, the latency chart, the SavedModel zip.

Built from a stored summary only (the dashboard never loads a model); a summary without a report shows nothing.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

from kdcore.results import RunSummary
from kdcore.ui import deploy as ui_deploy
from kdcore.ui import files as ui_files


def stored_report() -> dict[str, Any]:
    """A report as the engine stores it: three timed arms, five formats (TFLite failed)."""
    def timed(median: float, p95: float, rate: float) -> dict[str, Any]:
        return {"batch1_median_ms": median, "batch1_p95_ms": p95, "batch1_calls": 200, "throughput_per_s": rate,
                "throughput_batch": 256}

    def row(name: str, file: str | None, size: int | None, status: str, detail: str, acc: float | None):
        return {"format": name, "file": file, "bytes": size, "status": status, "detail": detail,
                "test_accuracy": acc}

    return {"threads": 1, "cpu": "Test CPU (2 cores)", "latency_status": "ok", "latency_detail": None,
            "latency": {"teacher": timed(9.0, 12.0, 800.0), "student": timed(3.0, 4.5, 2500.0),
                        "scratch": timed(3.1, 4.4, 2400.0)},
            "formats": [row("keras", "student.keras", 500_000, "ok", "keras.models.load_model(path)", 0.85),
                        row("savedmodel", "student_savedmodel", 900_000, "ok", "same logits", 0.85),
                        row("int8", "student_int8.keras", 200_000, "ok", "int8 weights in Dense, Embedding", 0.847),
                        row("tflite", None, None, "failed", "needs Flex ops (SELECT_TF_OPS): tensor list", None),
                        row("onnx", "student.onnx", 480_000, "ok", "tf2onnx, opset 17", 0.85)],
            "seconds": 12.5}


def report_summary(**changes: Any) -> RunSummary:
    arms = {"teacher": {"test_accuracy": 0.87, "params": 2_857_474, "file_bytes": 11_000_000},
            "student": {"test_accuracy": 0.85, "params": 120_000, "file_bytes": 500_000},
            "scratch": {"test_accuracy": 0.83, "params": 120_000, "file_bytes": 500_000}}
    return RunSummary.from_dict({"arms": arms, "bytes_ratio": 22.0, "deployment": stored_report(), **changes})


def test_latency_frame__one_row_per_timed_arm_with_params() -> None:
    frame = ui_deploy.latency_frame(report_summary()).set_index("Model")
    assert list(frame.index) == ["Teacher", "Distilled student", "Scratch student"], f"{frame.index}"
    assert frame.loc["Distilled student", "p50 (ms)"] == 3.0 and frame.loc["Teacher", "p95 (ms)"] == 12.0, f"{frame}"
    assert frame.loc["Teacher", "Params"] == "2.86 M", "params are shown beside the latency"


def test_formats_frame__sizes_statuses_and_int8_accuracy() -> None:
    frame = ui_deploy.formats_frame(report_summary()).set_index("Format")
    assert frame.loc["Keras int8 weights", "Test accuracy"] == "84.7%", f"int8's own accuracy: {frame}"
    assert frame.loc["TFLite / LiteRT", "Status"] == "❌ failed" and "Flex" in frame.loc["TFLite / LiteRT", "Detail"]
    assert frame.loc["TFLite / LiteRT", "Size"] == "–", "nothing written: no size"


def test_latency_figure__bars_at_the_median_whiskers_to_p95() -> None:
    figure = ui_deploy.latency_figure(report_summary())
    bars = figure.data[0]
    assert list(bars.x) == [9.0, 3.0, 3.1], f"medians in arm order: {bars.x}"
    assert list(bars.error_x.array) == [3.0, 1.5, 1.3000000000000003], "whiskers reach the p95"


def test_views__a_summary_without_report_shows_nothing() -> None:
    old = RunSummary.from_dict({"arms": {"student": {"test_accuracy": 0.8}}})
    assert old.deployment is None, "summaries stored before the report have none"
    assert ui_deploy.latency_frame(old).empty and ui_deploy.formats_frame(old).empty, "empty tables"
    assert ui_deploy.latency_figure(old).layout.annotations[0].text == "No latency measured", "an explained chart"
    assert ui_deploy.speedup_line(old) is None, "no speed-up without figures"


def test_deployment_caption__says_how_or_why_not() -> None:
    summary = report_summary()
    assert "1 thread," in ui_deploy.deployment_caption(summary.deployment) and "200 calls" in \
        ui_deploy.deployment_caption(summary.deployment), "threads and calls are named"
    failed = RunSummary.from_dict({"deployment": {**stored_report(), "latency": {}, "latency_status": "failed",
                                                  "latency_detail": "the timing process exited with 1: boom"}})
    assert ui_deploy.deployment_caption(failed.deployment).endswith("boom."), "the reason is shown"
    assert ui_deploy.speedup_line(summary) == ("The student answers 3.0x as fast as the teacher at batch 1 and its "
                                               ".keras file is 22.0x smaller."), ui_deploy.speedup_line(summary)


def _run_folder(home: Path, run_id: str) -> Path:
    folder = home / "runs" / run_id
    (folder / "student_savedmodel" / "variables").mkdir(parents=True)
    (folder / "student_savedmodel" / "saved_model.pb").write_bytes(b"pb")
    (folder / "student_savedmodel" / "variables" / "variables.index").write_bytes(b"index")
    return folder


def test_build_savedmodel_zip__the_folder_zipped_on_the_fly(kd_home: Path) -> None:
    _run_folder(kd_home, "r1")
    archive = zipfile.ZipFile(io.BytesIO(ui_files.build_savedmodel_zip("r1")))
    assert sorted(archive.namelist()) == ["student_savedmodel/saved_model.pb",
                                          "student_savedmodel/variables/variables.index"], archive.namelist()
    assert archive.read("student_savedmodel/saved_model.pb") == b"pb", "the bytes of the file"
    assert ui_files.savedmodel_bytes("r1") == 7, "the size is the files' added up"
    assert ui_files.savedmodel_bytes("nope") is None, "a run without a SavedModel has none"


def test_build_savedmodel_zip__links_out_of_the_folder_are_left_out(kd_home: Path, tmp_path: Path) -> None:
    folder = _run_folder(kd_home, "r2")
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    os.symlink(secret, folder / "student_savedmodel" / "leak.pb")
    names = zipfile.ZipFile(io.BytesIO(ui_files.build_savedmodel_zip("r2"))).namelist()
    assert "student_savedmodel/leak.pb" not in names, f"a link is never served: {names}"
    other = _run_folder(kd_home, "r3")
    os.rename(other / "student_savedmodel", tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", other / "student_savedmodel")
    assert ui_files.savedmodel_files("r3") == [], "a SavedModel folder that is a link is not served"
