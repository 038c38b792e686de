"""Where the course lives on disk, and which lessons it has.

The course folder is found as the runtime finds it (:mod:`platformlab.root`:
``--root``/``PLATFORMLAB_ROOT``, the working directory or its parents, an editable
checkout), here by its ``solutions/`` folder. Lessons are discovered by one naming
convention, ``NN-slug.ipynb`` in ``solutions/`` (the instructor's nbgrader source)
and ``lessons/`` (the student versions generated from it); there is no hand-kept list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from platformlab.root import course_root

from .errors import UnknownLesson


def root() -> Path:
    """The instructor's course folder: the one with ``solutions/``."""
    return course_root("solutions")


#: ``01-platform-economics.ipynb``: two digits, a hyphen, a lowercase slug.
LESSON_NAME = re.compile(r"^(?P<number>\d{2})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.ipynb$")


@dataclass(frozen=True)
class Lesson:
    """One lesson: its number, its stem (the nbgrader assignment id) and its files."""

    number: int
    stem: str
    root: Path

    @property
    def filename(self) -> str:
        return f"{self.stem}.ipynb"

    @property
    def solution(self) -> Path:
        return self.root / "solutions" / self.filename

    @property
    def student(self) -> Path:
        return self.root / "lessons" / self.filename


def find(folder: Path | None = None) -> list[Lesson]:
    """Return the lessons whose notebooks in ``folder`` (default: ``solutions/``) follow the
    naming convention, in order."""
    folder = Path(folder) if folder is not None else root() / "solutions"
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        match = LESSON_NAME.match(path.name)
        if match:
            found.append(Lesson(int(match["number"]), path.stem, folder.parent))
    return found


def get(stem: str) -> Lesson:
    """Return the lesson called ``stem`` (``01-platform-economics``), or say which exist."""
    for lesson in find():
        if lesson.stem == stem:
            return lesson
    known = ", ".join(lesson.stem for lesson in find()) or "none"
    raise UnknownLesson(f"no lesson {stem!r} in {root() / 'solutions'}; known lessons: {known}")
