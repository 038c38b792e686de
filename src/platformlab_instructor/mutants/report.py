"""Verdicts per exercise: counts, score, survivors as diffs; printed as a table or written as JSON.

The score of an exercise is the share of its non-equivalent mutants that its tests
kill (100% when it has none). ``seconds`` is the time its mutants ran, added up over
mutants (they run in parallel, so the sum can exceed the wall-clock time).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .equivalents import Equivalent
from .exercises import Lesson
from .mutant import Mutant
from .runner import LessonRun


@dataclass
class ExerciseResult:
    """One exercise's verdict; ``error`` is set when the numbers cannot be trusted."""

    lesson: str
    exercise: str
    cells: list[str]
    made: int
    killed: int
    survived: int
    equivalent: int
    seconds: float
    survivors: list[dict] = field(default_factory=list)  # id, operator, cell, line, description, original, mutated, diff
    equivalents: list[dict] = field(default_factory=list)  # id, why, where
    stale: list[dict] = field(default_factory=list)  # equivalent entries that excuse no survivor, and why
    mutants: list[dict] = field(default_factory=list)  # every mutant: id, operator, cell, line, description, status, reason
    error: str | None = None

    @property
    def score(self) -> float:
        judged = self.killed + self.survived
        return 100.0 * self.killed / judged if judged else 100.0

    def below(self, bar: float) -> bool:
        return self.score < bar


def _entry(entry: Equivalent, reason: str) -> dict:
    return {
        "where": entry.where,
        "exercise": entry.exercise,
        "operator": entry.operator,
        "original": entry.original,
        "mutated": entry.mutated,
        "reason": reason,
    }


def judge(
    lesson: Lesson, plan: dict[str, list[Mutant]], run: LessonRun, entries: list[Equivalent]
) -> tuple[list[ExerciseResult], list[dict]]:
    """The lesson's results, and the stale entries that name no exercise of it."""
    results, known = [], {exercise.grade_id for exercise in lesson.exercises}
    for exercise in lesson.exercises:
        if exercise.grade_id not in plan:
            continue
        outcomes = {outcome.mutant: outcome for outcome in run.outcomes.get(exercise.grade_id, [])}
        mine = [entry for entry in entries if entry.exercise == exercise.grade_id]
        used = {entry.where: False for entry in mine}
        result = ExerciseResult(
            lesson.stem,
            exercise.grade_id,
            [lesson.cells[i].grade_id for i in exercise.solutions],
            made=len(plan[exercise.grade_id]),
            killed=0,
            survived=0,
            equivalent=0,
            seconds=round(sum(outcome.seconds for outcome in outcomes.values()), 2),
            error=run.errors.get(exercise.grade_id),
        )
        missing = 0
        for mutant in plan[exercise.grade_id]:
            outcome = outcomes.get(mutant.id)
            matched = [entry for entry in mine if entry.key == mutant.key]
            if outcome is None:
                status, reason, missing = "not run", "no verdict", missing + 1
            elif outcome.killed:
                status, reason = "killed", outcome.reason
                result.killed += 1
            elif matched:
                status, reason = "equivalent", matched[0].why
                result.equivalent += 1
                for entry in matched:
                    used[entry.where] = True
                result.equivalents.append({"id": mutant.id, "why": matched[0].why, "where": matched[0].where})
            else:
                status, reason = "survived", ""
                result.survived += 1
                result.survivors.append(
                    {
                        "id": mutant.id,
                        "operator": mutant.operator,
                        "cell": mutant.cell,
                        "line": mutant.line,
                        "description": mutant.description,
                        "original": mutant.original,
                        "mutated": mutant.mutated,
                        "diff": mutant.diff,
                    }
                )
            result.mutants.append(
                {
                    "id": mutant.id,
                    "operator": mutant.operator,
                    "cell": mutant.cell,
                    "line": mutant.line,
                    "description": mutant.description,
                    "status": status,
                    "reason": reason,
                }
            )
        if missing and not result.error:
            result.error = f"{missing} mutants have no verdict (the lesson worker failed)"
        for entry in mine:
            if not used[entry.where]:
                killed = any(entry.key == mutant.key for mutant in plan[exercise.grade_id])
                result.stale.append(
                    _entry(
                        entry, "the tests kill this mutant: it is not needed" if killed else "matches no mutant of this exercise"
                    )
                )
        results.append(result)
    orphans = [
        _entry(entry, f"{lesson.stem} has no exercise {entry.exercise!r}") for entry in entries if entry.exercise not in known
    ]
    return results, orphans


def write_json(results: list[ExerciseResult], file: Path) -> None:
    """The report: a list with one object per exercise (its fields, and ``score`` in percent)."""
    rows = [{**asdict(result), "score": round(result.score, 1)} for result in results]
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


_COLUMNS = ("lesson", "exercise", "made", "killed", "survived", "equivalent", "score", "seconds")


def table(results: list[ExerciseResult], bar: float) -> str:
    """One row per exercise; rows below the bar or in error are flagged at the end."""
    rows = [_COLUMNS]
    for result in results:
        flag = "  ERROR" if result.error else f"  < {bar:g}%" if result.below(bar) else ""
        rows.append(
            (
                result.lesson,
                result.exercise,
                str(result.made),
                str(result.killed),
                str(result.survived),
                str(result.equivalent),
                f"{result.score:.1f}%",
                f"{result.seconds:.1f}{flag}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            value.ljust(width) if column < 2 or column == len(row) - 1 else value.rjust(width)
            for column, (value, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def details(results: list[ExerciseResult], orphans: list[dict], equivalents_folder: Path) -> str:
    """Errors, surviving mutants as diffs, and stale equivalent entries; empty if there are none."""
    parts = []
    for result in results:
        if result.error:
            parts.append(f"ERROR {result.lesson} {result.exercise}: {result.error}")
    survivors = [result for result in results if result.survivors]
    if survivors:
        parts.append(
            "Surviving mutants: strengthen the hidden tests (and keep the mutant as a wrong answer), or record\n"
            f"a mutant that cannot change any result in {equivalents_folder}/NN-slug.equivalent.yaml."
        )
    for result in survivors:
        parts.append(f"{result.lesson} {result.exercise}: {result.survived} of {result.made} survive ({result.score:.1f}%)")
        for survivor in result.survivors:
            diff = "\n".join(f"    {line}" for line in survivor["diff"].splitlines())
            parts.append(f"  [{survivor['id']}] {survivor['cell']} line {survivor['line']}: {survivor['description']}\n{diff}")
    stale = [entry for result in results for entry in result.stale] + orphans
    if stale:
        parts.append("Stale equivalent entries (remove them):")
        parts.extend(f"  {entry['where']} ({entry['exercise']}, {entry['operator']}): {entry['reason']}" for entry in stale)
    return "\n\n".join(parts)


def closing(results: list[ExerciseResult], bar: float, stale: int = 0, problems: int = 0) -> str:
    """E.g. ``24 exercises, 812 mutants, 95.1% killed, 3 below 90%: test_a (01), ...``."""
    made = sum(result.made for result in results)
    killed = sum(result.killed for result in results)
    judged = killed + sum(result.survived for result in results)
    below = [result for result in results if result.below(bar)]
    line = (
        f"{len(results)} exercises, {made} mutants, {100.0 * killed / judged if judged else 100.0:.1f}% killed, "
        f"{sum(result.equivalent for result in results)} equivalent, {len(below)} below {bar:g}%"
    )
    if below:
        line += ": " + ", ".join(f"{result.exercise} ({result.lesson[:2]}, {result.score:.1f}%)" for result in below)
    errors = sum(1 for result in results if result.error) + problems
    if errors:
        line += f"; {errors} errors"
    if stale:
        line += f"; {stale} stale equivalent entries"
    return line
