"""Time per mutant: the fork design of ``platformlab mutants`` against a naive run.

The naive run is what a tool without the fork would do: for each mutant, put the
mutated solution cell into the notebook and execute the whole notebook in a fresh
kernel (nbclient, as nbgrader does), paying kernel start, imports and every cell
before the exercise again. It runs on a sample of the mutants (``--sample``, spread
over the exercises); the fork design runs every mutant of the lesson. Both run with one
job, in the same run, and the verdicts of the sampled mutants are compared.

    .venv/bin/python benchmarks/mutants_benchmark.py [LESSON] [--sample N]

A plain script: it prints the timings and their ratio and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from platformlab_instructor.mutants import analysis, exercises, runner

ROOT = Path(__file__).resolve().parents[1]


def naive(lesson: exercises.Lesson, mutant, timeout: float) -> tuple[bool, float]:
    """Execute the whole notebook, ``mutant`` in place, in a fresh kernel: (killed, seconds)."""
    notebook = nbformat.read(lesson.path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code):
        cell.source = exercises.executable(mutant.source if index == mutant.index else cell.source)
    exercise = next(e for e in lesson.exercises if e.grade_id == mutant.exercise)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": scratch}}
        )
        try:
            client.execute()
        except Exception:  # noqa: BLE001 - a timeout or dead kernel kills the mutant, as in grading
            return True, time.perf_counter() - started
    seconds = time.perf_counter() - started
    failed = any(
        output.output_type == "error" or output.get("name") == "stderr"
        for index in range(exercise.first, exercise.test + 1)
        for output in code[index].get("outputs", [])
    )
    return failed, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", nargs="?", default="01")
    parser.add_argument("--sample", type=int, default=6, help="mutants run the naive way (default 6)")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    os.environ["PLATFORMLAB_ROOT"] = str(ROOT)

    [path] = exercises.find(ROOT, [args.lesson])
    lesson = exercises.read(path)
    plan = analysis.plan(lesson)
    mutants = [mutant for batch in plan.values() for mutant in batch]
    print(f"{lesson.stem}: {len(lesson.exercises)} exercises, {len(mutants)} mutants")

    started = time.perf_counter()
    [run] = runner.run([(lesson, plan)], ROOT, runner.Limits(timeout=args.timeout), jobs=1)
    fork_total = time.perf_counter() - started
    verdicts = {o.mutant: o.killed for outcomes in run.outcomes.values() for o in outcomes}
    print(
        f"fork:  {fork_total:7.1f} s for all {len(mutants)} mutants (worker start included), "
        f"{fork_total / len(mutants):.3f} s per mutant"
    )

    step = max(1, len(mutants) // args.sample)
    sample = mutants[::step][: args.sample]
    times, agree = [], 0
    for mutant in sample:
        killed, seconds = naive(lesson, mutant, args.timeout)
        times.append(seconds)
        agree += killed == verdicts[mutant.id]
        print(
            f"  naive {mutant.exercise:28} {mutant.id:28} {seconds:6.1f} s  "
            f"{'killed' if killed else 'survived'} (fork: {'killed' if verdicts[mutant.id] else 'survived'})"
        )
    per_naive = sum(times) / len(times)
    print(f"naive: {per_naive:7.3f} s per mutant ({len(sample)} sampled, a fresh kernel and the whole notebook each)")
    print(
        f"ratio: the fork design is {per_naive / (fork_total / len(mutants)):.1f}x faster per mutant; "
        f"verdicts agree on {agree} of {len(sample)} sampled mutants"
    )


if __name__ == "__main__":
    main()
