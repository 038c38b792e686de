"""Shared fixtures and markers.

- ``graded(stem)``: every submission the grading tests need (each lesson's solution, its
  untouched student version and every answer fixture in ``tests/answers/``, several to a notebook
  where they cannot affect each other: :func:`submissions.packed`) is graded once per session, all
  lessons in two runs of the course's own parallel grader
  (:func:`platformlab_instructor.grading.pipeline.grade`: real nbgrader, real kernels), the answer
  sets without drawing figures (:func:`grade_lessons`);
- ``generated``: nbgrader's generate step run once per session for every lesson;
- ``tiny_course``: a course of two tiny lessons, for the tests of the grader's plumbing;
- the ``grading`` marker on every test that uses ``graded``; other slow tests carry their
  marker (``pyproject.toml`` registers them) in their own module, so ``make test-fast`` can
  leave them out;
- with pytest-xdist, a scheduler that keeps each module (the Binder-environment ones together) on
  one worker, longest first (:func:`pytest_xdist_make_scheduler`);
- temporary folders in memory where the machine has room for them (:func:`pytest_configure`).
"""

from __future__ import annotations

import platformlab_instructor  # noqa: F401  (first: its lazy_iri spares every test process jsonschema's IRI grammar)

# isort: split
import csv
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from platformlab_instructor import lessons
from platformlab_instructor.course import CellGrade, Course
from platformlab_instructor.grading.records import Journal

from submissions import Answer, correct_answers, packed, with_answers, wrong_answers

#: With pytest-xdist (``make test`` runs one more worker than the CPUs) each group of tests runs on one worker: a test
#: module, or the modules that share the Binder environment (built once per worker process). Groups
#: start longest first, so that waiting (pip, a browser, a hub) overlaps the CPU-bound grading.
BINDER_MODULES = ("test_binder_env", "test_browser", "test_hub")
#: Groups in the order of their durations in `make test` (longest first); the rest, each a few seconds, follow.
FIRST = (
    "binder",
    "test_grading",
    "test_hostile",
    "test_mutants",
    "test_publish",
    "test_grade",
    "test_grade_layouts",
    "test_dask",
    "test_isolation",
    "test_generate",
    "test_kernelclient",
    "test_grade_stop",
    "test_cli",
)


#: A session writes about 0.8 GB into its temporary folders, most of it the Binder environment (30,000 files).
#: On a disk that drains writes slowly (this machine's virtual disk takes 15 to 40 s for that much), every process
#: that syncs meanwhile (a gradebook's SQLite, a browser, a server starting) stalls with it, and deleting an old
#: session's folders costs as much again. Memory is used where it has room to spare.
MEMORY = Path("/dev/shm")
MEMORY_NEEDED = 4 * 2**30


def pytest_configure(config):
    """Root pytest's temporary folders in memory (:data:`MEMORY`) where it has room, unless the environment
    already names a root (``PYTEST_DEBUG_TEMPROOT``) or ``--basetemp`` a folder. pytest numbers and locks them
    there as anywhere; with ``tmp_path_retention_policy = "failed"`` (pyproject.toml) a green session frees them."""
    if config.option.basetemp or "PYTEST_DEBUG_TEMPROOT" in os.environ or hasattr(config, "workerinput"):
        return
    try:
        room = os.statvfs(MEMORY)
    except OSError:
        return
    if os.access(MEMORY, os.W_OK) and room.f_bavail * room.f_frsize >= MEMORY_NEEDED:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY)


def group(nodeid: str) -> str:
    """The group of the test ``nodeid`` (``tests/test_x.py::test_y[z]``)."""
    module = Path(nodeid.split("::")[0]).stem
    return "binder" if module in BINDER_MODULES else module


def pytest_xdist_make_scheduler(config, log):
    """Distribute whole groups (:func:`group`). pytest-xdist's own ``--dist loadgroup`` cannot be used:
    the ``@group`` suffix it writes into ``item._nodeid`` no longer reaches the node ids with pytest 9."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items):
    """Every test that uses the ``graded`` fixture grades real submissions: mark it ``grading``.
    The longest groups first."""
    for item in items:
        if "graded" in item.fixturenames:
            item.add_marker("grading")
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(group(item.nodeid), len(FIRST)))


def pytest_generate_tests(metafunc):
    """Parametrize tests by lesson (``stem``) and by answer fixture (``wrong``, ``correct``), discovered on disk."""
    found = lessons.find()
    if "stem" in metafunc.fixturenames:
        metafunc.parametrize("stem", [lesson.stem for lesson in found])
    if "wrong" in metafunc.fixturenames:
        cases = [wrong for lesson in found for wrong in wrong_answers(lesson.stem)]
        metafunc.parametrize("wrong", cases, ids=[f"{w.lesson}-{w.number:02d}-{w.fails}" for w in cases])
    if "correct" in metafunc.fixturenames:
        cases = [right for lesson in found for right in correct_answers(lesson.stem)]
        metafunc.parametrize("correct", cases, ids=[f"{c.lesson}-correct-{c.number:02d}-{c.test}" for c in cases])


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    """Lesson stem -> the student notebook nbgrader's generate step writes from ``solutions/``, made once."""
    found = lessons.find()
    course = Course(tmp_path_factory.mktemp("generated"), {lesson.stem: lesson.solution for lesson in found})
    return {lesson.stem: course.generate(lesson.stem) for lesson in found}


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory) -> Path:
    """A course folder of two tiny lessons (:func:`grading.classroom.tiny_course`), made once, for the
    tests of the grader's plumbing: a submission of it is graded in about a second."""
    from grading.classroom import tiny_course

    return tiny_course(tmp_path_factory.mktemp("tiny-course"))


@dataclass
class GradedLesson:
    """Everything the grader said about one lesson's test submissions, by student."""

    lesson: lessons.Lesson
    status: dict[str, str] = field(default_factory=dict)  # grades.csv: "graded", or "error", ... with message and detail
    holder: dict[Answer, str] = field(default_factory=dict)  # answer fixture -> the submission that holds it
    flags: dict[str, str] = field(default_factory=dict)  # grades.csv: what the grader's check of the kernel found
    _grades: dict[str, dict[str, CellGrade]] = field(default_factory=dict)
    _autograded: dict[str, nbformat.NotebookNode] = field(default_factory=dict)

    def _graded(self, student: str) -> None:
        status = self.status.get(student, "missing: no row in grades.csv")
        if status != "graded":
            pytest.fail(f"{self.lesson.stem}: submission {student!r} was not graded cleanly: {status}")

    def grades(self, student: str) -> dict[str, CellGrade]:
        """Per graded cell (grade id), the score the gradebook holds for ``student``."""
        self._graded(student)
        return self._grades[student]

    def autograded(self, student: str) -> nbformat.NotebookNode:
        """``student``'s autograded notebook, with the outputs of the grading run."""
        self._graded(student)
        return self._autograded[student]


def students(stem: str) -> dict[str, Path | list[Answer]]:
    """The test submissions of lesson ``stem``: student id -> notebook to submit, or the answer
    fixtures to put in the solution (those :func:`submissions.packed` lets share a notebook)."""
    lesson = lessons.get(stem)
    found: dict[str, Path | list[Answer]] = {"solution": lesson.solution, "untouched": lesson.student}
    for number, held in enumerate(packed(lesson.solution, wrong_answers(stem) + correct_answers(stem)), start=1):
        found[f"set{number:02d}"] = held
    return found


def grade_lessons(stems: list[str], folder: Path) -> dict[str, GradedLesson]:
    """Grade every test submission of the lessons ``stems``, in two runs of the parallel grader: the
    solutions and untouched lessons as an instructor grades them, the answer sets with ``figures=False``
    (the figures are made but not drawn, which no test can tell, and a third of this fixture's CPU time)."""
    made = {stem: students(stem) for stem in stems}
    references = {stem: {who: what for who, what in made[stem].items() if isinstance(what, Path)} for stem in stems}
    answers = {stem: {who: what for who, what in made[stem].items() if isinstance(what, list)} for stem in stems}
    results = {stem: GradedLesson(lessons.get(stem)) for stem in stems}
    _grade_run(references, folder / "references", True, results)
    _grade_run(answers, folder / "answers", False, results)
    return results


def _grade_run(made: dict[str, dict], folder: Path, figures: bool, results: dict[str, GradedLesson]) -> None:
    """Submit ``made`` (stem -> student -> notebook or answer fixtures) in nbgrader's layout, grade it in one
    run, and add what the grader said about each submission to ``results``."""
    from platformlab_instructor.grading.pipeline import grade
    from platformlab_instructor.grading.worker import GradingCourse

    made = {stem: submissions for stem, submissions in made.items() if submissions}
    if not made:
        return

    submitted = folder / "submissions" / "submitted"  # nbgrader's layout: submitted/<student>/<lesson>/<lesson>.ipynb
    for stem, students_of in made.items():
        for student, what in students_of.items():
            target = submitted / student / stem / f"{stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(what, Path):
                shutil.copyfile(what, target)
            else:
                with_answers(lessons.get(stem).solution, what, target)
    out = folder / "out"
    grade(
        folder / "submissions",
        out=out,
        jobs=None,
        timeout=60,
        progress=False,
        figures=figures,
        sources={stem: lessons.get(stem).solution for stem in made},
    )

    details = {
        (record.lesson, record.student): record.detail for record in Journal(out / ".work" / "journal.jsonl").load().values()
    }
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["lesson"] in results:
                status = row["status"]
                if status != "graded":  # with the worker's traceback or nbgrader's log, as the journal keeps it
                    status += f": {row['message']}\n{details.get((row['lesson'], row['student_id']), '')}"
                results[row["lesson"]].status[row["student_id"]] = status
                results[row["lesson"]].flags[row["student_id"]] = row["flags"]
    with open(out / "skipped.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):  # e.g. a fixture the grader could not tell the lesson of
            for stem, result in results.items():
                if f"/{stem}/" in row["source_file"].replace("\\", "/"):
                    result.status.setdefault(row["student_id"], f"skipped: {row['reason']}")
    course = GradingCourse.existing(out / "course", list(made))
    for stem, students_of in made.items():
        result = results[stem]
        for student, what in students_of.items():
            if isinstance(what, list):
                result.holder.update(dict.fromkeys(what, student))
            if result.status.get(student) == "graded":
                result._grades[student] = course.grades(stem, student)
                path = out / "course" / "autograded" / student / stem / f"{stem}.ipynb"
                result._autograded[student] = nbformat.read(path, as_version=4)


def _stems_wanted(session) -> list[str]:
    """The lessons whose graded submissions the collected tests use (all of them in a full run)."""
    stems = set()
    for item in session.items:
        if "graded" not in getattr(item, "fixturenames", ()):
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "stem" in params:
            stems.add(params["stem"])
        for key in ("wrong", "correct"):
            if key in params:
                stems.add(params[key].lesson)
    return sorted(stems)


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory):
    """``graded(stem)``: the :class:`GradedLesson` of lesson ``stem``. The first call grades, in one
    run, every lesson that the selected tests need (``pytest -k 01-platform`` grades lesson 01 only)."""
    cache: dict[str, GradedLesson] = {}

    def get(stem: str) -> GradedLesson:
        if stem not in cache:
            wanted = sorted({stem, *_stems_wanted(request.session)} - set(cache))
            cache.update(grade_lessons(wanted, tmp_path_factory.mktemp("graded")))
        return cache[stem]

    return get
