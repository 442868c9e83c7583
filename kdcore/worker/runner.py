"""Which function trains a run: the engine's pipeline by default, any ``module:function`` for tests and tools.

The engine (and with it TensorFlow) is imported only when a run really starts, inside the
worker's process, so the rest of :mod:`kdcore.worker` stays cheap to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from kdcore.config import RunConfig
from kdcore.progress import Reporter

#: ``runner(config, run_dir, reporter, home=home) -> summary``; the default is the pipeline.
Runner = Callable[..., dict]
DEFAULT_RUNNER = "kdcore.engine.pipeline:run_experiment"


def load_runner(spec: str = DEFAULT_RUNNER) -> tuple[Runner, Callable[[], str]]:
    """``module:function`` -> (runner, device description).

    The device description is the module's ``device_description`` if it has one.
    """
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise ValueError(f"runner must look like module:function, got {spec!r}")
    module = importlib.import_module(module_name)
    runner = getattr(module, func_name)
    describe = getattr(module, "device_description", None)
    return runner, (describe if callable(describe) else (lambda: "unknown"))


def pipeline_runner(config: RunConfig, run_dir: Path, reporter: Reporter, *, home: Path | None = None) -> dict:
    """The default runner: :func:`kdcore.engine.pipeline.run_experiment`, imported on the first run."""
    from kdcore.engine import pipeline  # TensorFlow: only once a run really starts

    return pipeline.run_experiment(config, run_dir, reporter, home=home)


def pipeline_device() -> str:
    """The default runner's device description, for the run's ``device`` column."""
    from kdcore.engine import pipeline

    return pipeline.device_description()
