"""What one model family is, for every layer that needs to know: an entry of the family registry.

Why one record: a family used to be spread over the config (sizes, presets, recipe, parameter
count), the engine (a builder and an ``isinstance`` dispatch) and the UI (labels, captions, a
size cell), and nothing checked that those agreed. Here it is one value; the engine finds its
builder by the dotted name the entry gives, so this layer never imports Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kdcore.config.base import StrictModel

FAMILY_HELP = ("Model family: recurrent (the notebook's BiLSTM+BiGRU; the default for both models), ngram "
               "(unigram + hashed bigram embeddings, averaged) or conv (parallel Conv1D widths, max-pooled). "
               "The teacher and the student each take any family; only the teacher's brings a recipe.")


class FamilySize(StrictModel):
    """The sizes of one family's classifier. Each subclass declares ``family: Literal["<its name>"]``.

    A common base so that code handling "any model's sizes" (parameter counts, builders) can
    say so in its type, without a union that every new family would have to extend.
    """


@dataclass(frozen=True)
class Preset:
    """A named set of sizes (``teacher=tiny-ngram``), as the command line and the form offer it."""

    name: str
    size: FamilySize
    label: str  #: what the form's preset box shows
    for_tests: bool = False  #: a small model for tests and quick runs; listed after the full-size ones


@dataclass(frozen=True)
class Family:
    """Everything about one model family, from its sizes to the function that builds it.

    ``builder`` is ``"module:function"``, a function ``(size, vocab_size, maxlen, name, num_classes=2,
    mask_padding=False) -> keras.Model``
    in the engine, imported only when a model is built. ``recipe`` maps dotted config paths to
    the settings measured best for the family *as a teacher*: switching the teacher to it brings
    them along unless the user set them (see :mod:`kdcore.config.recipes`); every family sets the
    same paths, so switching back restores the previous family's values. Switching the student's
    family brings only ``student_size``: the recipe is the teacher's, not the student's.
    """

    name: str  #: the value of the size model's ``family`` field
    size: type[FamilySize]
    default_size: FamilySize  #: a teacher's sizes when the family is chosen without sizes
    student_size: FamilySize  #: a student's sizes when its family is chosen without sizes (smaller than a teacher)
    presets: tuple[Preset, ...]
    label: str  #: the form's name for the family
    caption: str  #: the form's one-line sketch of the architecture
    form_fields: Mapping[str, str]  #: size field -> its label, in the order the form shows them
    recipe: Mapping[str, Any]
    param_count: Callable[..., int]  #: (size, vocab_size, num_classes=2) -> Keras' count, without Keras
    size_text: Callable[[Mapping[str, Any]], str]  #: a stored size (maybe an old, partial one) as one table cell
    builder: str
