"""What a finished run reports: the per-arm results and the run's summary, and how they are computed.

Layer: the bottom, beside ``kdcore.paths`` and ``kdcore.progress``; written by the engine,
read by the UI, the CLI and the benchmarks. No Keras or TensorFlow.
"""
