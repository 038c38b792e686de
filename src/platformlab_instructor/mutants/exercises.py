"""Find a course's lessons and, in each, its autograded exercises.

An exercise is an autograded test cell (nbgrader ``grade: true`` code cell, not a
solution) together with the solution code cells (``solution: true``) between the
previous test cell and it. Its name is the test cell's ``grade_id``. A test cell
with no solution cell before it tests nothing a student writes and is skipped.

Lessons are located here from a course folder (``solutions/NN-slug.ipynb``) so that
this package does not depend on where the other instructor tools live; nbgrader's
regions are read by the one parser of them, :mod:`platformlab_instructor.regions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..lessons import LESSON_NAME
from ..regions import DELIMITER, SOLUTION, regions


@dataclass(frozen=True)
class Cell:
    """A code cell as written in the solution notebook (markers included)."""

    index: int
    grade_id: str
    source: str

    @property
    def code(self) -> str:
        """What runs in grading: the source without nbgrader's marker lines."""
        return executable(self.source)


@dataclass(frozen=True)
class Exercise:
    """A test cell and the solution cells it checks (indices into the lesson's code cells)."""

    lesson: str
    grade_id: str
    solutions: tuple[int, ...]
    test: int

    @property
    def first(self) -> int:
        """The first code cell a mutant run executes: the earliest solution cell."""
        return self.solutions[0]


@dataclass(frozen=True)
class Lesson:
    """A solution notebook: its code cells in order, and its exercises."""

    stem: str
    path: Path
    cells: tuple[Cell, ...]
    exercises: tuple[Exercise, ...]


def executable(source: str) -> str:
    """``source`` as it runs in grading: without nbgrader's delimiter lines."""
    return "\n".join(line for region, line in regions(source) if region != DELIMITER)


def solution_lines(source: str) -> set[int]:
    """The 1-based numbers of the lines inside ``### BEGIN SOLUTION`` / ``### END SOLUTION``."""
    return {number for number, (region, _) in enumerate(regions(source), start=1) if region == SOLUTION}


def read(path: Path) -> Lesson:
    """Read a solution notebook: its code cells and exercises, in notebook order."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution  # imported here: nbgrader takes seconds to import

    notebook = nbformat.read(path, as_version=4)
    cells, exercises, pending = [], [], []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell-{len(cells)}")
        index = len(cells)
        cells.append(Cell(index, grade_id, cell.source))
        if is_solution(cell) and not is_grade(cell):
            pending.append(index)
        elif is_grade(cell) and not is_solution(cell):
            if pending:
                exercises.append(Exercise(path.stem, grade_id, tuple(pending), index))
            pending = []
    return Lesson(path.stem, path, tuple(cells), tuple(exercises))


def find(root: Path, names: list[str] | None = None) -> list[Path]:
    """The solution notebooks of the course at ``root``, in order; ``names`` picks some.

    A name is a stem (``01-platform-economics``), its number (``01``) or a path to a
    notebook. An unknown name is an error that lists the lessons there are.
    """
    folder = root / "solutions"
    if not folder.is_dir():
        raise LookupError(f"{root} is not a course folder: it has no solutions/")
    known = [path for path in sorted(folder.glob("*.ipynb")) if LESSON_NAME.match(path.name)]
    if not names:
        return known
    chosen = []
    for name in names:
        if name.endswith(".ipynb") and Path(name).is_file():
            chosen.append(Path(name).resolve())
            continue
        matches = [path for path in known if name in (path.stem, path.stem[:2])]
        if not matches:
            listing = ", ".join(path.stem for path in known) or "none"
            raise LookupError(f"no lesson {name!r} in {folder}; known lessons: {listing}")
        chosen.extend(matches)
    return list(dict.fromkeys(chosen))
