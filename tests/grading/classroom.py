"""Build a class of submissions from the lessons that exist, good and bad, and zip it as an LMS would.

Every submission is made from a lesson's own notebooks: the solution (full marks),
the generated student version (untouched: zero), and edits of them for the bad
cases. Used by tests/test_grade*.py and benchmarks/grade_benchmark.py.
"""

from __future__ import annotations

import copy
import csv
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from platformlab_instructor import lessons
from platformlab_instructor.course import tool_environment
from platformlab_instructor.grading.identify import grade_id

from submissions import wrong_answers


def run_grade(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run the real ``platformlab grade`` command (in a new process, as an instructor would)."""
    return subprocess.run(
        [sys.executable, "-m", "platformlab_instructor", "grade", *map(str, args)],
        cwd=cwd,
        env=tool_environment(),
        capture_output=True,
        text=True,
    )


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


@dataclass
class Lesson:
    """A lesson's notebooks and its autograded points."""

    stem: str
    solution: nbformat.NotebookNode
    student: nbformat.NotebookNode

    @property
    def tests(self) -> list:
        return [c for c in self.student.cells if meta(c).get("grade") and c.cell_type == "code"]

    @property
    def auto_points(self) -> float:
        return float(sum(meta(c)["points"] for c in self.tests))

    @property
    def max_points(self) -> float:
        return float(sum(meta(c)["points"] for c in self.student.cells if meta(c).get("grade")))

    def points(self, gid: str) -> float:
        return float(next(meta(c)["points"] for c in self.student.cells if grade_id(c) == gid))


def available() -> list[Lesson]:
    """The lessons on disk, each with its solution and its generated student version."""
    found = []
    for lesson in lessons.find():
        if lesson.student.exists():
            found.append(
                Lesson(lesson.stem, nbformat.read(lesson.solution, as_version=4), nbformat.read(lesson.student, as_version=4))
            )
    return found


def _after_setup(notebook, cell) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    notebook.cells.insert(first_code + 1, cell)
    return notebook


def student_cell(source: str):
    return nbformat.v4.new_code_cell(source)


def infinite_loop(lesson: Lesson):
    """The solution with an extra cell that never ends: that cell times out, the rest scores."""
    return _after_setup(lesson.solution, student_cell("while True:\n    pass"))


def huge_output(lesson: Lesson):
    """The solution with a cell that prints about 30 MB."""
    return _after_setup(lesson.solution, student_cell("for _ in range(3000):\n    print('x' * 10_000)"))


def memory_hog(lesson: Lesson):
    """The solution with a cell that fills 4 GiB: more than the grader's default cap of 2 GiB
    per kernel, less than this machine could give, so only the cap stops it."""
    return _after_setup(lesson.solution, student_cell("hog = bytearray(4 * 1024 ** 3)"))


def kernel_crash(lesson: Lesson):
    """The solution with a cell that crashes the kernel (a segmentation fault)."""
    return _after_setup(lesson.solution, student_cell("import ctypes\nctypes.string_at(0)"))


def deaf_loop(lesson: Lesson):
    """The solution with a never-ending cell that ignores the interrupt sent at the time limit."""
    return _after_setup(
        lesson.solution, student_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")
    )


def deleted_test(lesson: Lesson) -> tuple[nbformat.NotebookNode, str]:
    """The solution without its first test cell (which must come back and score)."""
    notebook = copy.deepcopy(lesson.solution)
    victim = grade_id(lesson.tests[0])
    notebook.cells = [c for c in notebook.cells if grade_id(c) != victim]
    return notebook, victim


def edited_test(lesson: Lesson) -> tuple[nbformat.NotebookNode, str]:
    """The untouched lesson with its first test cell emptied (a pass without an answer, if not restored)."""
    notebook = copy.deepcopy(lesson.student)
    victim = grade_id(lesson.tests[0])
    for cell in notebook.cells:
        if grade_id(cell) == victim:
            cell.source = "# nothing to test here\npass"
    return notebook, victim


def wrong_answer(lesson: Lesson) -> tuple[nbformat.NotebookNode, str]:
    """The solution with the lesson's first known wrong answer (tests/answers); returns the test it fails."""
    entries = wrong_answers(lesson.stem)
    notebook = copy.deepcopy(lesson.solution)
    if entries:
        for cell in notebook.cells:
            if grade_id(cell) == entries[0].cell:
                cell.source = entries[0].source
        return notebook, entries[0].fails
    # no fixture yet: leave the first exercise as the student version's stub
    test = lesson.tests[0]
    answer = [c for c in lesson.student.cells if meta(c).get("solution") and c.cell_type == "code"][0]
    for cell in notebook.cells:
        if grade_id(cell) == grade_id(answer):
            cell.source = answer.source
    return notebook, grade_id(test)


def dumps(notebook) -> bytes:
    return nbformat.writes(notebook).encode("utf-8")


def malformed(lesson: Lesson) -> bytes:
    """A notebook cut off half way: not JSON any more."""
    text = dumps(lesson.student)
    return text[: len(text) // 2]


def write_zip(path: Path, members: list[tuple[str, bytes]], stamp=(2026, 11, 20, 10, 0, 0)) -> Path:
    """A zip with these members; a member may carry its own time as (name, bytes, date_time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            name, data = member[0], member[1]
            info = zipfile.ZipInfo(name, date_time=member[2] if len(member) > 2 else stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def canvas_name(login: str, user: int, stem_or_name: str, late: bool = False) -> str:
    name = stem_or_name if "." in stem_or_name else f"{stem_or_name}.ipynb"
    return f"{login}{'_LATE' if late else ''}_{user}_{user + 9000}_{name}"


def moodle_name(full_name: str, user: int, file_name: str) -> str:
    return f"{full_name}_{user}_assignsubmission_file_/{file_name}"
