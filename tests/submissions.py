"""Build test submissions from a lesson: the solution, the untouched student
version, and the answer fixtures kept in ``tests/answers/``:

- ``<lesson>.wrong.yaml``: plausible wrong answers; the named test cell must score 0;
- ``<lesson>.correct.yaml``: alternative correct answers (another valid method); the
  named test cell must score full marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from platformlab_instructor.grading.identify import grade_id

ANSWERS = Path(__file__).parent / "answers"


@dataclass(frozen=True)
class Answer:
    """A replacement answer: ``source`` replaces solution cell ``cell``; test cell ``test``
    must score 0 (``kind == "wrong"``) or full marks (``kind == "correct"``)."""

    lesson: str
    kind: str
    number: int
    cell: str
    test: str
    why: str
    source: str

    @property
    def student(self) -> str:
        return f"{self.kind}-{self.number:02d}-{self.cell}"

    @property
    def fails(self) -> str:  # the wrong answers' word for their test cell
        return self.test


WrongAnswer = Answer


def answers(stem: str, kind: str) -> list[Answer]:
    """The ``kind`` ("wrong" or "correct") answer fixtures of lesson ``stem``, numbered from 1."""
    path = ANSWERS / f"{stem}.{kind}.yaml"
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    key = "fails" if kind == "wrong" else "passes"
    return [Answer(stem, kind, number, e["cell"], e[key], e["why"], e["source"]) for number, e in enumerate(entries, start=1)]


def wrong_answers(stem: str) -> list[Answer]:
    return answers(stem, "wrong")


def correct_answers(stem: str) -> list[Answer]:
    return answers(stem, "correct")


def with_answer(solution: Path, wrong: Answer, target: Path) -> Path:
    """Write the solution notebook with one answer cell replaced by the fixture's ``source``."""
    notebook = nbformat.read(solution, as_version=4)
    cells = [cell for cell in notebook.cells if grade_id(cell) == wrong.cell]
    if len(cells) != 1:
        raise LookupError(
            f"{wrong.lesson}: answer fixture {wrong.student} names cell {wrong.cell!r}, found {len(cells)} such cells"
        )
    cells[0].source = wrong.source
    nbformat.write(notebook, target)
    return target
