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
           "run_experiment", "sweep"]


def sweep(grid: dict[str, list[Any]], base: RunConfig | dict[str, Any] | None = None, *, name: str = "",
          sample: int | None = None, seed: int = 0, halving: dict[str, Any] | None = None,
          home: str | None = None) -> str:
    """Queue a sweep (every point validated first; ConfigError names a bad field) and return its id.

        >>> sweep_id = sweep({"distill.alpha": [0.1, 0.5], "distill.temperature": [2, 5]},
        ...                  base={"student": "tiny"})  # doctest: +SKIP

    A worker (``python -m kdcore worker``, or the app's) trains the runs; one teacher for all of them.
    """
    from kdcore.store import RunStore

    raw_base = base.model_dump(mode="json") if isinstance(base, RunConfig) else dict(base or {})
    spec = {"name": name, "base": raw_base, "grid": grid, "sample": sample, "seed": seed,
            "halving": halving or {}}
    with RunStore(home) as store:
        return store.create_sweep(spec)


def __getattr__(name: str) -> Any:
    """``kdcore.run_experiment`` imports TensorFlow only when it is asked for."""
    if name == "run_experiment":
        from kdcore.engine.pipeline import run_experiment

        return run_experiment
    raise AttributeError(f"module 'kdcore' has no attribute {name!r}")
