"""KD Studio's engine: knowledge distillation of an IMDB teacher into a smaller student.

Importing ``kdcore`` is cheap and never imports TensorFlow (the dashboard relies on that):
the config, paths and store load at once, the training entry point on first use.

    >>> from kdcore import RunConfig, apply_overrides
    >>> config = apply_overrides(RunConfig(), ["student=tiny", "distill.alpha=0.5"])
    >>> config.student_params() < config.teacher_params()
    True
"""

from __future__ import annotations

from typing import Any

from kdcore.config import ConfigError, RunConfig, apply_overrides, config_from_dict, load_config
from kdcore.paths import home_dir, run_dir

__all__ = ["ConfigError", "RunConfig", "apply_overrides", "config_from_dict", "load_config", "home_dir", "run_dir",
           "run_experiment"]


def __getattr__(name: str) -> Any:
    """``kdcore.run_experiment`` imports TensorFlow only when it is asked for."""
    if name == "run_experiment":
        from kdcore.engine.pipeline import run_experiment

        return run_experiment
    raise AttributeError(f"module 'kdcore' has no attribute {name!r}")
