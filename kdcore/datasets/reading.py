"""A dataset file or folder -> a DataFrame: CSV, TSV, JSON Lines, JSON, Parquet, or a folder of .txt files.

The format comes from the name (``.csv``, ``.tsv``/``.tab``, ``.jsonl``/``.ndjson``, ``.json``,
``.parquet``/``.pq``, after any ``.gz``/``.bz2``/``.zip``), else from the content. CSV and TSV
cells are read as strings (``""`` is missing) so that :mod:`kdcore.datasets.columns` decides
what a column holds, and a mixed label column is seen as mixed, not coerced.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kdcore.datasets.errors import DatasetError
from kdcore.datasets.folders import read_folder
from kdcore.datasets.sources import Source, decode, load_source, max_bytes

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}
OFFICE = (".xlsx", ".xls", ".xlsm", ".ods", ".odt", ".docx", ".doc", ".pdf", ".numbers")
ALLOWED = "CSV, TSV, JSON Lines, JSON (a list of objects) or Parquet, optionally .gz/.bz2/.zip; or a folder"


@dataclass(frozen=True)
class Table:
    """What a file holds, as read: the frame, the encoding used, and the file's identity."""

    frame: pd.DataFrame
    name: str
    encoding: str
    sha256: str
    split_column: str | None = None  # a folder's train/ and test/ sub-folders become a split column


def read_table(path: Path, encoding: str | None = None, limit: int | None = None) -> Table:
    """Read ``path`` (a file or a folder of class sub-folders); DatasetError for anything unreadable."""
    path = Path(path)
    limit = max_bytes() if limit is None else limit
    if path.is_dir():
        frame, used, digest, split = read_folder(path, encoding, limit)
        return Table(frame, path.name, used, digest, split)
    if path.suffix.lower() in OFFICE:
        raise DatasetError(f"{path.name} is a spreadsheet or document; save it as CSV (or TSV) first; allowed: "
                           f"{ALLOWED}")
    source = load_source(path, limit)
    fmt = _format(source)
    if fmt == "parquet":
        frame, used = _parquet(source, limit), "utf-8 (parquet)"
    else:
        text, used = decode(source.data, source.name, encoding)
        frame = _parse_text(fmt, text, source, used)
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DatasetError(f"{source.name} has no data rows" + (f" (columns: {', '.join(map(str, frame.columns))})"
                                                              if frame.shape[1] else ""))
    frame.columns = [str(c).strip() for c in frame.columns]  # " label" is the label column a user means
    return Table(frame, source.name, used, source.sha256)


def _format(source: Source) -> str:
    fmt = FORMATS.get(Path(source.inner).suffix.lower())
    start = source.data[:4096].lstrip()[:1]  # the head only: no copy of a big file
    if fmt == "json" and start == b"{":  # JSON Lines named .json
        return "jsonl"
    if fmt:
        return fmt
    if source.data.startswith(b"PAR1"):
        return "parquet"
    return {b"{": "jsonl", b"[": "json"}.get(start, "csv")


def _parquet(source: Source, limit: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(source.data))
        meta = parquet.metadata
        expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if expanded > limit:
            raise DatasetError(f"{source.name} expands to {expanded / 1024**2:,.0f} MB, over the size limit")
        return parquet.read().to_pandas()
    except DatasetError:
        raise
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise DatasetError(f"{source.name} is not a readable Parquet file ({e}); allowed: {ALLOWED}") from None


def _parse_text(fmt: str, text: str, source: Source, encoding: str) -> pd.DataFrame:
    if fmt == "jsonl":
        return _json_lines(text, source.name)
    if fmt == "json":
        return _json(text, source.name)
    if encoding == "utf-8":  # the bytes as they are, without a BOM: no copy for the fast parser
        utf8 = source.data[3:] if source.data.startswith(b"\xef\xbb\xbf") else source.data
    else:
        utf8 = text.encode("utf-8")
    return _csv(text, utf8, source.name, "\t" if fmt == "tsv" else _delimiter(text))


def _delimiter(text: str) -> str:
    """The CSV's separator: the one of , ; tab | most frequent in its header line (outside quotes)."""
    header = re.sub(r'"[^"]*"', "", text[: text.find("\n") if "\n" in text else len(text)])
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _header(text: str, sep: str, name: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(text[:1_000_000], newline=""), delimiter=sep))
    except (StopIteration, csv.Error):
        raise DatasetError(f"{name} is empty: no header, no rows") from None
    seen = set()
    for column in header:
        if column in seen:
            raise DatasetError(f"{name}: column {column!r} appears twice in the header; give each column its own name")
        seen.add(column)
    return header


def _arrow_csv(utf8: bytes, header: list[str], sep: str, quoted: bool) -> pd.DataFrame:
    """Every cell a string (empty = missing), by pyarrow's parser: several times pandas' speed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        io.BytesIO(utf8),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, quote_char='"' if quoted else False),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=True))
    if b"\r" in utf8:  # CRLF or a lone CR inside quoted texts: the same texts as a file saved with LF
        table = pa.table({c: pc.replace_substring(pc.replace_substring(table[c], "\r\n", "\n"), "\r", "\n")
                          for c in table.column_names})
    return table.to_pandas()


def _csv(text: str, utf8: bytes, name: str, sep: str) -> pd.DataFrame:
    import pyarrow as pa

    header = _header(text, sep, name)
    for quoted in (True, False) if sep == "\t" else (True,):  # TSV often holds bare quotes inside texts
        try:
            return _arrow_csv(utf8, header, sep, quoted)
        except pa.ArrowInvalid:
            continue
    try:  # pandas says where a file breaks; pyarrow does not
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                           engine="c").replace({"\r\n?": "\n"}, regex=True)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{name} is empty: no header, no rows") from None
    except pd.errors.ParserError as e:
        raise DatasetError(_csv_problem(text, name, sep, e)) from None


def _csv_problem(text: str, name: str, sep: str, error: Exception) -> str:
    """Where the CSV breaks, by line: an unmatched quote's first line, else pandas' own words."""
    line = unclosed_quote_line(text, sep)
    if line is not None:
        return (f"{name} line {line}: a quoted field starts here and never ends (an unmatched \"); close the "
                "quote, or double a quote inside a quoted field (\"\")")
    detail = str(error).split("C error: ")[-1].strip()
    return f"{name}: not valid CSV: {detail}"


def unclosed_quote_line(text: str, sep: str = ",") -> int | None:
    """The line where a quoted field that runs to the end of the file starts (None if there is none)."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    last = 0
    try:
        for _ in reader:
            last = reader.line_num
    except csv.Error as e:
        if "end of data" in str(e) or "EOF" in str(e):
            return last + 1
        return None
    finally:
        csv.field_size_limit(old)
    return None


def _json_lines(text: str, name: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{name} line {number} is not valid JSON ({e.msg}); JSON Lines holds one "
                               "object per line") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{name} line {number} holds a {type(record).__name__}, not an object "
                               '({"text": ..., "label": ...})')
        records.append(record)
    return pd.DataFrame.from_records(records)


def _json(text: str, name: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{name} line {e.lineno} is not valid JSON ({e.msg})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(f"{name} must hold a list of objects, one per row (or use JSON Lines, .jsonl)")
    return pd.DataFrame.from_records(data)
