"""KD Studio's benchmarks, one module each, run from the repository root as ``python -m bench.run NAME``.

A package rather than a folder of scripts so that its modules import kdcore and each other
(``from bench.machine import ...``) the normal way, without editing ``sys.path``.

TensorFlow's C++ logging is quieted here because every ``python -m bench.X`` imports this
package first, before any benchmark imports TensorFlow (the setting is read at its import).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
