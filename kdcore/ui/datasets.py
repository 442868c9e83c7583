"""The Datasets page's logic: saving an upload, previewing a file, and what the page shows of datasets.

Why a module of its own: the page (``pages/datasets.py``) only draws; everything it can be
asked to decide (where an upload goes, which options a preview ran with, how a class count
or a length histogram looks, how a dataset is named in a table or a picker) is here, as pure
functions a unit test can call without Streamlit. The registry itself (parsing, checks,
storage) is ``kdcore.datasets``; this module never parses a data file itself.
No Streamlit and no TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdcore.datasets import DatasetError, Manifest, Preview, ReadOptions, preview
from kdcore.ui.format import fmt_time

if TYPE_CHECKING:  # the store is another module's job; only its methods matter here
    from kdcore.store import RunStore

#: What the uploader accepts; a compressed file's inner format comes from the name before ``.gz``.
UPLOAD_TYPES = ("csv", "tsv", "jsonl", "json", "parquet", "gz", "bz2", "zip")
#: Encodings offered to override the detected one (the registry detects; the user can correct it).
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "mac_roman", "utf-16")
#: The select box entry that means "let the registry guess / detect".
AUTO = ""
#: The built-in dataset's id, as ``data.dataset`` names it.
IMDB_ID = "imdb"
IMDB_LABEL = "IMDB (built in)"
_CHUNK = 1 << 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# -- uploads -------------------------------------------------------------------------------


def uploads_dir(home: Path) -> Path:
    """Where uploaded files are kept (``<home>/uploads``), so a preview and a later register read the same bytes."""
    return Path(home) / "uploads"


def safe_file_name(name: str) -> str:
    """The uploaded file's own name, reduced to a harmless one: no folders, no odd characters, the suffix kept.

    Why keep the suffix: the registry reads the format (``.csv.gz``, ``.parquet``) from it.
    """
    base = Path(str(name).replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return cleaned[-120:]


def save_upload(home: Path, name: str, data: IO[bytes] | bytes) -> Path:
    """Write an uploaded file to ``<home>/uploads/<sha256 prefix>-<name>`` and return that path.

    Atomic (a temporary file in the same folder, then a rename), so a preview never reads a
    half-written file; the same bytes uploaded again land on the same path and are not
    rewritten, so a cached preview of them stays valid.
    """
    stream = _as_stream(data)
    folder = uploads_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        target = folder / f"{digest.hexdigest()[:16]}-{safe_file_name(name)}"
        if target.is_file() and target.stat().st_size == Path(tmp_name).stat().st_size:
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
        return target
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{16}-")


def default_name(source: Path) -> str:
    """The name a dataset gets when none is typed: the file's name without its suffixes (and an upload's hash)."""
    name = Path(source).name
    if Path(source).parent.name == "uploads":
        name = _UPLOAD_PREFIX.sub("", name)
    return name.split(".")[0] or name


def _as_stream(data: IO[bytes] | bytes) -> IO[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    if hasattr(data, "seek"):
        data.seek(0)
    return data


# -- previews ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewAsk:
    """Everything a preview depends on; hashable, so a page can cache previews by it.

    ``stamp`` is each file's size and modification time: a file on the server that changed
    is read again, while a rerun that changed nothing reuses the cached preview.
    """

    source: str
    options: ReadOptions
    maxlen: int
    vocab_size: int
    validation: str | None = None
    test: str | None = None
    stamp: tuple = ()


def preview_ask(source: Path, options: ReadOptions, maxlen: int, vocab_size: int,
                validation: Path | None = None, test: Path | None = None) -> PreviewAsk:
    """A :class:`PreviewAsk` for these files as they are on disk now."""
    files = [p for p in (source, validation, test) if p is not None]
    return PreviewAsk(str(source), options, int(maxlen), int(vocab_size),
                      str(validation) if validation else None, str(test) if test else None,
                      tuple(_stamp(p) for p in files))


def _stamp(path: Path) -> tuple:
    try:
        st = Path(path).stat()
        return (str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return (str(path), None, None)


@dataclass(frozen=True)
class PreviewResult:
    """A preview, or the message that says what is wrong with the input (never both)."""

    preview: Preview | None = None
    error: str | None = None


def preview_or_error(ask: PreviewAsk) -> PreviewResult:
    """Run the registry's preview; a bad input becomes its message, an unexpected failure a message too.

    Why catch everything: the page must show what is wrong with a file, never a traceback;
    the registry's own :class:`DatasetError` already names the file, column or row.
    """
    try:
        found = preview(Path(ask.source), ask.options, maxlen=ask.maxlen, vocab_size=ask.vocab_size,
                        validation=Path(ask.validation) if ask.validation else None,
                        test=Path(ask.test) if ask.test else None)
        return PreviewResult(preview=found)
    except DatasetError as e:
        return PreviewResult(error=str(e))
    except MemoryError:
        return PreviewResult(error=f"{Path(ask.source).name}: too large to read into memory here.")
    except Exception as e:  # noqa: BLE001 - a file we cannot read is a message, whatever broke
        return PreviewResult(error=f"{Path(ask.source).name} could not be read ({type(e).__name__}: {e}).")


def file_columns(ask: PreviewAsk) -> list[str]:
    """The main file's columns as read, for the select boxes when no preview could guess them (else empty).

    Why: a file whose label the registry cannot guess (``choose the label column``) must still
    offer its columns to choose from.
    """
    from kdcore.datasets.reading import read_table  # the registry's reader: the same columns the preview sees

    try:
        return [str(c) for c in read_table(Path(ask.source), ask.options.encoding).frame.columns]
    except Exception:  # noqa: BLE001 - the preview's own message already says what is wrong
        return []


def read_options(text_column: str = AUTO, label_column: str = AUTO, split_column: str = AUTO,
                 encoding: str = AUTO, *, drop_missing: bool = False, val_fraction: float = 0.1,
                 test_fraction: float = 0.2, seed: int = 0) -> ReadOptions:
    """The registry's options from the page's select boxes, where the empty choice means "guess" or "none"."""
    return ReadOptions(text_column=text_column or None, label_column=label_column or None,
                       split_column=split_column or None, encoding=encoding or None, drop_missing=drop_missing,
                       val_fraction=float(val_fraction), test_fraction=float(test_fraction), seed=int(seed))


def with_columns(base: ReadOptions, guess: Preview | None, text_column: str = AUTO,
                 label_column: str = AUTO) -> ReadOptions:
    """The options with the chosen text and label columns, left to guessing where they are what was guessed.

    Why: the first preview guesses the columns and the select boxes then hold the guess; asking
    for the guessed columns by name would be another cache entry, so the file would be parsed
    a second time for the same preview.
    """
    def pick(chosen: str, guessed_column: str | None) -> str | None:
        if not chosen or (guess is not None and chosen == guessed_column):
            return None
        return chosen

    return replace(base, text_column=pick(text_column, guess.text_column if guess else None),
                   label_column=pick(label_column, guess.label_column if guess else None))


def guessed(options: ReadOptions, found: Preview) -> ReadOptions:
    """The options with the columns the preview settled on, so register reads the columns that were shown.

    The encoding stays as asked: detection gives the same answer again, and a label such as
    ``utf-8 (parquet)`` is not an encoding a reader could be given.
    """
    return replace(options, text_column=found.text_column, label_column=found.label_column)


def missing_counts(found: Preview) -> dict[str, int]:
    """Rows without a text and without a label, as the preview counted them (0 when it did not say)."""
    missing = found.missing if isinstance(found.missing, Mapping) else {}
    return {"texts": int(missing.get("texts", 0) or 0), "labels": int(missing.get("labels", 0) or 0)}


@dataclass(frozen=True)
class Fact:
    """One figure the preview shows as a metric: its label, value and what it means."""

    label: str
    value: str
    help: str = ""


def preview_facts(found: Preview, maxlen: int, vocab_size: int) -> list[Fact]:
    """The preview's counts as metrics, each with a sentence saying why it matters."""
    missing = missing_counts(found)
    sample = " Counted on a random sample of the texts (a large file)." if found.sampled else ""
    return [
        Fact("Rows", f"{found.rows:,}", "Rows read, in every file given."),
        Fact("Classes", f"{len(found.classes):,}", "Distinct labels, in the fixed (sorted) order the models use."),
        Fact(f"Truncated at {maxlen}", f"{found.truncated_share:.1%}",
             "Share of texts longer than the chosen length in tokens: their end is cut off." + sample),
        Fact(f"Vocabulary coverage at {vocab_size:,}", f"{found.vocab_coverage:.1%}",
             "Share of the tokens of the texts that a vocabulary of this size keeps." + sample),
        Fact("Duplicates", f"{found.duplicates:,}", "Rows whose text repeats an earlier row's (the repeats counted)."),
        Fact("Empty texts", f"{found.empty_texts:,}", "Rows whose text is empty or holds no word."),
        Fact("Missing texts", f"{missing['texts']:,}",
             "Rows without a text; register refuses them unless they are dropped."),
        Fact("Missing labels", f"{missing['labels']:,}",
             "Rows without a label; register refuses them unless they are dropped."),
    ]


def warnings_text(found: Preview) -> str:
    """The preview's warnings as one markdown list (one box, not a stack of them); empty when there are none."""
    return "\n".join(f"- {w[:1].upper()}{w[1:]}" for w in found.warnings)


def head_table(found: Preview, rows: int = 20) -> pd.DataFrame:
    """The first rows as read, for a look at what each column holds."""
    return found.head.head(rows)


# -- charts --------------------------------------------------------------------------------


def class_counts_figure(class_counts: Mapping[str, int], *, height: int = 320) -> go.Figure:
    """Rows per class as bars, in the class order the models use, so an imbalance is seen at once."""
    names = [str(c) for c in class_counts]
    counts = [int(v) for v in class_counts.values()]
    fig = go.Figure(go.Bar(x=names, y=counts, marker_color="#5B4DB5", text=[f"{c:,}" for c in counts],
                           textposition="auto", hovertemplate="%{x}: %{y:,} rows<extra></extra>"))
    fig.update_layout(title={"text": "Rows per class", "x": 0.0, "font": {"size": 16}}, height=height,
                      margin={"l": 10, "r": 10, "t": 48, "b": 10}, xaxis_title="class", yaxis_title="rows",
                      xaxis={"type": "category"})
    fig.update_yaxes(rangemode="tozero")
    return fig


def length_figure(lengths: Sequence[int] | np.ndarray, maxlen: int, truncated_share: float, *,
                  height: int = 320) -> go.Figure:
    """Texts' lengths in tokens as a histogram, with the chosen length drawn on it and the share it cuts."""
    values = np.asarray(lengths, dtype=float)
    fig = go.Figure(go.Histogram(x=values, nbinsx=60, marker_color="#0072B2",
                                 hovertemplate="%{x} tokens: %{y:,} texts<extra></extra>"))
    fig.add_vline(x=maxlen, line_dash="dash", line_color="#D55E00",
                  annotation_text=f"length {maxlen}: cuts {truncated_share:.1%}", annotation_position="top right")
    fig.update_layout(title={"text": "Text length (tokens)", "x": 0.0, "font": {"size": 16}}, height=height,
                      margin={"l": 10, "r": 10, "t": 48, "b": 10}, xaxis_title="tokens", yaxis_title="texts",
                      bargap=0.05, showlegend=False)
    return fig


# -- registered datasets -------------------------------------------------------------------


def splits_text(split_sizes: Mapping[str, int]) -> str:
    """``train 1,000 · val 100 · test 200``."""
    return " · ".join(f"{name} {int(split_sizes.get(name, 0)):,}" for name in ("train", "val", "test"))


def classes_text(classes: Sequence[str], shown: int = 6) -> str:
    """The class names, the first few of many and how many there are in all."""
    names = [str(c) for c in classes]
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f", … ({len(names):,} in all)"


def datasets_table(manifests: Iterable[Manifest]) -> pd.DataFrame:
    """The registered datasets, one row each: what the Datasets page lists."""
    rows = [{"Name": m.name, "Id": m.id, "Classes": classes_text(m.classes), "Rows": m.rows,
             "Splits": splits_text(m.split_sizes), "Split from": m.split_origin, "Source": m.source_name,
             "Registered": _when(m.created)} for m in manifests]
    columns = ["Name", "Id", "Classes", "Rows", "Splits", "Split from", "Source", "Registered"]
    return pd.DataFrame(rows, columns=columns)


def _when(created: str) -> str:
    try:
        return fmt_time(pd.Timestamp(created).timestamp())
    except (ValueError, TypeError):
        return str(created)


def dataset_label(manifest: Manifest) -> str:
    """How a picker names a dataset: ``tweets · 3 classes · 38,158 rows``."""
    return f"{manifest.name} · {len(manifest.classes)} classes · {manifest.rows:,} rows"


def dataset_choices(manifests: Iterable[Manifest]) -> dict[str, str]:
    """``data.dataset`` value -> label for the New-run picker: IMDB first, then every registered dataset."""
    return {IMDB_ID: IMDB_LABEL, **{m.id: dataset_label(m) for m in manifests if m.id != IMDB_ID}}


def estimate_config(config: dict[str, Any], dataset: Manifest | None) -> dict[str, Any]:
    """The config the time estimate reads: a registered dataset's training rows stand in for IMDB's 25,000."""
    data = config.get("data") or {}
    if dataset is None or data.get("train_limit"):
        return config
    return {**config, "data": {**data, "train_limit": max(1, int(dataset.split_sizes.get("train", 0)))}}


def runs_using(store: RunStore, dataset_id: str) -> list[str]:
    """The queued or running runs that read ``dataset_id``: while there are any, it cannot be deleted."""
    return sorted(store.active_datasets().get(dataset_id, ()))
