"""The one error a dataset file can cause: bad input, said in words a user can act on."""

from __future__ import annotations


class DatasetError(ValueError):
    """A file, column or row that cannot become a dataset.

    The message names the file (and the column or row) and says what is allowed, so the
    Datasets page and ``kdcore dataset add`` show it as it is, never a traceback.
    """
