"""What the dashboard's pages share, kept out of the page scripts so they stay thin and testable.

Nothing here draws a widget: these are the conversions between a flat form and a nested
:class:`~kdcore.config.RunConfig`, the tables the pages show, progress and time estimates for
the live view, and the bytes behind the download buttons. No TensorFlow is imported here
(the web process must stay light; see DESIGN.md), and ``kdcore.store``/``kdcore.worker`` are
only imported where they are used, so a page can still explain a broken install instead of
dying on import.
"""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kdcore.charts import arm_label, sorted_arms
from kdcore.config import SIZE_PRESETS, ConfigError, RunConfig, config_from_dict, param_count
from kdcore.paths import run_dir, validate_run_id

if TYPE_CHECKING:  # the store is another module's job; only its record shape matters here
    from kdcore.store import RunRecord

# -- the New run form ----------------------------------------------------------------------

#: Prefix of every New-run widget key; the rest of the key is the config field's dotted path,
#: so a validation problem (``student.lstm_units: ...``) maps straight back to its widget.
FORM_PREFIX = "form."

#: Config path -> label a person sees. Also the list of fields the form edits.
FIELD_LABELS: dict[str, str] = {
    "name": "Run name",
    "data.path": "Data file",
    "data.vocab_size": "Vocabulary size",
    "data.maxlen": "Review length (tokens)",
    "data.train_limit": "Training reviews",
    "data.test_limit": "Test reviews",
    "data.val_fraction": "Validation fraction",
    "data.validate_on": "Validate on",
    "teacher.embedding_dim": "Teacher · embedding dim",
    "teacher.lstm_units": "Teacher · LSTM units",
    "teacher.gru_units": "Teacher · GRU units",
    "teacher.embedding_dropout": "Teacher · embedding dropout",
    "teacher.dropout": "Teacher · dropout",
    "student.embedding_dim": "Student · embedding dim",
    "student.lstm_units": "Student · LSTM units",
    "student.gru_units": "Student · GRU units",
    "student.embedding_dropout": "Student · embedding dropout",
    "student.dropout": "Student · dropout",
    "distill.alpha": "Alpha",
    "distill.temperature": "Temperature",
    "distill.scale_t2": "T² scaling",
    "train.epochs": "Epochs",
    "train.teacher_epochs": "Teacher epochs",
    "train.batch_size": "Batch size",
    "train.learning_rate": "Learning rate",
    "train.seed": "Seed",
    "train.seeds": "Seeds (repeats)",
    "train.train_scratch": "Scratch baseline",
    "train.keep_best": "Keep best epoch",
    "train.monitor": "Best epoch by",
    "train.patience": "Patience (epochs)",
    "train.mixed_precision": "Mixed precision",
    "train.jit_compile": "XLA compile",
    "train.eval_batch_size": "Evaluation batch size",
    "teacher_from": "Reuse teacher from",
}
#: Fields where an empty widget means "not set" (None) rather than an empty string.
_EMPTY_IS_NONE = {"data.path", "teacher_from"}
SIZE_FIELDS = ("embedding_dim", "lstm_units", "gru_units", "embedding_dropout", "dropout")
CUSTOM_PRESET = "custom"
PRESET_LABELS = {CUSTOM_PRESET: "Custom", "notebook-teacher": "Notebook teacher",
                 "notebook-student": "Notebook student", "tiny": "Tiny (for tests)"}


def form_key(path: str) -> str:
    """The widget key of a config field: ``form.distill.alpha``."""
    return FORM_PREFIX + path


def _get_path(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


FORM_STASH = "new_run.stash"
PREFILL_KEY = "new_run.prefill"
PRESET_KEY = "preset."  # + role


VALIDATE_ON_LABELS = {"val": "Held-out validation split", "test": "Test set (notebook protocol, optimistic)"}


def teacher_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """Form values that must match a reused teacher: its sizes and the vocabulary/length it read."""
    values = form_values(config)
    keep = [f"teacher.{name}" for name in SIZE_FIELDS] + ["data.vocab_size", "data.maxlen"]
    return {form_key(path): values[form_key(path)] for path in keep}


def field_help(path: str) -> str:
    """The config field's own description, so the form's help and the schema never disagree."""
    from pydantic import BaseModel

    model: type[BaseModel] = RunConfig
    parts = path.split(".")
    for part in parts[:-1]:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    field = model.model_fields.get(parts[-1])
    return (field.description or "") if field else ""


def prepare_form_state(state: MutableMapping[str, Any]) -> str | None:
    """Give every New-run widget its value before the widgets are drawn.

    Order of precedence: a pending "new run from this one" (``state[PREFILL_KEY]``, consumed
    here), what the form held when the user last left the page (Streamlit drops a widget's
    state once its page is not shown), then RunConfig's defaults. Returns the id of the run
    the form was just pre-filled from, once, so the page can say so.
    """
    prefill = state.pop(PREFILL_KEY, None)
    if prefill is not None:
        values = form_values(prefill.get("config"))
        for key, value in values.items():
            state[key] = value
        for role in ("teacher", "student"):
            state[PRESET_KEY + role] = matching_preset(values, role)
        return prefill.get("from")
    stash = state.get(FORM_STASH) or {}
    defaults = form_values()
    for key, value in defaults.items():
        if key not in state:
            state[key] = stash.get(key, value)
    for role in ("teacher", "student"):
        if PRESET_KEY + role not in state:
            state[PRESET_KEY + role] = matching_preset(state, role)
    return None


def stash_form(state: MutableMapping[str, Any]) -> None:
    """Remember the form's values under a non-widget key so they survive a page change."""
    state[FORM_STASH] = {key: state.get(key) for key in form_values()}


def form_values(config: RunConfig | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Widget key -> value for every form field, from a config (default: RunConfig's defaults).

    Used to fill the form at first visit and for "new run from this one". A dict from an
    older run that lacks a field gets that field's default rather than an error.
    """
    defaults = RunConfig().model_dump()
    given = config.model_dump() if isinstance(config, RunConfig) else dict(config or {})
    values: dict[str, Any] = {}
    for path in FIELD_LABELS:
        value = _get_path(given, path)
        if value is None and path not in _EMPTY_IS_NONE and _get_path(defaults, path) is not None:
            value = _get_path(defaults, path)
        if path in _EMPTY_IS_NONE and value is None:
            value = "" if path == "data.path" else None
        values[form_key(path)] = value
    return values


def config_dict_from_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nest the flat widget values back into RunConfig's shape (not yet validated)."""
    raw: dict[str, Any] = {}
    for path in FIELD_LABELS:
        value = values.get(form_key(path))
        if path in _EMPTY_IS_NONE and (value is None or (isinstance(value, str) and not value.strip())):
            value = None
        elif isinstance(value, str) and path != "name":
            value = value.strip()
        node = raw
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return raw


def label_problem(problem: str) -> str:
    """``student.lstm_units: Input should be ...`` -> ``Student · LSTM units: Input should be ...``.

    The dotted path stays in the message (in backticks) so it can be matched to a config file.
    """
    path, sep, rest = problem.partition(": ")
    if sep and path in FIELD_LABELS:
        return f"**{FIELD_LABELS[path]}** (`{path}`): {rest}"
    if sep:
        return f"`{path}`: {rest}"
    return problem


def validate_form(values: Mapping[str, Any]) -> tuple[RunConfig | None, list[str]]:
    """The config the form describes, or None and every problem worded for a person."""
    try:
        return config_from_dict(config_dict_from_form(values)), []
    except ConfigError as e:
        return None, [label_problem(p) for p in e.problems]


def preset_values(role: str, preset: str) -> dict[str, Any]:
    """Widget values that put one model's sizes on a preset (role: teacher or student)."""
    size = SIZE_PRESETS[preset].model_dump()
    return {form_key(f"{role}.{name}"): size[name] for name in SIZE_FIELDS}


def matching_preset(values: Mapping[str, Any], role: str) -> str:
    """The preset whose sizes the form shows for this role, else ``custom``."""
    for name, size in SIZE_PRESETS.items():
        if all(values.get(form_key(f"{role}.{f}")) == v for f, v in size.model_dump().items()):
            return name
    return CUSTOM_PRESET


@dataclass(frozen=True)
class SizeEstimate:
    teacher_params: int | None
    student_params: int | None

    @property
    def compression(self) -> float | None:
        if self.teacher_params and self.student_params:
            return self.teacher_params / self.student_params
        return None


def size_estimate(values: Mapping[str, Any]) -> SizeEstimate:
    """Parameter counts of both models as the form stands, each None while its sizes are invalid.

    Computed per model, so a typo in the teacher does not hide the student's count.
    """
    from kdcore.config import ModelSize  # local: the model type only matters here

    raw = config_dict_from_form(values)
    vocab = raw.get("data", {}).get("vocab_size")

    def count(role: str) -> int | None:
        try:
            size = ModelSize.model_validate(raw.get(role, {}))
            if not isinstance(vocab, int) or vocab < 1:
                return None
            return param_count(size, vocab)
        except (ValueError, TypeError):
            return None

    return SizeEstimate(count("teacher"), count("student"))


# -- formatting ----------------------------------------------------------------------------

#: Colour and Material icon of each status, for markdown badges (no emoji: servers and
#: headless browsers often lack an emoji font).
STATUS_STYLE = {"queued": ("gray", "schedule"), "running": ("blue", "autorenew"),
                "succeeded": ("green", "check_circle"), "failed": ("red", "error"),
                "cancelled": ("orange", "cancel")}


def status_text(status: str) -> str:
    """The status as plain text (tables, select boxes)."""
    return status


def status_badge(status: str) -> str:
    """The status as a coloured markdown badge with an icon, e.g. ``:green-badge[...]``."""
    color, icon = STATUS_STYLE.get(status, ("gray", "help"))
    return f":{color}-badge[:material/{icon}: {status}]"


def fmt_params(n: int | float | None) -> str:
    """2857474 -> ``2.86 M``; people compare sizes, not digits."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "–"
    n = float(n)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "–"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def fmt_duration(seconds: float | None) -> str:
    """``75`` -> ``1 min 15 s``; None -> ``–``."""
    if seconds is None or seconds < 0 or math.isnan(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:.{digits}f}%"


def fmt_points(x: float | None) -> str:
    """A difference of two accuracies in percentage points, signed."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:+.2f} pts"


def fmt_time(ts: float | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if not ts:
        return "–"
    return time.strftime(pattern, time.localtime(ts))


def run_label(record: RunRecord) -> str:
    """How a run is named in select boxes: name (or id), status, id."""
    name = record.name or (record.config or {}).get("name") or ""
    head = f"{name} · " if name else ""
    return f"{head}{record.id} · {record.status}"


def size_text(size: Mapping[str, Any] | None) -> str:
    """Embedding/LSTM/GRU sizes as one short cell: ``128/64/128``."""
    if not size:
        return "–"
    return "/".join(str(size.get(k, "?")) for k in ("embedding_dim", "lstm_units", "gru_units"))


def run_duration(record: RunRecord, now: float | None = None) -> float | None:
    if not record.started_at:
        return None
    end = record.finished_at or (now if now is not None else time.time())
    return max(0.0, end - record.started_at)


# -- the Runs page -------------------------------------------------------------------------


def filter_runs(records: Iterable[RunRecord], statuses: Sequence[str] | None = None,
                text: str = "") -> list[RunRecord]:
    """Runs with one of ``statuses`` (all when empty) whose id, name or error contains ``text``."""
    needle = text.strip().lower()
    out = []
    for r in records:
        if statuses and r.status not in statuses:
            continue
        if needle and needle not in " ".join([r.id, r.name or "", r.error or ""]).lower():
            continue
        out.append(r)
    return out


def _percent(x: float | None) -> float | None:
    return None if x is None else round(x * 100, 2)


def runs_frame(records: Iterable[RunRecord], now: float | None = None) -> pd.DataFrame:
    """One row per run: what it was, how it went. Accuracies in percent (numbers, so they sort)."""
    rows = []
    for r in records:
        cfg = r.config or {}
        arms = (r.summary or {}).get("arms", {}) or {}
        train = cfg.get("train", {})
        distill = cfg.get("distill", {})
        student = arms.get("student", {})
        rows.append({
            "ID": r.id,
            "Name": r.name or cfg.get("name") or "",
            "Status": status_text(r.status),
            "Created": fmt_time(r.created_at, "%m-%d %H:%M"),
            "Teacher": "reused" if cfg.get("teacher_from") else size_text(cfg.get("teacher")),
            "Student": size_text(cfg.get("student")),
            "Alpha": distill.get("alpha"),
            "T": distill.get("temperature"),
            "Epochs": train.get("epochs"),
            "Teacher acc": _percent(arms.get("teacher", {}).get("test_accuracy")),
            "Student acc": _percent(student.get("test_accuracy")),
            "Scratch acc": _percent(arms.get("scratch", {}).get("test_accuracy")),
            "Gain (pts)": (student["gain_over_scratch"] * 100 if student.get("gain_over_scratch") is not None
                           else None),
            "Duration": fmt_duration(run_duration(r, now)),
        })
    # results first: on a narrow screen the table scrolls, and the ids matter least
    columns = ["Name", "Status", "Student acc", "Scratch acc", "Gain (pts)", "Teacher acc", "Teacher", "Student",
               "Alpha", "T", "Epochs", "Duration", "Created", "ID"]
    return pd.DataFrame(rows, columns=columns)


# -- the Live page -------------------------------------------------------------------------


def planned_arms(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(arm, planned epochs) in the order an experiment trains them; a reused teacher plans 0."""
    train = config.get("train", {}) or {}
    epochs = int(train.get("epochs") or 1)
    teacher_epochs = int(train.get("teacher_epochs") or epochs)
    arms: list[tuple[str, int]] = [("teacher", 0 if config.get("teacher_from") else teacher_epochs)]
    for seed in range(int(train.get("seeds") or 1)):
        suffix = f"@{seed}" if seed else ""
        arms.append((f"student{suffix}", epochs))
        if train.get("train_scratch", True):
            arms.append((f"scratch{suffix}", epochs))
    return arms


@dataclass(frozen=True)
class ArmProgress:
    arm: str
    label: str
    fraction: float  # 0..1 of the arm's planned work
    text: str
    planned_epochs: int


def arm_progress(record: RunRecord, curves: pd.DataFrame | None) -> list[ArmProgress]:
    """Progress of each planned arm, from the run's live fields and its stored curves.

    The current arm's position comes from the record (updated each heartbeat); other arms
    count as done when a later arm has started, or the run succeeded, since early stopping
    can end an arm before its planned epochs.
    """
    curves = curves if curves is not None else pd.DataFrame(columns=["arm", "kind", "fraction", "t"])
    summary_arms = (record.summary or {}).get("arms", {}) or {}
    plan = planned_arms(record.config or {})
    seen = {a for a in curves["arm"].unique()} if not curves.empty else set()
    # arms the run actually produced but the plan did not foresee still get a bar
    plan += [(a, int((record.config or {}).get("train", {}).get("epochs") or 1))
             for a in sorted_arms(seen) if a not in {p for p, _ in plan}]
    last_t = curves.groupby("arm")["t"].max().to_dict() if not curves.empty else {}
    first_t = curves.groupby("arm")["t"].min().to_dict() if not curves.empty else {}
    out = []
    for arm, planned in plan:
        label = arm_label(arm)
        rows = curves[curves["arm"] == arm] if not curves.empty else curves
        if arm == "teacher" and planned == 0:
            source = (record.config or {}).get("teacher_from")
            out.append(ArmProgress(arm, label, 1.0, f"reused from run {source}", 0))
            continue
        if record.status == "running" and record.arm == arm and record.steps:
            epochs = record.epochs or planned
            frac = (record.epoch + record.step / record.steps) / max(epochs, 1)
            text = f"epoch {record.epoch + 1}/{epochs} · batch {record.step}/{record.steps}"
            out.append(ArmProgress(arm, label, min(max(frac, 0.0), 1.0), text, planned))
            continue
        if rows.empty:
            if arm in summary_arms:
                out.append(ArmProgress(arm, label, 1.0, "done", planned))
            elif arm == "teacher" and (record.summary or {}).get("teacher_reused"):
                out.append(ArmProgress(arm, label, 1.0, "reused an identical earlier teacher", planned))
            else:
                out.append(ArmProgress(arm, label, 0.0, "not started" if record.status in ("queued", "running")
                                       else "not run", planned))
            continue
        epochs_done = int(rows.loc[rows["kind"] == "epoch", "epoch"].nunique())
        later_started = any(t > last_t[arm] for a, t in first_t.items() if a != arm)
        done = record.status == "succeeded" or arm in summary_arms or later_started
        if done:
            early = " (stopped early)" if planned and epochs_done < planned else ""
            out.append(ArmProgress(arm, label, 1.0, f"done · {epochs_done} epoch{'s' * (epochs_done != 1)}{early}",
                                   planned))
        else:
            frac = float(rows["fraction"].max()) / max(planned, 1)
            state = "stopped" if record.status in ("failed", "cancelled") else "training"
            out.append(ArmProgress(arm, label, min(max(frac, 0.0), 1.0),
                                   f"{state} · epoch {min(epochs_done + 1, planned)}/{planned}", planned))
    return out


def time_left(record: RunRecord, progress: Sequence[ArmProgress], now: float | None = None) -> float | None:
    """Rough seconds left: elapsed time scaled by the epochs still planned.

    Epochs of different arms cost differently (the teacher is bigger), so this is a rough
    guide, shown with a "≈"; None until there is enough progress to extrapolate from.
    """
    if record.status != "running":
        return None
    elapsed = run_duration(record, now)
    total = sum(p.planned_epochs for p in progress)
    done = sum(p.fraction * p.planned_epochs for p in progress)
    if not elapsed or total <= 0 or done < 0.02 * total:
        return None
    return max(0.0, elapsed * (total - done) / done)


def latest_samples_per_s(record: RunRecord, curves: pd.DataFrame | None) -> float | None:
    if record.samples_per_s:
        return float(record.samples_per_s)
    if curves is None or curves.empty:
        return None
    rows = curves[curves["name"] == "samples_per_s"]
    return float(rows.sort_values("t")["value"].iloc[-1]) if not rows.empty else None


def summary_frame(summary: Mapping[str, Any] | None) -> pd.DataFrame:
    """The finished run's results, one row per arm, formatted for reading rather than sorting."""
    arms = (summary or {}).get("arms", {}) or {}
    teacher_acc = (arms.get("teacher") or {}).get("test_accuracy")
    rows = []
    for arm in sorted_arms(arms):
        a = arms[arm] or {}
        share = a.get("teacher_share")
        if share is None and teacher_acc and a.get("test_accuracy") is not None and arm != "teacher":
            share = a["test_accuracy"] / teacher_acc
        rows.append({
            "Model": arm_label(arm),
            "Test accuracy": fmt_pct(a.get("test_accuracy")),
            "Test loss": f"{a['test_loss']:.4f}" if a.get("test_loss") is not None else "–",
            "Parameters": fmt_params(a.get("params")),
            "Size on disk": fmt_bytes(a.get("file_bytes")),
            "Training time": fmt_duration(a.get("train_seconds")),
            "Best epoch": str(a["best_epoch"] + 1) if a.get("best_epoch") is not None else "–",
            "Gain over scratch": fmt_points(a.get("gain_over_scratch")) if arm.startswith("student") else "",
            "Teacher accuracy kept": fmt_pct(share) if share is not None and arm != "teacher" else "",
        })
    return pd.DataFrame(rows)


def result_metrics(summary: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) for the four headline numbers of a finished run."""
    arms = summary.get("arms", {}) or {}
    student, teacher = arms.get("student") or {}, arms.get("teacher") or {}
    gain = student.get("gain_over_scratch")
    ratio = (teacher["params"] / student["params"]) if teacher.get("params") and student.get("params") else None
    return [
        ("Student test accuracy", fmt_pct(student.get("test_accuracy")),
         f"{fmt_points(gain)} vs scratch" if gain is not None else None),
        ("Teacher test accuracy", fmt_pct(teacher.get("test_accuracy")), None),
        ("Student is smaller by", f"{ratio:.1f}×" if ratio else "–", None),
        ("Total time", fmt_duration(summary.get("total_seconds")), None),
    ]


def seed_lines(summary: Mapping[str, Any] | None) -> list[str]:
    """Mean ± std over seeds, one sentence each, when the run repeated seeds (none for one seed)."""
    seeds = (summary or {}).get("seeds") or {}
    if len((seeds.get("student") or {}).get("values") or []) < 2:
        return []
    lines = []
    for role in ("student", "scratch"):
        s = seeds.get(role)
        if s and s.get("mean") is not None:
            n = len(s.get("values") or [])
            lines.append(f"{arm_label(role)}: {fmt_pct(s['mean'], 2)} ± {fmt_pct(s.get('std') or 0.0, 2)} "
                         f"test accuracy over {n} seed{'s' * (n != 1)}")
    gain = seeds.get("gain")
    if gain and gain.get("mean") is not None:
        verdict = ("larger than the spread between seeds" if gain.get("exceeds_spread")
                   else "within the spread between seeds")
        lines.append(f"Gain of distillation: {fmt_points(gain['mean'])} ± {abs((gain.get('std') or 0) * 100):.2f} "
                     f"pts, {verdict}")
    return lines


# -- downloads -----------------------------------------------------------------------------

#: Files a run may offer, and nothing else: names come from this list, never from a request.
ARTIFACTS = ("config.json", "summary.json", "metrics.csv", "student.keras", "student.weights.h5",
             "teacher.keras", "scratch.keras")


def artifact_path(run_id: str, filename: str, home: str | Path | None = None) -> Path:
    """Path of one known artifact of a run; the id is validated and the name must be known."""
    if filename not in ARTIFACTS:
        raise ValueError(f"unknown artifact {filename!r}; allowed: {', '.join(ARTIFACTS)}")
    return run_dir(validate_run_id(run_id), home) / filename


def available_artifacts(run_id: str, home: str | Path | None = None) -> dict[str, int]:
    """Artifact name -> size in bytes, for the ones this run has on disk."""
    out = {}
    for name in ARTIFACTS:
        p = artifact_path(run_id, name, home)
        if p.is_file():
            out[name] = p.stat().st_size
    return out


def artifact_reader(run_id: str, filename: str, home: str | Path | None = None) -> Callable[[], bytes]:
    """A no-argument callable that reads the file when called (when the button is clicked).

    Validation happens now, so a bad id fails on the page, not in Streamlit's download thread.
    """
    path = artifact_path(run_id, filename, home)
    return path.read_bytes


def build_run_zip(run_id: str, home: str | Path | None = None, *, config: Mapping[str, Any] | None = None,
                  curves: pd.DataFrame | None = None) -> bytes:
    """A zip of a run's config, metrics, summary and models, under a folder named after the run.

    Models (``.keras`` files are zips already) are stored, text is deflated. When the run's
    folder lacks ``config.json`` or ``metrics.csv`` (e.g. a run cut short), they are written
    from the store's copy passed in ``config`` and ``curves``.
    """
    buffer = io.BytesIO()
    present = available_artifacts(run_id, home)
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in present:
            compress = zipfile.ZIP_STORED if name.endswith((".keras", ".h5")) else zipfile.ZIP_DEFLATED
            zf.write(artifact_path(run_id, name, home), f"{run_id}/{name}", compress_type=compress)
        if "config.json" not in present and config is not None:
            zf.writestr(f"{run_id}/config.json", json.dumps(dict(config), indent=2) + "\n",
                        compress_type=zipfile.ZIP_DEFLATED)
        if "metrics.csv" not in present and curves is not None and not curves.empty:
            zf.writestr(f"{run_id}/metrics.csv", curves.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# -- run ids, entry point and the worker ----------------------------------------------------

#: Session-state key app.py sets on its first run in a session (and the worker check done).
ENTRY_FLAG = "worker_checked"
#: Query parameter that carries a deep link's page through app.py.
ENTRY_PAGE_PARAM = "page"


def entry_params(page: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters that send a page opened before app.py ran back through app.py.

    Streamlit runs a file in ``pages/`` on its own when a link to it is the first request a
    fresh server sees (before app.py's ``st.navigation`` has run once), skipping the page
    set-up and the worker start; the page redirects to app.py with these parameters.
    """
    return {**dict(query), ENTRY_PAGE_PARAM: page}


def entry_target(query: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(page name, the other parameters) when app.py was reached by :func:`entry_params`."""
    params = dict(query)
    return params.pop(ENTRY_PAGE_PARAM, None), params




def run_id_from_query(value: Any) -> str | None:
    """The ``?run=`` value, validated (raises InvalidRunId); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, list):  # a repeated parameter: the last one wins, as in st.query_params
        value = value[-1]
    return validate_run_id(str(value))


def start_local_worker(home: str | Path | None = None) -> str | None:
    """Make sure a local worker runs; return a sentence for the user when it could not.

    ``ensure_local_worker`` returns whether it spawned one (False: one is alive already);
    either way a worker exists. Any failure is turned into words: the dashboard still shows
    runs without a worker, and queued runs wait until one is started by hand.
    """
    try:
        from kdcore import worker

        worker.ensure_local_worker(home)
        return None
    except Exception as e:  # noqa: BLE001 - shown to the user instead of a traceback
        return (f"Could not start a local worker ({type(e).__name__}: {e}). Queued runs wait until one runs: "
                "`python -m kdcore worker`.")


def worker_status(home: str | Path | None = None) -> str:
    """One line for the sidebar: live workers and the queue, so a stuck queue is explained."""
    try:
        from kdcore import worker
        from kdcore.store import RunStore

        store = RunStore(home)
        try:
            alive = len(worker.alive_workers(store))
            counts = store.queue_counts()
        finally:
            store.close()
    except Exception as e:  # noqa: BLE001
        return f"Store not readable: {e}"
    workers = f"{alive} worker{'s' * (alive != 1)} alive" if alive else "no worker alive"
    return f"{workers} · {counts['running']} running · {counts['queued']} queued"
