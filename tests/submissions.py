"""Build test submissions from a lesson: the solution, the untouched student
version, and the wrong answers kept in ``tests/wrong_answers/<lesson>.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from platformlab.grading.identify import grade_id

WRONG_ANSWERS = Path(__file__).parent / "wrong_answers"


@dataclass(frozen=True)
class WrongAnswer:
    """A plausible mistake: ``source`` replaces solution cell ``cell``; test cell ``fails`` must score 0."""

    lesson: str
    number: int
    cell: str
    fails: str
    why: str
    source: str

    @property
    def student(self) -> str:
        return f"wrong-{self.number:02d}-{self.cell}"


def wrong_answers(stem: str) -> list[WrongAnswer]:
    path = WRONG_ANSWERS / f"{stem}.yaml"
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [WrongAnswer(stem, number, e["cell"], e["fails"], e["why"], e["source"]) for number, e in enumerate(entries, start=1)]


def with_wrong_answer(solution: Path, wrong: WrongAnswer, target: Path) -> Path:
    """Write the solution notebook with one answer cell replaced by ``wrong.source``."""
    notebook = nbformat.read(solution, as_version=4)
    cells = [cell for cell in notebook.cells if grade_id(cell) == wrong.cell]
    if len(cells) != 1:
        raise LookupError(f"{wrong.lesson}: wrong answer {wrong.number} names cell {wrong.cell!r}, found {len(cells)} such cells")
    cells[0].source = wrong.source
    nbformat.write(notebook, target)
    return target
