"""The engine: data, models, distillation, training and one experiment end to end.

Layer: the only part of kdcore that imports Keras or TensorFlow. It runs in the worker's
process (or a CLI ``run`` in the foreground), never in the dashboard's.
"""
