"""The engine: data, models, distillation, training and one experiment end to end.

Layer: the only part of kdcore that imports Keras or TensorFlow. It runs in the worker's
process (or a CLI ``run`` in the foreground), never in the dashboard's.

- ``pipeline``: :func:`run_experiment`, the order of a run's steps (teacher, then each seed's
  distilled student and scratch twin, then the summary).
- ``context``: what every step shares, and the one sequence each arm goes through.
- ``teacher``, ``students``, ``baselines``: the steps (train, reuse, publish to the caches).
- ``families/``: one builder per model family (the registry is ``kdcore.config.families``).
- ``models``, ``distill``, ``training``, ``augment``, ``optimizers``, ``data``: the parts.
- ``text``, ``text_export``: a registered dataset's texts as ids (a vocabulary fitted on its
  training split), and the raw-text student (``student_text.keras``) a run on one exports.
- ``teacher_sources``, ``teacher_check``: a teacher from elsewhere (an uploaded ``.keras``, soft
  labels, an ensemble) and the check of a teacher file before a run is queued.
- ``device``, ``files``, ``run_files``: the device, atomic writes, a run's own files.
"""
