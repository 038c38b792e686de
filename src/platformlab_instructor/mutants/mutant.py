"""Mutants of an exercise: its solution cells with one operator edit applied inside the solution markers.

A mutant is identified, across unrelated edits elsewhere in the notebook, by its
:attr:`Mutant.key`: the exercise, the operator and the text of the lines it changed,
before and after (whitespace-normalised), never a line number. Its ``id`` is a short
hash of that key, so it stays the same as long as those lines do.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import textwrap
from dataclasses import dataclass

from .exercises import Exercise, Lesson, solution_lines
from .operators import Code, edits


@dataclass(frozen=True)
class Mutant:
    """One mutated solution cell of one exercise."""

    id: str
    exercise: str
    cell: str
    index: int
    operator: str
    description: str
    line: int
    original: str
    mutated: str
    source: str
    diff: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return key(self.exercise, self.operator, self.original, self.mutated)


def normalize(text: str) -> str:
    """Lines stripped, runs of blanks as one space, blank lines dropped: how mutant text is compared."""
    return "\n".join(" ".join(line.split()) for line in str(text).splitlines() if line.strip())


def key(exercise: str, operator: str, original: str, mutated: str) -> tuple[str, str, str, str]:
    return exercise, operator, normalize(original), normalize(mutated)


def make(lesson: Lesson, exercise: Exercise, operators: list[str] | None = None) -> list[Mutant]:
    """Every distinct mutant of the exercise's solution code, in operator order.

    Edits that reach outside ``### BEGIN/END SOLUTION`` are discarded, as are those
    that do not parse and those whose code (comments and layout aside) equals the
    solution or an earlier mutant. Raises ``SyntaxError`` if a solution cell does not parse.
    """
    mutants, ids = [], set()
    for index in exercise.solutions:
        cell = lesson.cells[index]
        region = solution_lines(cell.source)
        code = Code(cell.source)
        seen = {ast.dump(code.tree)}
        lines = cell.source.splitlines()
        for edit in edits(code, operators):
            first, last = code.line(edit.start), code.line(max(edit.end - 1, edit.start))
            if not all(number in region for number in range(first, last + 1)):
                continue
            source = cell.source[: edit.start] + edit.text + cell.source[edit.end :]
            try:
                dump = ast.dump(ast.parse(source))
            except SyntaxError:
                continue
            if dump in seen:
                continue
            seen.add(dump)
            grown = edit.text.count("\n") - cell.source[edit.start : edit.end].count("\n")
            original = textwrap.dedent("\n".join(lines[first - 1 : last]))
            mutated = textwrap.dedent("\n".join(source.splitlines()[first - 1 : last + grown]))
            identity = "\x00".join(key(exercise.grade_id, edit.operator, original, mutated))
            digest = hashlib.sha1(identity.encode()).hexdigest()
            number, mutant_id = 1, f"{edit.operator}-{digest[:6]}"
            while mutant_id in ids:
                number += 1
                mutant_id = f"{edit.operator}-{digest[:6]}-{number}"
            ids.add(mutant_id)
            diff = "\n".join(
                difflib.unified_diff(
                    lines, source.splitlines(), cell.grade_id, f"{cell.grade_id} ({mutant_id})", n=1, lineterm=""
                )
            )
            mutants.append(
                Mutant(
                    mutant_id,
                    exercise.grade_id,
                    cell.grade_id,
                    index,
                    edit.operator,
                    edit.description,
                    first,
                    original,
                    mutated,
                    source,
                    diff,
                )
            )
    return mutants
