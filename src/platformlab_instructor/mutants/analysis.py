"""Mutation analysis of a course, as a function: lessons in, judged exercises out.

The command (:mod:`.command`) and the test suite both call :func:`analyse`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import equivalents, exercises, mutant, runner
from .report import ExerciseResult, judge


@dataclass
class Analysis:
    """Every analysed exercise, stale entries naming no exercise, and cells that failed outside exercises."""

    results: list[ExerciseResult] = field(default_factory=list)
    orphans: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def stale(self) -> int:
        return sum(len(result.stale) for result in self.results) + len(self.orphans)


def plan(lesson: exercises.Lesson, only: list[str] | None = None,
         operators: list[str] | None = None) -> dict[str, list[mutant.Mutant]]:
    """Exercise grade_id -> its mutants; ``only`` keeps the named exercises."""
    return {exercise.grade_id: mutant.make(lesson, exercise, operators)
            for exercise in lesson.exercises if not only or exercise.grade_id in only}


def analyse(root: Path, names: list[str] | None = None, *, jobs: int = 1, limits: runner.Limits = runner.Limits(),
            equivalents_folder: Path | None = None, only: list[str] | None = None,
            operators: list[str] | None = None, progress=None) -> Analysis:
    """Make every mutant of the chosen lessons (all by default), run them, judge them.

    ``equivalents_folder`` defaults to ``tests/answers`` under ``root``; ``progress(text)``
    hears about the plan and each finished lesson. Raises ``LookupError`` for an unknown
    lesson and :class:`.equivalents.FormatError` for a malformed equivalent file, before
    running anything.
    """
    root = Path(root).resolve()
    folder = Path(equivalents_folder) if equivalents_folder else root / "tests" / "answers"
    lessons = [exercises.read(path) for path in exercises.find(root, names)]
    recorded = {lesson.stem: equivalents.read(folder, lesson.stem) for lesson in lessons}
    work = [(lesson, plan(lesson, only, operators)) for lesson in lessons]
    say = progress or (lambda text: None)
    say(f"{len(lessons)} lessons, {sum(len(p) for _, p in work)} exercises, "
        f"{sum(len(m) for _, p in work for m in p.values())} mutants, {jobs} jobs")
    runs = runner.run(work, root, limits, jobs, done=lambda run: say(f"{run.lesson}: done in {run.seconds:.1f} s"))
    analysis = Analysis()
    for (lesson, lesson_plan), run in zip(work, runs):
        results, orphans = judge(lesson, lesson_plan, run, recorded[lesson.stem])
        analysis.results.extend(results)
        analysis.orphans.extend(orphans)
        analysis.problems.extend(f"{lesson.stem}: {problem}" for problem in run.problems)
    return analysis


def stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
