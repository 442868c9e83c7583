"""What every config model shares: the error a bad config raises, and the strict base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """A config that cannot run; ``str()`` lists every bad field and what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


class StrictModel(BaseModel):
    """Frozen, no unknown keys. Lax on types on purpose: ``"3"`` from a form or ``--set`` means 3."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)
