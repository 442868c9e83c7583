"""Helpers for the dataset tests: tiny files written per test, and the check that nothing was stored."""

from __future__ import annotations

from pathlib import Path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows_csv(n_per_class: int = 5, classes: tuple[str, ...] = ("neg", "pos")) -> str:
    """A CSV with a text and a label column, ``n_per_class`` distinct texts per class."""
    lines = ["text,label"]
    for label in classes:
        lines += [f"a {label} review number {i} with some words,{label}" for i in range(n_per_class)]
    return "\n".join(lines) + "\n"


def stored(home: Path) -> list[str]:
    """Everything under <home>/datasets (hidden temporary folders included)."""
    folder = home / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
