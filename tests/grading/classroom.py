"""Build a class of submissions from the lessons that exist, good and bad, and zip it as an LMS would.

Every submission is made from a lesson's own notebooks: the solution (full marks),
the generated student version (untouched: zero), and edits of them for the bad
cases. Used by tests/test_grade*.py and benchmarks/grade_benchmark.py.
"""

from __future__ import annotations

import copy
import csv
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from platformlab_instructor import lessons
from platformlab_instructor.course import tool_environment
from platformlab_instructor.grading.identify import grade_id

from submissions import wrong_answers


def grade_command(*args, root: Path | None = None) -> list[str]:
    """The real ``platformlab grade`` command line with ``args``, on the course folder ``root``
    (default: this checkout's course)."""
    course = ["--root", str(root)] if root else []
    return [sys.executable, "-m", "platformlab_instructor", *course, "grade", *map(str, args)]


def run_grade(*args, cwd=None, root: Path | None = None) -> subprocess.CompletedProcess:
    """Run :func:`grade_command` (in a new process, as an instructor would)."""
    return subprocess.run(grade_command(*args, root=root), cwd=cwd, env=tool_environment(), capture_output=True, text=True)


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


def available(root: Path | None = None) -> list[Lesson]:
    """The lessons on disk (of the course folder ``root``; default: this checkout's course), each with
    its solution and its generated student version."""
    found = []
    for lesson in lessons.find(root / "solutions" if root else None):
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
    """The solution with an extra cell that never ends: that cell times out, the rest scores. It spins, on
    purpose: the interrupt must reach a kernel whose main thread keeps Python busy (the tests' other
    deliberate hangs sleep, to spare the CPU: :data:`SLEEPING_LOOP`)."""
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


#: An endless loop that sleeps rather than spins: the time limit is wall-clock, so it hangs a kernel as long,
#: without taking a CPU from the rest of the test run for the limit (and the grace after the interrupt).
#: (:func:`infinite_loop` spins.)
SLEEPING_LOOP = "import time\nwhile True:\n    time.sleep(0.1)"
#: One that also ignores the interrupt sent at the time limit.
DEAF_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + SLEEPING_LOOP


def deaf_loop(lesson: Lesson):
    """The solution with a never-ending cell that ignores the interrupt sent at the time limit."""
    return _after_setup(lesson.solution, student_cell(DEAF_LOOP))


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


def tiny_course(folder: Path) -> Path:
    """Write a course of two tiny lessons into ``folder`` (solutions/ and, generated by nbgrader,
    lessons/) and return it.

    For the tests of the grader's plumbing (file layouts, resuming a killed run, Dask) rather than of
    the lessons: each lesson has the parts a real one has (set-up, exercises with visible and hidden
    tests, a written answer graded by hand) and runs in a blink, where a real lesson takes seconds.
    No data/: its cells need none.
    """
    from platformlab_instructor.course import Course

    def cell(kind: str, gid: str, source: str, **nbgrader):
        metadata = {"grade": False, "grade_id": gid, "locked": kind == "markdown", "schema_version": 3, "solution": False}
        metadata.update(task=False, **nbgrader)
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        return make(source, metadata={"nbgrader": metadata})

    def exercise(name: str, solution: str, tests: str, hidden: str, points: int) -> list:
        return [
            cell("code", f"ex_{name}", f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION", solution=True),
            cell(
                "code",
                f"test_{name}",
                f"{tests}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
                grade=True,
                locked=True,
                points=points,
            ),
        ]

    def lesson(title: str, setup: str, exercises: list[tuple], question: str, answer_id: str) -> list:
        return [
            cell("markdown", "intro", title),
            cell("code", "setup", setup),
            *(part for args in exercises for part in exercise(*args)),
            cell("markdown", "md_why", question),
            cell("markdown", answer_id, "Because buyers value it differently.", grade=True, solution=True, points=1),
        ]

    notebooks = {
        "01-tiny-prices": lesson(
            "# Lesson 01 · Prices (a tiny lesson for testing the grader)",
            "import numpy as np\n\nprices = np.array([10.0, 20.0, 30.0])",
            [
                (
                    "revenue",
                    "def revenue(quantity, price):\n    return quantity * price",
                    "assert revenue(2, 3) == 6",
                    "assert revenue(5, 7) == 35",
                    2,
                ),
                ("total", "total = float(prices.sum())", "assert total > 0", "assert total == 60.0", 1),
            ],
            "Why do prices differ? (1 point)",
            "why_prices",
        ),
        "02-tiny-shares": lesson(
            "# Lesson 02 · Shares (a tiny lesson for testing the grader)",
            "sales = {'a': 30.0, 'b': 10.0}",
            [
                (
                    "share",
                    "def share(part, whole):\n    return part / whole",
                    "assert share(1, 4) == 0.25",
                    "assert share(3, 4) == 0.75",
                    2,
                ),
                ("leader", "leader = max(sales, key=sales.get)", "assert leader in sales", "assert leader == 'a'", 1),
            ],
            "Why does the leader lead? (1 point)",
            "why_leader",
        ),
    }
    kernel = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}}
    for folder_name in ("solutions", "lessons"):
        (folder / folder_name).mkdir(parents=True, exist_ok=True)
    sources = {}
    for stem, cells in notebooks.items():
        sources[stem] = folder / "solutions" / f"{stem}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), sources[stem])
    with tempfile.TemporaryDirectory() as scratch:
        course = Course(Path(scratch), sources)
        for stem in sources:
            shutil.copyfile(course.generate(stem), folder / "lessons" / f"{stem}.ipynb")
    return folder
