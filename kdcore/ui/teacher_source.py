"""The New-run form's teacher source: what each choice asks, and the checks before a run is queued.

Why here and not in the page: the page draws; this decides. A ``.keras`` teacher is checked
by ``python -m kdcore teacher check`` in a subprocess (:mod:`kdcore.worker.teacher_check_process`),
because loading it imports TensorFlow, which the dashboard's process never does; its report is
kept per (file, size, time, data settings) so a rerun of the page does not check it again. A
soft-label file is read here at once (pandas only), against the chosen data's training rows and
classes. No Streamlit and no TensorFlow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdcore import paths
from kdcore.config import RunConfig
from kdcore.config.teacher_source import MODEL_SOURCES
from kdcore.datasets import DatasetError, Manifest, check_allowed
from kdcore.ui.format import fmt_params, fmt_pct
from kdcore.worker import teacher_check_process

if TYPE_CHECKING:
    from kdcore.store import RunRecord

#: Sources whose teacher runs in the worker (only they can label augmented batches).
RUNS_HERE = MODEL_SOURCES
KIND_LABELS = {"trained": "Trained here", "keras": "An uploaded .keras model",
               "soft_labels": "Soft labels from any framework", "ensemble": "An ensemble"}
KIND_CAPTIONS = {
    "trained": "KD Studio trains a teacher of the family below (or reuses an earlier run's).",
    "keras": "A model you already have, saved by Keras 3 as .keras: it reads raw strings (its own preprocessing "
             "inside) or this data's token ids, and returns K logits or probabilities. Checked on a few rows by "
             "the worker before the run is queued (never loaded in this app).",
    "soft_labels": "Per-example teacher outputs from any framework (PyTorch, JAX...): a CSV, Parquet or .npy of K "
                   "columns of logits or probabilities, one row per training row of the data (by an id column, or "
                   "in the registered file's order of its training rows).",
    "ensemble": "The mean of several teachers: earlier runs' and/or uploaded .keras models (Hinton et al. 2015).",
}
INPUT_LABELS = {"auto": "Auto (from its input's type)", "text": "Raw strings", "tokens": "Token ids"}
OUTPUT_LABELS = {"auto": "Auto (detected)", "logits": "Logits", "probabilities": "Probabilities"}
COMBINE_LABELS = {"log_probabilities": "Mean of log-probabilities (geometric)",
                  "probabilities": "Mean of probabilities (arithmetic)"}
KERAS_TYPES = ("keras",)
SOFT_LABEL_TYPES = ("csv", "parquet", "npy")
#: The training split of the built-in IMDB (``keras.datasets.imdb``'s x_train), in its source order.
IMDB_TRAIN_ROWS = 25_000
AUGMENT_REASON = ("Augmentation needs the teacher on every altered batch, so only a teacher that runs here "
                  "(trained here or an uploaded .keras) can label it.")


def training_rows(dataset: Manifest | None) -> int:
    """How many rows a soft-label file must have: the data's whole training split in source order."""
    if dataset is None:
        return IMDB_TRAIN_ROWS
    return int(dataset.split_sizes.get("train", 0))


def test_rows(dataset: Manifest | None) -> int:
    """How many rows a test-set soft-label file must have: the data's test split in source order."""
    if dataset is None:
        return IMDB_TRAIN_ROWS  # IMDB's x_test has as many rows as its x_train
    return int(dataset.split_sizes.get("test", 0))


def allowed_file(text: str | None, home: Path) -> tuple[Path | None, str | None]:
    """A typed or uploaded file, resolved under the documented path rule: (path, None) or (None, why not)."""
    if not text or not str(text).strip():
        return None, None
    try:
        path = check_allowed(str(text).strip(), home)
    except DatasetError as e:
        return None, str(e)
    if not path.is_file():
        return None, f"{text}: no such file on the server"
    return path, None


def _stamp(path: Path) -> tuple:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def soft_label_problems(cache: MutableMapping[Any, list[str]], text: str | None, *, home: Path, rows: int,
                        num_classes: int, id_column: str | None, output: str, split: str = "training") -> list[str]:
    """What is wrong with a soft-label file for this data (empty: it fits); read once per file and settings."""
    path, why = allowed_file(text, home)
    if path is None:
        return [why] if why else []
    key = ("soft", *_stamp(path), rows, num_classes, id_column or None, output, split)
    if key not in cache:
        try:
            from kdcore.datasets import read_soft_labels  # pandas/numpy only

            read_soft_labels(path, rows=rows, num_classes=num_classes, id_column=id_column or None, output=output,
                             split=split)
            cache[key] = []
        except (DatasetError, ValueError, OSError) as e:
            cache[key] = [str(e)]
        except ImportError:
            cache[key] = ["soft-label files cannot be read by this version of kdcore (kdcore.datasets.read_soft_labels "
                          "is missing)"]
    return list(cache[key])


# -- .keras teachers: the files, their checks ----------------------------------------------------------------------


def member_file(member: str, home: Path) -> Path:
    """An ensemble member's model: an earlier run's ``teacher.keras``, or the .keras file itself."""
    if member.endswith(".keras"):
        return Path(member)
    return paths.run_dir(member, home) / "teacher.keras"


def keras_files(config: RunConfig, home: Path) -> list[tuple[str, Path, bool]]:
    """(what the user chose, the model file, whether it is an earlier run's) of each .keras teacher of the config."""
    source = config.teacher_source
    if source.kind == "keras" and source.file:
        return [(source.file, Path(source.file), False)]
    if source.kind == "ensemble":
        return [(m, member_file(m, home), not m.endswith(".keras")) for m in source.members]
    return []


def check_key(path: Path, config: RunConfig) -> tuple:
    """What a check's verdict depends on: the file's bytes (path, size, time), the data, what it reads and returns."""
    source = config.teacher_source
    return ("keras", *_stamp(path), config.data.model_dump_json(), source.input, source.output)


def _file_problem(chosen: str, path: Path, of_run: bool, home: Path) -> str | None:
    """Why a teacher file cannot be checked (not there, or outside the folders the server may read), else None."""
    if of_run:
        if not path.is_file():
            return f"run {chosen} has no teacher.keras under {path.parent} (a soft-label or ensemble run keeps none)"
        return None
    return allowed_file(chosen, home)[1]


@dataclass(frozen=True)
class KerasCheck:
    """Each .keras teacher's report (None: not checked yet) and the problems to show under its field."""

    reports: dict[str, dict[str, Any] | None]  #: chosen file or run id -> its report
    problems: list[str]

    @property
    def pending(self) -> list[str]:
        return [chosen for chosen, report in self.reports.items() if report is None]


def keras_check(cache: MutableMapping[Any, Any], config: RunConfig, home: Path, *, run_missing: bool) -> KerasCheck:
    """The reports of the config's .keras teachers: cached ones, and (``run_missing``) a fresh check of the others."""
    reports: dict[str, dict[str, Any] | None] = {}
    problems: list[str] = []
    for chosen, path, of_run in keras_files(config, home):
        why = _file_problem(chosen, path, of_run, home)
        if why:
            reports[chosen] = {"ok": False, "problems": [why]}
        else:
            key = check_key(path, config)
            if key not in cache and run_missing:
                cache[key] = teacher_check_process.run_teacher_check(path, config, home)
            reports[chosen] = cache.get(key)
        report = reports[chosen]
        if report is not None:  # each problem names its file (or run), once
            name = f"run {chosen}" if of_run else Path(chosen).name
            problems += [p if (chosen if of_run else name) in p else f"{name}: {p}" for p in report.get("problems", [])]
    return KerasCheck(reports, problems)


def teacher_length(config: RunConfig) -> int:
    """The token length the teacher reads: ``data.teacher_maxlen``, else the review length."""
    return int(config.data.teacher_maxlen or config.data.maxlen)


def length_offer(reports: Iterable[dict[str, Any] | None], config: RunConfig) -> int | None:
    """The input length a token-id teacher was built for, when it differs from the form's teacher length."""
    for report in reports:
        if report and report.get("input") == "tokens" and isinstance(report.get("input_length"), int):
            if report["input_length"] != teacher_length(config):
                return int(report["input_length"])
    return None


def report_text(report: dict[str, Any]) -> str:
    """A check's findings in one line: what it reads, how many outputs, logits or probabilities, its size."""
    reads = {"text": "raw strings", "tokens": "token ids"}.get(report.get("input"), str(report.get("input", "?")))
    if report.get("input") == "tokens" and report.get("input_length"):
        reads += f" of length {report['input_length']}"
    parts = [f"reads {reads}"]
    if report.get("outputs") is not None:
        kind = "probabilities" if report.get("probabilities") else "logits"
        parts.append(f"{report['outputs']} outputs ({kind})")
    if report.get("params") is not None:
        parts.append(f"{fmt_params(report['params'])} params")
    head = f"`{report['name']}` " if report.get("name") else ""
    return head + " · ".join(parts)


def teacher_params(reports: dict[str, dict[str, Any] | None]) -> int | None:
    """The uploaded teacher's parameter count from its check (an ensemble: all members'), None until checked."""
    counts = [(r or {}).get("params") for r in reports.values()]
    if not counts or any(not isinstance(c, int) for c in counts):
        return None
    return sum(counts)


# -- ensembles -----------------------------------------------------------------------------------------------------


def teacher_runs(runs: Sequence[RunRecord], home: Path) -> list[RunRecord]:
    """Finished runs whose teacher model is kept here (``teacher.keras``), the ones an ensemble can use."""
    found = []
    for record in runs:
        if record.status == "succeeded" and paths.RUN_ID_PATTERN.match(record.id):
            if (paths.run_dir(record.id, home) / "teacher.keras").is_file():
                found.append(record)
    return found


def member_label(record: RunRecord) -> str:
    """``name · teacher family · test accuracy`` for the ensemble's multiselect."""
    config = record.config or {}
    family = (config.get("teacher") or {}).get("family") or "recurrent"
    kind = (config.get("teacher_source") or {}).get("kind", "trained")
    accuracy = ((record.summary or {}).get("arms") or {}).get("teacher", {}).get("test_accuracy")
    name = record.name or config.get("name") or record.id
    what = family if kind == "trained" else KIND_LABELS.get(kind, kind).lower()
    return f"{name} · {what} · {fmt_pct(accuracy)}"


def uploaded_models(home: Path) -> list[str]:
    """The .keras files uploaded earlier (``<home>/uploads``), newest first, to offer as members."""
    folder = Path(home) / "uploads"
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.keras"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [str(p) for p in files]


def report_json(report: dict[str, Any]) -> str:
    """A report as the page's details show it."""
    return json.dumps(report, indent=2, sort_keys=True)
