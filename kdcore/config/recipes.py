"""What a teacher family's recipe sets, and when the user's own value wins over it.

One rule for the three places that change the family: a config that names a family
(``RunConfig`` fills the recipe in for fields it leaves unset), the command line
(``apply_overrides``) and the New-run form (``switched_recipe``), so they cannot drift apart.

Only the teacher's family counts: a recipe holds what was measured best for a *teacher* of the
family (its length, epochs, optimizer, and the distillation settings that paid with it), so a
conv or n-gram student under the notebook's teacher keeps the notebook's settings.
"""

from __future__ import annotations

from typing import Any

from kdcore.config.families import FAMILY_RECIPES, family_of
from kdcore.config.tree import UNSET, get_path, is_set, set_path

AUGMENT_FIELDS = ("distill.augment_window", "distill.augment_mask")


def _recipe_value(path: str, value: Any, maxlen: Any) -> Any:
    """A recipe's value as it applies next to ``data.maxlen``: a teacher never reads less than the student."""
    if path == "data.teacher_maxlen" and value is not None and isinstance(maxlen, int):
        return max(value, maxlen)
    return value


def with_recipe(raw: Any) -> Any:
    """A raw config with its teacher family's measured settings in whatever it leaves unset."""
    if not isinstance(raw, dict):
        return raw
    recipe = FAMILY_RECIPES.get(family_of(raw.get("teacher") or {}))  # the teacher's alone, never the student's
    if not recipe:
        return raw
    out = dict(raw)
    filled = {path: _recipe_value(path, value, get_path(out, "data.maxlen")) for path, value in recipe.items()
              if not is_set(out, path)}
    given = {path: get_path(raw, path) for path in ("distill.teacher_view", *AUGMENT_FIELDS) if is_set(raw, path)}
    for path, value in _views_agree(filled, given).items():
        set_path(out, path, value)
    return out


def switched_recipe(previous: str, family: str, current: dict[str, Any], maxlen_before: Any, maxlen_now: Any,
                    given: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Recipe fields (path -> value) that a switch of the teacher from ``previous`` to ``family`` sets.

    A field set explicitly (``given``) or no longer at the value the previous family's recipe
    gave it is the user's and stays; the others follow the new family. One rule for the
    command line (``apply_overrides``) and the New-run form.
    """
    before = FAMILY_RECIPES.get(previous, {})
    out: dict[str, Any] = {}
    for path, value in FAMILY_RECIPES.get(family, {}).items():
        now = current.get(path, UNSET)
        if path in given or (path in before and now is not UNSET
                             and now != _recipe_value(path, before[path], maxlen_before)):
            continue
        out[path] = _recipe_value(path, value, maxlen_now)
    return _views_agree(out, current)


def _views_agree(out: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Where a recipe's value meets the user's, make augmentation and the teacher's view fit together.

    Augmented batches are labelled by the teacher from the student's words: a recipe's own
    view gives way to augmentation the user keeps, and a recipe's augmentation to the own
    view the user keeps. Two values of the user's that conflict are left for validation.
    """
    def now(path: str) -> Any:
        return out[path] if path in out else current.get(path, UNSET)

    if now("distill.teacher_view") != "own" or not any(now(p) not in (None, UNSET, 0) for p in AUGMENT_FIELDS):
        return out
    if "distill.teacher_view" in out:
        out["distill.teacher_view"] = "student"
    else:
        out.update({p: 0.0 for p in AUGMENT_FIELDS if p in out})
    return out
