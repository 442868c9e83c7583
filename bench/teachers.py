"""Own teachers: an ensemble of the n-gram, conv and recurrent teachers against the n-gram teacher alone.

    .venv/bin/python -m bench.teachers                                   # reduced: 3,000 / 3,000 reviews
    .venv/bin/python -m bench.teachers --train-limit 0 --test-limit 0    # full IMDB (hours on 2 CPU cores)

Why: Hinton et al. (2015) distilled ensembles, and an ensemble usually beats each member; the
question for a user is whether its student beats the student of the best single teacher. Each
teacher is trained once with its family's recipe (all reading 400 tokens, so that the three can
be averaged: an ensemble's members read one length), then the notebook-size student is
distilled over 3 seeds from the ensemble (``teacher_source.kind=ensemble``, the members by run
id) and from the n-gram teacher alone (reused from the cache); the scratch twins are shared.
Writes ``bench/results/teachers.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.machine import machine_line, write_results

#: Family -> the preset of its teacher (the recurrent family's is the notebook's teacher).
FAMILIES = {"ngram": "ngram", "conv": "conv", "recurrent": "notebook-teacher"}
TEACHER_LENGTH = 400


def run(config: Any, home: Path, run_id: str, students: bool = True) -> dict[str, Any]:
    from kdcore.engine.pipeline import run_experiment
    from kdcore.progress import PrintReporter

    return run_experiment(config, home / "runs" / run_id, PrintReporter(), home=home, tick_interval=30.0,
                          students=students)


def seeds_line(summary: dict[str, Any]) -> str:
    seeds = summary.get("seeds") or {}
    student, gain = seeds.get("student") or {}, seeds.get("gain") or {}
    if student.get("mean") is None:
        return "n/a"
    half = gain.get("ci95")
    return (f"student {student['mean'] * 100:.2f} ± {student.get('std', 0) * 100:.2f}%, gain over scratch "
            f"{gain.get('mean', 0) * 100:+.2f}" + ("" if half is None else f" ± {half * 100:.2f}"))


def main(argv: list[str]) -> None:
    from kdcore.config import RunConfig, apply_overrides

    parser = argparse.ArgumentParser(prog="bench.teachers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default="~/.kdstudio-bench-teachers")
    parser.add_argument("--train-limit", type=int, default=3000, help="0: all 25,000")
    parser.add_argument("--test-limit", type=int, default=3000, help="0: all 25,000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], help="one more override for every run")
    args = parser.parse_args(argv)
    home = Path(args.home).expanduser()
    base = [f"data.teacher_maxlen={TEACHER_LENGTH}", f"train.seeds={args.seeds}", *args.set]
    base += [f"data.train_limit={args.train_limit}"] if args.train_limit else []
    base += [f"data.test_limit={args.test_limit}"] if args.test_limit else []
    teachers = {}
    for family, preset in FAMILIES.items():
        summary = run(apply_overrides(RunConfig(name=f"bench teacher {family}"), [f"teacher={preset}", *base]),
                      home, f"teacher-{family}", students=False)
        teachers[family] = summary["arms"]["teacher"]["test_accuracy"]
    members = ",".join(f"teacher-{family}" for family in FAMILIES)
    # An ensemble has fixed outputs, so no augmented transfer set (the n-gram recipe's): both students go without
    fixed = ["distill.augment_window=0", "distill.augment_mask=0"]
    ensemble = run(apply_overrides(RunConfig(name="bench ensemble"), [
        "teacher=ngram", "teacher_source.kind=ensemble", f"teacher_source.members={members}", *fixed, *base]),
        home, "ensemble")
    alone = run(apply_overrides(RunConfig(name="bench ngram alone"), ["teacher=ngram", *fixed, *base]), home,
                "ngram-alone")
    report = {"settings": base, "teachers": teachers, "ensemble": ensemble, "ngram_alone": alone,
              "machine": machine_line()}
    reduced = " (REDUCED: a slice of IMDB)" if args.train_limit or args.test_limit else ""
    md = (f"# An ensemble teacher against the n-gram teacher alone{reduced}\n\n{report['machine']}\n\n"
          f"Settings: `{' '.join(base)}`\n\n"
          + "\n".join(f"- {family} teacher: {acc * 100:.2f}%" for family, acc in teachers.items())
          + f"\n- ensemble (mean of log-probabilities): {ensemble['arms']['teacher']['test_accuracy'] * 100:.2f}%"
          + f"\n\n| teacher | notebook-size student, {args.seeds} seeds |\n| --- | --- |\n"
          + f"| ensemble | {seeds_line(ensemble)} |\n| n-gram alone | {seeds_line(alone)} |\n"
          + f"\nEnsemble: {ensemble.get('teacher_source', '')}\n")
    write_results("teachers", report, md)


if __name__ == "__main__":
    main(sys.argv[1:])
