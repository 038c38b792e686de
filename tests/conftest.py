"""Shared fixtures: lessons are autograded once per test session with real nbgrader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from platformlab_instructor import lessons
from platformlab_instructor.course import CellGrade, Course

from submissions import correct_answers, with_answer, wrong_answers


@dataclass
class GradedLesson:
    """Everything nbgrader said about one lesson's test submissions."""

    lesson: lessons.Lesson
    grades: dict[str, dict[str, CellGrade]] = field(default_factory=dict)
    autograded: dict[str, nbformat.NotebookNode] = field(default_factory=dict)


def pytest_generate_tests(metafunc):
    """Parametrize tests by lesson (``stem``) and by wrong answer (``wrong``), discovered on disk."""
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
def graded(tmp_path_factory):
    """``graded(stem)``: autograde the solution, the untouched lesson and every answer fixture of a lesson, once."""
    cache: dict[str, GradedLesson] = {}

    def grade(stem: str) -> GradedLesson:
        if stem not in cache:
            lesson = lessons.get(stem)
            root = tmp_path_factory.mktemp(f"course-{stem}")
            course = Course(root, [lesson])
            course.generate(stem)
            work = tmp_path_factory.mktemp(f"submissions-{stem}")
            submissions = {"solution": lesson.solution, "untouched": lesson.student}
            for answer in wrong_answers(stem) + correct_answers(stem):
                submissions[answer.student] = with_answer(lesson.solution, answer, work / f"{answer.student}.ipynb")
            result = GradedLesson(lesson)
            for student, notebook in submissions.items():
                course.submit(student, stem, notebook)
                result.autograded[student] = nbformat.read(course.autograde(stem, student), as_version=4)
                result.grades[student] = course.grades(stem, student)
            cache[stem] = result
        return cache[stem]

    return grade
