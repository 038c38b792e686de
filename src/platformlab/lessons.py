"""Where the course lives on disk, and which lessons it has.

Lessons are discovered by one naming convention, ``NN-slug.ipynb`` in
``solutions/`` (the instructor's nbgrader source) and ``lessons/`` (the student
versions generated from it); there is no hand-kept list anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The project checkout: the package is installed editable from ``src/``.
ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
DATA = ROOT / "data"

#: ``01-platform-economics.ipynb``: two digits, a hyphen, a lowercase slug.
LESSON_NAME = re.compile(r"^(?P<number>\d{2})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.ipynb$")


@dataclass(frozen=True)
class Lesson:
    """One lesson: its number, its stem (the nbgrader assignment id) and its files."""

    number: int
    stem: str

    @property
    def filename(self) -> str:
        return f"{self.stem}.ipynb"

    @property
    def solution(self) -> Path:
        return SOLUTIONS / self.filename

    @property
    def student(self) -> Path:
        return LESSONS / self.filename


def find(folder: Path = SOLUTIONS) -> list[Lesson]:
    """Return the lessons whose notebooks in ``folder`` follow the naming convention, in order."""
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        match = LESSON_NAME.match(path.name)
        if match:
            found.append(Lesson(int(match["number"]), path.stem))
    return found


def get(stem: str) -> Lesson:
    """Return the lesson called ``stem`` (``01-platform-economics``), or say which exist."""
    for lesson in find():
        if lesson.stem == stem:
            return lesson
    known = ", ".join(lesson.stem for lesson in find()) or "none"
    raise KeyError(f"no lesson {stem!r} in {SOLUTIONS}; known lessons: {known}")
