"""The README is part of the product: its config table and commands must match the code."""

from __future__ import annotations

from pathlib import Path

from kdcore.cli.main import build_parser
from kdcore.config import field_reference

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme__config_reference_lists_every_field_with_its_default():
    for row in field_reference():
        path, _, family = row["field"].partition(" ")  # `teacher.filters` (conv), as `kdcore schema` prints it
        start = f"| `{path}`{' ' + family if family else ''} |"
        line = next((ln for ln in README.splitlines() if ln.startswith(start)), None)
        assert line is not None, f"README's config reference lacks {row['field']} (rerun `python -m kdcore schema`)"
        assert f"| {row['default']!r} |" in line, f"README's default for {row['field']} is stale: {line}"


def test_readme__documents_every_cli_command():
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    for name in commands:
        assert f"kdcore {name}" in README or f"| {name} " in README or f"`{name}`" in README, \
            f"README does not mention `python -m kdcore {name}`"
