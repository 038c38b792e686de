"""Build test submissions from a lesson: the solution, the untouched student version, and
the answer fixtures of ``tests/answers/`` (see :mod:`platformlab_instructor.answers`)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from platformlab_instructor.answers import Answer, load
from platformlab_instructor.grading.identify import grade_id


def wrong_answers(stem: str) -> list[Answer]:
    return load(stem, "wrong")


def correct_answers(stem: str) -> list[Answer]:
    return load(stem, "correct")


def with_answer(solution: Path, answer: Answer, target: Path) -> Path:
    """Write the solution notebook with one answer cell replaced by the fixture's ``source``."""
    notebook = nbformat.read(solution, as_version=4)
    cells = [cell for cell in notebook.cells if grade_id(cell) == answer.cell]
    if len(cells) != 1:
        raise LookupError(
            f"{answer.lesson}: answer fixture {answer.student} names cell {answer.cell!r}, found {len(cells)} such cells"
        )
    cells[0].source = answer.source
    nbformat.write(notebook, target)
    return target
