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


def plan(
    lesson: exercises.Lesson, only: list[str] | None = None, operators: list[str] | None = None, problems: list[str] | None = None
) -> dict[str, list[mutant.Mutant]]:
    """Exercise grade_id -> its mutants; ``only`` keeps the named exercises.

    An exercise whose solution code does not parse as Python is left out, and said so in ``problems``.
    """
    planned = {}
    for exercise in lesson.exercises:
        if only and exercise.grade_id not in only:
            continue
        try:
            planned[exercise.grade_id] = mutant.make(lesson, exercise, operators)
        except (SyntaxError, ValueError) as error:
            if problems is None:
                raise
            problems.append(f"{lesson.stem} {exercise.grade_id}: no mutants, its solution cells do not parse: {error}")
    return planned


def analyse(
    root: Path,
    names: list[str] | None = None,
    *,
    jobs: int = 1,
    limits: runner.Limits | None = None,
    equivalents_folder: Path | None = None,
    only: list[str] | None = None,
    operators: list[str] | None = None,
    progress=None,
) -> Analysis:
    """Make every mutant of the chosen lessons (all by default), run them, judge them.

    ``equivalents_folder`` defaults to ``tests/answers`` under ``root``; ``progress(text)``
    hears about the plan and each finished lesson. Raises ``LookupError`` for an unknown
    lesson or exercise and :class:`.equivalents.FormatError` for a malformed equivalent
    file, before running anything.
    """
    root = Path(root).resolve()
    folder = Path(equivalents_folder) if equivalents_folder else root / "tests" / "answers"
    lessons = [exercises.read(path) for path in exercises.find(root, names)]
    known = {exercise.grade_id for lesson in lessons for exercise in lesson.exercises}
    if only and set(only) - known:
        raise LookupError(
            f"no exercise {', '.join(sorted(set(only) - known))} in these lessons; "
            f"their exercises: {', '.join(sorted(known)) or 'none'}"
        )
    # With some operators only, entries of the others are not judged (they would all look stale).
    recorded = {
        lesson.stem: [entry for entry in equivalents.read(folder, lesson.stem) if not operators or entry.operator in operators]
        for lesson in lessons
    }
    analysis = Analysis()
    work = [(lesson, plan(lesson, only, operators, analysis.problems)) for lesson in lessons]
    say = progress or (lambda text: None)
    say(
        f"{len(lessons)} lessons, {sum(len(p) for _, p in work)} exercises, "
        f"{sum(len(m) for _, p in work for m in p.values())} mutants, {jobs} jobs"
    )
    runs = runner.run(
        work, root, limits or runner.Limits(), jobs, done=lambda run: say(f"{run.lesson}: done in {run.seconds:.1f} s")
    )
    for (lesson, lesson_plan), run in zip(work, runs):
        results, orphans = judge(lesson, lesson_plan, run, recorded[lesson.stem])
        analysis.results.extend(results)
        analysis.orphans.extend(orphans)
        analysis.problems.extend(f"{lesson.stem}: {problem}" for problem in run.problems)
    return analysis


def stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
