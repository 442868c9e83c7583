"""What the arms train on and how: the device in words, XLA, and the dtype policy of a run.

Kept apart from the steps of a run because these settings are the process's (Keras' global
dtype policy, the backend's devices), and because the scratch-baseline cache keys on them:
another device or compile setting is another result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import keras

#: ``train.mixed_precision`` -> Keras dtype policy.
PRECISION_POLICIES = {"off": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def device_description() -> str:
    """What the arms train on, in words: the GPU's name, or CPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
            return "GPU: " + ", ".join(names)
    elif backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform == "gpu"]
        if devices:
            return "GPU: " + ", ".join(d.device_kind for d in devices)
    return f"CPU ({os.cpu_count()} cores)"


def jit_setting(choice: str, device: str) -> bool | str:
    """No XLA on a CPU, Keras' choice on a GPU (cuDNN RNNs stay on), or what the config forces.

    Measured with bench/speed.py on this project's 2-core CPU (TF 2.21, Keras 3.15; results in
    bench/results/speed-xla-on.md vs speed.md): with XLA the teacher's and the scratch student's
    steady step speed was about half (39 vs 84, 121 vs 218 samples/s), and every first batch
    waited for compilation, so "auto" means off on a CPU.
    """
    if choice == "off":
        return False
    if choice == "on":
        return True
    return "auto" if device.startswith("GPU") else False


@contextmanager
def precision(mode: str) -> Iterator[None]:
    """Train under ``train.mixed_precision``'s policy; the process's previous policy is back afterwards.

    The policy is global to Keras, and one process (a test session, a notebook) may run
    several experiments with different settings.
    """
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(PRECISION_POLICIES[mode])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
