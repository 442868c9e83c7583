"""A teacher's outputs from any framework: a CSV, Parquet or ``.npy`` file of K values per training row.

Why a file: a PyTorch or JAX teacher (a fine-tuned transformer, say) never has to run in KD
Studio; its logits or probabilities on the training split are enough to distil from. The rows
are the data's training split in SOURCE order (IMDB: ``x_train`` as Keras loads it; a registered
dataset: its ``split == "train"`` rows in ``rows.parquet`` order), matched by an id column (each
row's 0-based number in that order, every number exactly once) or by the file's row order.

The K value columns are the classes in order (column ``i`` is class ``i``); an id column, when
named, is the only other column allowed. Probabilities (said, or detected: every value in
[0, 1] and every row summing to 1) become log-probabilities here, so what comes out is always
what goes before the temperature. Pandas and numpy only: the New-run form may call it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kdcore.datasets.errors import DatasetError
from kdcore.datasets.reading import read_table
from kdcore.datasets.sources import COMPRESSIONS, Source, decode, load_source

#: How far a row of probabilities may sum from 1 (float32 softmax exported as text loses a little).
SUM_TOLERANCE = 1e-3
#: Probabilities are clipped to this before their log, so that a 0 is a very unlikely class, not -inf.
MIN_PROBABILITY = 1e-12
NPY_MAGIC = b"\x93NUMPY"
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".parquet": "parquet",
                  ".pq": "parquet", ".npy": "npy"}
ALLOWED = "CSV (or TSV), Parquet or .npy (2-D floats), optionally .gz/.bz2/.zip"
Output = Literal["auto", "logits", "probabilities"]


@dataclass(frozen=True)
class SoftLabels:
    """Per-row teacher outputs as used: ``values[i]`` is training row ``i``'s, (rows, K) float64.

    Logits are as the file had them; probabilities are log-probabilities (``kind`` says which
    the file held). ``sha256`` is the file's, for the teacher cache key and the run's record.
    """

    values: np.ndarray
    kind: Literal["logits", "probabilities"]
    sha256: str
    source: str


def read_soft_labels(path: Path, *, rows: int, num_classes: int, id_column: str | None = None,
                     output: Output = "auto", split: str = "training") -> SoftLabels:
    """Read and check ``path`` against a split of ``rows`` rows and ``num_classes`` classes; DatasetError if wrong.

    ``split`` only words the messages ("the training split has 25,000 rows").
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path.name} is a folder; give one file (a folder of Parquet part files: combine them "
                           f"into one); allowed: {ALLOWED}")
    fmt = _format(path)
    if fmt == "npy":
        if id_column:
            raise DatasetError(f"{path.name}: an .npy file has no columns, so no id column {id_column!r}; leave "
                               "teacher_source.id_column empty (rows are matched by order) or use CSV or Parquet")
        source = load_source(path)
        values, where = _npy(source), _RowNames("row")
        sha256 = source.sha256
    else:
        frame, sha256, where = _table(path, fmt)
        values = _matrix(frame, path.name, id_column, where)
        if id_column:
            values = _by_id(frame[id_column], values, path.name, rows, id_column, where, split)
    if len(values) == 0:
        raise DatasetError(f"{path.name} holds no rows of soft labels")
    _check_shape(values, path.name, rows, num_classes, split)
    _check_finite(values, path.name, where)
    kind = _kind(values, path.name, output, where)
    if kind == "probabilities":
        values = np.log(np.clip(values, MIN_PROBABILITY, None))
    return SoftLabels(values=values, kind=kind, sha256=sha256, source=path.name)


class _RowNames:
    """How a message names data row ``i`` (0-based): a CSV's line too, since an editor shows lines."""

    def __init__(self, word: str, first_line: int | None = None):
        self.word, self.first_line = word, first_line

    def __call__(self, i: int) -> str:
        line = f" (line {self.first_line + i})" if self.first_line is not None else ""
        return f"{self.word} {i}{line}"


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    fmt = TABLE_SUFFIXES.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        shown = "".join(path.suffixes) or "no extension"
        raise DatasetError(f"{path.name} is not a table of soft labels ({shown}); allowed: {ALLOWED}")
    return fmt


def _npy(source: Source) -> np.ndarray:
    """A 2-D numeric array without pickle; a header that promises more than the bytes hold is refused first."""
    name, data = source.name, source.data
    if not data.startswith(NPY_MAGIC):
        raise DatasetError(f"{name} is not an .npy file (no NumPy header); allowed: {ALLOWED}")
    stream = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    except ValueError as e:
        raise DatasetError(f"{name}: its NumPy header is damaged ({e})") from None
    if dtype.hasobject or dtype.kind not in "iuf":
        raise DatasetError(f"{name} holds {dtype} values; soft labels are numbers (float or int), and object "
                           "arrays are never loaded (they would need pickle)")
    if len(shape) != 2:
        raise DatasetError(f"{name} holds a {len(shape)}-D array of shape {shape}; soft labels are a 2-D array "
                           "(rows, K): one row per training example, one column per class")
    if math.prod(shape) * dtype.itemsize > len(data) - stream.tell():
        raise DatasetError(f"{name}: its header declares {shape} of {dtype}, more than the file holds; it is damaged")
    stream.seek(0)
    return np.load(stream, allow_pickle=False).astype(np.float64)


def _table(path: Path, fmt: str) -> tuple[pd.DataFrame, str, _RowNames]:
    """A CSV (a header line optional) or Parquet file as a frame, its sha256, and how its rows are named."""
    if fmt == "parquet":
        table = read_table(path)
        return table.frame, table.sha256, _RowNames("row")
    source = load_source(path)
    text, _ = decode(source.data, source.name)
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    sep = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
    cells = [cell.strip().strip('"') for cell in first.split(sep)]
    # numbers are a first data row (numpy.savetxt), except 0,1,...: the column names pandas gives a bare array
    headerless = all(_is_number(cell) for cell in cells) and cells != [str(i) for i in range(len(cells))]
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None if headerless else 0, dtype=str,
                            keep_default_na=False, na_values=[""], skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path.name} is empty: no rows of soft labels") from None
    except pd.errors.ParserError as e:
        raise DatasetError(f"{path.name}: not valid CSV ({str(e).split('C error: ')[-1].strip()}); soft labels "
                           "are K numeric columns, one row per training example") from None
    if headerless:
        frame.columns = [f"column {i}" for i in range(frame.shape[1])]
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise DatasetError(f"{path.name} has a header but no rows of soft labels")
    return frame, source.sha256, _RowNames("row", 1 if headerless else 2)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _matrix(frame: pd.DataFrame, name: str, id_column: str | None, where: _RowNames) -> np.ndarray:
    """The value columns as floats: every column but the id column, each wholly numeric (else named)."""
    if id_column and id_column not in frame.columns:
        raise DatasetError(f"{name} has no column {id_column!r} (teacher_source.id_column); its columns: "
                           f"{', '.join(map(repr, frame.columns))}")
    columns = [c for c in frame.columns if c != id_column]
    if not columns:
        raise DatasetError(f"{name} has no value columns, only the id column {id_column!r}")
    if len(columns) == 1 and _holds_lists(frame[columns[0]]):
        return _list_column(frame[columns[0]], name, columns[0], where)
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        out[:, j] = _numeric(frame[column], name, column, id_column, where)
    return out


def _holds_lists(series: pd.Series) -> bool:
    """Whether a column holds one list of K numbers per row (``DataFrame({"logits": list(array)})`` in Parquet)."""
    if not pd.api.types.is_object_dtype(series) or series.empty:
        return False
    return isinstance(series.iloc[0], (list, tuple, np.ndarray))


def _list_column(series: pd.Series, name: str, column: str, where: _RowNames) -> np.ndarray:
    """A column of lists as a (rows, K) matrix; a row of another length, or not a list, is named."""
    cells = series.to_list()
    width = len(cells[0])
    for i, cell in enumerate(cells):
        if not isinstance(cell, (list, tuple, np.ndarray)) or len(cell) != width:
            found = f"{len(cell)} values" if isinstance(cell, (list, tuple, np.ndarray)) else repr(cell)
            raise DatasetError(f"{name}: column {column!r} holds lists of {width} values, but {where(i)} holds "
                               f"{found}; every row needs one value per class")
    try:
        return np.asarray([np.asarray(cell, dtype=np.float64) for cell in cells], dtype=np.float64).reshape(
            len(cells), width)
    except (TypeError, ValueError) as e:
        raise DatasetError(f"{name}: column {column!r} holds lists that are not all numbers ({e})") from None


def _numeric(series: pd.Series, name: str, column: str, id_column: str | None, where: _RowNames) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or not (pd.api.types.is_numeric_dtype(series)
                                                  or pd.api.types.is_object_dtype(series)
                                                  or pd.api.types.is_string_dtype(series)):
        raise DatasetError(f"{name}: column {column!r} holds {series.dtype} values, not numbers; soft labels are "
                           "K numeric columns" + (f" plus the id column {id_column!r}" if id_column else ""))
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    try:  # the fast path; Python's float reads "nan" and "inf" as numbers (refused later as non-finite)
        return series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    cells = series.to_numpy(dtype=object)
    out = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells):  # which cell is not a number (None is an empty cell)
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        try:
            out[i] = float(cell)
        except (TypeError, ValueError):
            break
    else:
        return out
    hint = "" if id_column else "; if it names the rows, set teacher_source.id_column to it"
    raise DatasetError(f"{name}: column {column!r} is not numeric: {where(i)} holds {series.iloc[i]!r}; soft "
                       "labels are K numeric columns" + (f" plus the id column {id_column!r}" if id_column else "")
                       + hint)


def _by_id(ids: pd.Series, values: np.ndarray, name: str, rows: int, column: str, where: _RowNames,
           split: str) -> np.ndarray:
    """``values`` reordered so that row ``i`` is the one whose id is ``i``; every id 0..rows-1 exactly once."""
    numbers = pd.to_numeric(ids, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise DatasetError(f"{name}: id column {column!r} {where(i)} holds {ids.iloc[i]!r}; ids are whole numbers, "
                           f"each row's 0-based number in the {split} split's source order")
    numbers = numbers.astype(np.int64)
    outside = np.flatnonzero((numbers < 0) | (numbers >= rows))
    if outside.size:
        i = int(outside[0])
        raise DatasetError(f"{name}: id column {column!r} {where(i)} holds {numbers[i]}; the {split} split has "
                           f"{rows:,} rows, so ids run from 0 to {rows - 1:,}")
    counts = np.bincount(numbers, minlength=rows)
    if (counts > 1).any():
        twice = np.flatnonzero(counts > 1)
        raise DatasetError(f"{name}: id column {column!r} repeats {twice.size:,} id(s): {_few(twice)}; each row of "
                           f"the {split} split must appear exactly once")
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        raise DatasetError(f"{name}: id column {column!r} lacks {missing.size:,} of the {split} split's {rows:,} "
                           f"rows: {_few(missing)}; give every row exactly once")
    out = np.empty_like(values)
    out[numbers] = values
    return out


def _few(numbers: np.ndarray, shown: int = 5) -> str:
    return ", ".join(str(int(n)) for n in numbers[:shown]) + (", ..." if len(numbers) > shown else "")


def _check_shape(values: np.ndarray, name: str, rows: int, num_classes: int, split: str) -> None:
    if values.shape[1] != num_classes:
        hint = " (both: a single sigmoid column is not enough)" if num_classes == 2 and values.shape[1] == 1 else ""
        raise DatasetError(f"{name} has {values.shape[1]} value column(s); the data has {num_classes} classes, so "
                           f"K={num_classes} columns are expected{hint}, one per class in the dataset's class order")
    if len(values) != rows:
        raise DatasetError(f"{name} has {len(values):,} rows; the {split} split has {rows:,} (in its source order). "
                           "Give one row per example, or an id column (teacher_source.id_column)")


def _check_finite(values: np.ndarray, name: str, where: _RowNames) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise DatasetError(f"{name}: {where(i)} value column {j} is {values[i, j]} (empty, NaN or infinite); every "
                           "soft label must be a finite number")


def _kind(values: np.ndarray, name: str, output: Output, where: _RowNames) -> Literal["logits", "probabilities"]:
    """Logits or probabilities: as said, else probabilities when every value is in [0, 1] (rows summing to 1)."""
    if output == "logits":
        return "logits"
    if output not in ("auto", "probabilities"):
        raise DatasetError(f"teacher_source.output must be auto, logits or probabilities, got {output!r}")
    in_unit = bool(((values >= 0) & (values <= 1)).all())
    if output == "auto" and not in_unit:
        return "logits"
    negative = np.argwhere(values < 0)
    if negative.size:
        i, j = (int(v) for v in negative[0])
        raise DatasetError(f"{name}: {where(i)} value column {j} is {values[i, j]:g}, a negative probability "
                           "(teacher_source.output=probabilities); if these are logits, set it to logits or auto")
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if off.size:
        i = int(off[0])
        said = "teacher_source.output=probabilities" if output == "probabilities" else (
            "every value lies in [0, 1], as probabilities do")
        raise DatasetError(f"{name}: {where(i)} sums to {sums[i]:.6g}, not 1 within {SUM_TOLERANCE:g} "
                           f"({said}; {off.size:,} row(s) are off); normalise each row, or set "
                           "teacher_source.output=logits if they are logits")
    return "probabilities"
