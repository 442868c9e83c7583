"""Dotted paths (``train.seed``) into a config as nested dicts or models: read, write, was-it-given.

Why a module of its own: overrides, recipes, stored configs and the New-run form all address
fields by the same dotted names, and must agree on what "set" means for a section that is a
model (the fields it was built with) rather than a dict (its keys).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: A missing value, where None is a value a field can hold.
UNSET: Any = object()


def get_path(tree: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path (``train.seed``) of nested dicts or models; ``default`` where it is missing."""
    node: Any = tree
    for part in path.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, part, default)
        elif isinstance(node, dict):
            node = node.get(part, default)
        else:
            return default
    return node


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted path, copying each section on the way so the caller's sections stay as they were."""
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, BaseModel):
            child = child.model_dump()
        if not isinstance(child, dict):
            child = {}
        node[part] = child = dict(child)
        node = child
    node[parts[-1]] = value


def is_set(tree: dict[str, Any], path: str) -> bool:
    """Whether ``path`` was given (a model section counts the fields it was built with).

    A section that is present but neither a mapping nor a model (``data: null``) counts as
    given: validation reports it.
    """
    section, _, name = path.partition(".")
    if section not in tree:
        return False
    node = tree[section]
    if isinstance(node, BaseModel):
        return name in node.model_fields_set
    if isinstance(node, dict):
        return name in node
    return True
