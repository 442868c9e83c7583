"""The README and docs/ are part of the product: the config reference and the commands must match the code."""

from __future__ import annotations

from pathlib import Path

from kdcore.cli.main import build_parser
from kdcore.config import field_reference

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: The generated field reference moved out of the README into its own page.
CONFIG_DOC = (ROOT / "docs" / "config.md").read_text()


def test_config_doc__reference_lists_every_field_with_its_default():
    for row in field_reference():
        path, _, family = row["field"].partition(" ")  # `teacher.filters` (conv), as `kdcore schema` prints it
        start = f"| `{path}`{' ' + family if family else ''} |"
        line = next((ln for ln in CONFIG_DOC.splitlines() if ln.startswith(start)), None)
        assert line is not None, f"docs/config.md's reference lacks {row['field']} (rerun `python -m kdcore schema`)"
        assert f"| {row['default']!r} |" in line, f"docs/config.md's default for {row['field']} is stale: {line}"


def test_readme__documents_every_cli_command():
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    for name in commands:
        assert f"kdcore {name}" in README or f"| {name} " in README or f"`{name}`" in README, \
            f"README does not mention `python -m kdcore {name}`"
