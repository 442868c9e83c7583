"""What a file would become, before anything is saved: rows, columns, classes, lengths, gaps and leaks.

Token counts follow ``TextVectorization``'s defaults (lower case, punctuation stripped,
split on whitespace) so that the share truncated at ``maxlen`` is the one the student will
see. Counting every token of a big file is what would make a preview slow, so token
statistics, and the substring leak check, use a seeded sample (``sampled`` says so); class
counts, duplicates, empty texts and exact leaks use every row.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kdcore.datasets.options import DEFAULT_OPTIONS, ReadOptions
from kdcore.datasets.parsing import Parsed, parse_source

#: TextVectorization's default standardisation strips exactly these (after lower-casing).
_PUNCTUATION = "[" + re.escape(string.punctuation) + "]"
#: Validation/test texts checked for being contained in a training text, and training text scanned (characters).
LEAK_SAMPLE, LEAK_TRAIN_CHARS = 200, 2_000_000
#: Token statistics stop adding sampled texts at this many characters (long reviews cost more than tweets).
TOKEN_SAMPLE_CHARS = 12_000_000
#: Texts shorter than this (in characters) are not searched inside training texts: a short phrase occurs anywhere.
LEAK_MIN_CHARS = 20
IMBALANCE_RATIO = 3.0
EMPTY_CHECK_CHARS = 200


@dataclass
class Preview:
    """The preview's figures; ``warnings`` hold what registering would refuse or what the user should know."""

    head: pd.DataFrame
    columns: list[str]
    text_column: str
    label_column: str
    classes: tuple[str, ...]
    class_counts: dict[str, int]
    token_lengths: np.ndarray
    truncated_share: float
    vocab_coverage: float
    duplicates: int
    empty_texts: int
    missing: dict[str, int]
    encoding: str
    leaks: dict[str, int]
    rows: int
    sampled: bool
    split_sizes: dict[str, int] = field(default_factory=dict)
    split_origin: str = ""
    maxlen: int = 200
    vocab_size: int = 20000
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the shell: what ``kdcore dataset add`` prints before the id."""
        counts = ", ".join(f"{c} {n:,}" for c, n in self.class_counts.items())
        lines = [f"{self.rows:,} rows; text column {self.text_column!r}, label column {self.label_column!r}; "
                 f"encoding {self.encoding}",
                 f"{len(self.classes)} classes: {counts}",
                 "split: " + ", ".join(f"{k} {v:,}" for k, v in self.split_sizes.items()) + f" ({self.split_origin})",
                 f"tokens per text: median {np.median(self.token_lengths):.0f}, max {self.token_lengths.max():,}; "
                 f"{self.truncated_share:.1%} longer than maxlen {self.maxlen}; the {self.vocab_size:,} most frequent "
                 f"tokens cover {self.vocab_coverage:.1%}" + (" (sampled)" if self.sampled else ""),
                 f"duplicates {self.duplicates:,}, empty texts {self.empty_texts:,}"]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def token_stats(texts: list[str], vocab_size: int) -> tuple[np.ndarray, float]:
    """(tokens per text, share of token occurrences among the ``vocab_size`` most frequent), in pyarrow's C++."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.replace_substring_regex(pc.utf8_lower(pa.array(texts, pa.large_string())), pattern=_PUNCTUATION,
                                          replacement="")
    trimmed = pc.utf8_trim_whitespace(stripped)  # no empty first or last token
    words = pc.utf8_split_whitespace(trimmed)
    blank = pc.equal(trimmed, "").to_numpy(zero_copy_only=False)  # "" splits into [""]: no token, really
    lengths = pc.list_value_length(words).to_numpy(zero_copy_only=False).astype(np.int64) - blank
    flat = pc.list_flatten(words)
    counts = pc.value_counts(pc.filter(flat, pc.not_equal(flat, ""))).field("counts").to_numpy(zero_copy_only=False)
    if not counts.sum():
        return lengths, 0.0
    top = np.sort(counts)[::-1][:vocab_size]
    return lengths, float(top.sum() / counts.sum())


def preview(source: Path, options: ReadOptions = DEFAULT_OPTIONS, *, maxlen: int = 200, vocab_size: int = 20000,
            validation: Path | None = None, test: Path | None = None, sample_rows: int = 20000) -> Preview:
    """The preview of ``source``; DatasetError only for what no option can fix (see :mod:`.parsing`)."""
    parsed = parse_source(Path(source), options, validation=validation, test=test, lenient=True)
    return preview_parsed(parsed, maxlen=maxlen, vocab_size=vocab_size, sample_rows=sample_rows, seed=options.seed)


def preview_parsed(parsed: Parsed, *, maxlen: int, vocab_size: int, sample_rows: int, seed: int = 0) -> Preview:
    rows = parsed.rows
    texts = rows["text"]
    sample = texts.sample(n=min(sample_rows, len(texts)), random_state=seed).tolist()
    within = np.searchsorted(np.cumsum([len(t) for t in sample]), TOKEN_SAMPLE_CHARS) + 1
    sample = sample[:within]
    sampled = len(sample) < len(texts)
    lengths, coverage = token_stats(sample, vocab_size)
    counts = np.bincount(rows["label"].to_numpy(), minlength=len(parsed.classes))
    class_counts = {c: int(n) for c, n in zip(parsed.classes, counts)}
    short = texts[texts.str.len() < EMPTY_CHECK_CHARS]  # a longer text without a word is not worth the regex
    empty = int((~short.str.contains(r"[^\W_]", regex=True)).sum())
    codes, uniques = pd.factorize(texts)
    leaks, leak_notes = find_leaks(rows, codes, seed)
    result = Preview(
        head=parsed.head, columns=parsed.columns, text_column=parsed.text_column, label_column=parsed.label_column,
        classes=parsed.classes, class_counts=class_counts, token_lengths=lengths,
        truncated_share=float(np.mean(lengths > maxlen)) if len(lengths) else 0.0,
        vocab_coverage=coverage, duplicates=len(texts) - len(uniques),
        empty_texts=empty, missing=parsed.missing, encoding=parsed.encoding, leaks=leaks, rows=len(rows),
        sampled=sampled, split_sizes={p: int((rows["split"] == p).sum()) for p in ("train", "val", "test")},
        split_origin=parsed.split_origin, maxlen=maxlen, vocab_size=vocab_size)
    result.warnings = [*parsed.problems, *_warnings(result), *leak_notes]
    return result


def _warnings(p: Preview) -> list[str]:
    notes = []
    if not p.encoding.startswith(("utf-8", "n/a")):
        notes.append(f"the file is not UTF-8; read as {p.encoding} (choose another encoding if texts look wrong)")
    if p.duplicates:
        notes.append(f"{p.duplicates:,} texts occur more than once (the repeats counted)")
    if p.empty_texts:
        notes.append(f"{p.empty_texts:,} texts are empty or hold no word")
    sizes = [n for n in p.class_counts.values() if n]
    if sizes and max(sizes) / min(sizes) >= IMBALANCE_RATIO:
        notes.append(f"classes are imbalanced (largest/smallest = {max(sizes) / min(sizes):.1f}): accuracy alone "
                     "hides a weak class, read macro-F1")
    if p.truncated_share > 0.5:
        notes.append(f"{p.truncated_share:.0%} of texts are longer than maxlen {p.maxlen} tokens and will be cut")
    return notes


def find_leaks(rows: pd.DataFrame, codes: np.ndarray, seed: int = 0) -> tuple[dict[str, int], list[str]]:
    """Validation/test texts equal to a training text (all rows) or inside one (a bounded sample).

    ``codes`` are the texts' factorised codes (equal texts, equal codes): equality is then a
    vectorised set test, not a hash of every text in Python.
    """
    split = rows["split"].to_numpy()
    texts = rows["text"].to_numpy(dtype=object)
    is_train = split == "train"
    train = texts[is_train]
    train_codes = np.unique(codes[is_train])
    rng = np.random.default_rng(seed)
    haystack_parts, size = [], 0
    for i in rng.permutation(len(train)):
        if size > LEAK_TRAIN_CHARS:
            break
        haystack_parts.append(train[i])
        size += len(train[i]) + 1
    haystack = "\0".join(haystack_parts)
    leaks: dict[str, int] = {}
    notes: list[str] = []
    for part in ("val", "test"):
        in_part = split == part
        seen = np.isin(codes[in_part], train_codes)
        equal = int(seen.sum())
        candidates = [t for t in texts[in_part][~seen].tolist() if len(t) >= LEAK_MIN_CHARS]
        picked = [candidates[i] for i in rng.permutation(len(candidates))[:LEAK_SAMPLE]]
        contained = sum(1 for t in picked if t in haystack)
        leaks[f"{part}_equal"], leaks[f"{part}_contained"] = equal, contained
        if equal:
            notes.append(f"{equal:,} {part} texts also occur in training: their {part} figures are optimistic")
        if contained:
            partial = len(picked) < len(candidates) or len(haystack_parts) < len(train)
            scope = (f" (in a sample of {len(picked):,} of {len(candidates):,} {part} texts, against "
                     f"{len(haystack_parts):,} of {len(train):,} training texts)" if partial else "")
            notes.append(f"{contained:,} {part} texts are contained in a training text{scope}: overlapping rows "
                         f"leak into {part}")
    return leaks, notes
