"""A dataset file's bytes and text: size limit, decompression, binary detection, encoding.

Every format is read into memory, so the size limit guards memory as well as disk: the
file on disk and, for ``.gz``/``.bz2``/``.zip``, what it expands to. Decompression goes
through :func:`_read_limited`, which stops as soon as the count passes the limit, so a zip
bomb is refused after ``limit`` bytes, never expanded whole.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kdcore.datasets.errors import DatasetError

#: The largest file, or decompressed content, a dataset may have (the browser upload's limit too).
MAX_BYTES = 500 * 1024**2
#: Overrides :data:`MAX_BYTES` (bytes), e.g. for a server with more memory.
MAX_BYTES_ENV = "KDCORE_DATASET_MAX_BYTES"
#: Tried in order when a file is not UTF-8: Windows' Latin, then Mac Roman (which decodes every byte).
LEGACY_ENCODINGS = ("cp1252", "mac_roman")
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zip": "zip"}
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"PK\x03\x04": "zip"}
_CHUNK = 1024**2


def max_bytes() -> int:
    value = os.environ.get(MAX_BYTES_ENV, "")
    return int(value) if value.strip().isdigit() else MAX_BYTES


@dataclass(frozen=True)
class Source:
    """A file's content, decompressed: ``inner`` is the name whose suffix says the format."""

    data: bytes
    name: str
    inner: str
    sha256: str


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def _read_limited(stream: BinaryIO, name: str, limit: int) -> bytes:
    """Everything ``stream`` yields, or DatasetError once it passes ``limit`` bytes."""
    parts, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise DatasetError(f"{name} expands to more than {_mb(limit)} (the size limit): refused before "
                               "decompressing further; split it or raise $" + MAX_BYTES_ENV)
        parts.append(chunk)
    return b"".join(parts)


def _compression(path: Path, head: bytes) -> str | None:
    by_suffix = COMPRESSIONS.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def _unzip(raw: bytes, name: str, limit: int) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as e:
        raise DatasetError(f"{name} is not a readable zip archive ({e})") from None
    members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    if len(members) != 1:
        raise DatasetError(f"{name} holds {len(members)} files; a zipped dataset must hold exactly one data file")
    member = members[0]
    if member.file_size > limit:
        raise DatasetError(f"{name} expands to {_mb(member.file_size)}, over the size limit of {_mb(limit)}")
    try:
        with archive.open(member) as stream:
            return _read_limited(stream, name, limit), member.filename
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error) as e:  # corrupt, encrypted, odd method
        raise DatasetError(f"{name}: cannot read {member.filename} from the archive ({e})") from None


def load_source(path: Path, limit: int | None = None) -> Source:
    """The file's bytes, decompressed and size-checked; DatasetError for a missing, huge or bad file."""
    limit = max_bytes() if limit is None else limit
    name = path.name
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    size = path.stat().st_size
    if size > limit:
        raise DatasetError(f"{name} is {_mb(size)}, over the size limit of {_mb(limit)}")
    if size == 0:
        raise DatasetError(f"{name} is empty (0 bytes)")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    kind = _compression(path, raw[:4])
    inner = path.stem if kind and path.suffix.lower() in COMPRESSIONS else name
    try:
        if kind == "gzip":
            data = _read_limited(gzip.GzipFile(fileobj=io.BytesIO(raw)), name, limit)
        elif kind == "bz2":
            data = _read_limited(bz2.BZ2File(io.BytesIO(raw)), name, limit)
        elif kind == "zip":
            data, inner = _unzip(raw, name, limit)
        else:
            data = raw
    except (OSError, EOFError, ValueError, zlib.error) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{name} is not a valid {kind} file ({e})") from None
    if len(data) < _CHUNK and not data.strip():  # a bigger all-blank file fails later, as "no rows"
        raise DatasetError(f"{name} is empty" + (" once decompressed" if kind else ""))
    return Source(data=data, name=name, inner=inner, sha256=digest)


def _decode_error(data: bytes, name: str, encoding: str, e: UnicodeDecodeError) -> DatasetError:
    line = data.count(b"\n", 0, e.start) + 1
    return DatasetError(f"{name} line {line} (byte {e.start}) is not valid {encoding}; choose another encoding "
                        f"(e.g. utf-8, cp1252, latin-1, mac_roman) or leave it empty to detect one")


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding used): the user's encoding, else UTF-8 (a BOM honoured), else a legacy one.

    Binary content (a NUL byte in the first KB of a file without a UTF-16 BOM) is refused here,
    before any parser sees it. Line ends are left as they are (the parsers take CRLF).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding is None:
        encoding = "utf-16"
    elif b"\x00" in data[:1024] and not (encoding or "").lower().startswith("utf-16"):
        raise DatasetError(f"{name} is not a text file (it holds NUL bytes, as binary files do); allowed: CSV, "
                           "TSV, JSON Lines or Parquet, optionally .gz/.bz2/.zip")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DatasetError(f"{name}: unknown encoding {encoding!r}; e.g. utf-8, cp1252, latin-1, "
                               "mac_roman") from None
        bom_aware = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding  # no BOM in a column name
        try:
            return data.decode(bom_aware), encoding
        except UnicodeDecodeError as e:
            raise _decode_error(data, name, encoding, e) from None
    for candidate in ("utf-8-sig", *LEGACY_ENCODINGS):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return text, "utf-8" if candidate == "utf-8-sig" else candidate
    return data.decode("latin-1"), "latin-1"  # pragma: no cover (mac_roman decodes all)
