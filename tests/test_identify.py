"""Is a submission's lesson told from its content, and are ties and shared cells refused? (No kernels.)"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from platformlab_instructor import lessons
from platformlab_instructor.grading.identify import Catalogue

SETUP = "from platformlab import data, excerpts, plots\nplots.theme()  # the set-up cell every lesson shares"


def cell(grade_id: str | None, source: str, kind: str = "code", locked: bool = True):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if grade_id:
        made.metadata["nbgrader"] = {
            "grade_id": grade_id,
            "locked": locked,
            "grade": False,
            "solution": False,
            "schema_version": 3,
        }
    return made


def text(topic: str) -> str:
    return f"## {topic}\nA paragraph about {topic}, long enough to identify the lesson it belongs to."


def lesson_notebook(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


@pytest.fixture
def catalogue(tmp_path) -> Catalogue:
    """Two lessons that share a set-up cell and an id, each with cells of its own."""
    a = lesson_notebook(
        cell("setup", SETUP),
        cell("md_a1", text("take rates")),
        cell("test_a1", "assert take_rate(1, 1) > 0"),
        cell("md_a2", text("peak load")),
    )
    b = lesson_notebook(
        cell("setup", SETUP),
        cell("md_b1", text("cohorts")),
        cell("test_b1", "assert retention(1) > 0"),
        cell("md_b2", text("lifetime value")),
    )
    paths = {}
    for stem, notebook in (("01-take-rates", a), ("02-cohorts", b)):
        paths[stem] = tmp_path / f"{stem}.ipynb"
        nbformat.write(notebook, paths[stem])
    return Catalogue(paths)


def submission(*cells) -> nbformat.NotebookNode:
    return lesson_notebook(*cells)


def test_a_lesson_is_told_by_its_own_cells(catalogue):
    """Is a notebook with cells of one lesson only that lesson, whatever else it holds?"""
    found = submission(
        cell(None, "my own scratch work, not part of any lesson at all, long enough"),
        cell("setup", SETUP),
        cell("md_b1", text("cohorts")),
        cell("test_b1", "assert retention(1) > 0"),
    )
    assert catalogue.identify(found) == ("02-cohorts", "")


def test_shared_cells_decide_nothing(catalogue):
    """Does a notebook holding only what every lesson shares (id and text of the set-up cell) stay unknown?"""
    stem, why = catalogue.identify(submission(cell("setup", SETUP)))
    assert stem is None
    assert why.startswith("unknown lesson: no cell of any lesson") and "01-take-rates" in why and "02-cohorts" in why


def test_a_tie_is_refused_naming_both(catalogue):
    """Is a notebook with as many marks of one lesson as of another refused, naming both, not guessed?"""
    stem, why = catalogue.identify(submission(cell("md_a1", text("take rates")), cell("md_b1", text("cohorts"))))
    assert stem is None
    assert why == "unknown lesson: matches 01-take-rates and 02-cohorts equally"


def test_the_majority_wins_over_a_pasted_cell(catalogue):
    """Does a lesson with a cell pasted from another still count as itself (more marks win)?"""
    found = submission(cell("md_a1", text("take rates")), cell("md_a2", text("peak load")), cell("md_b1", text("cohorts")))
    assert catalogue.identify(found) == ("01-take-rates", "")


def test_text_identifies_without_metadata(catalogue):
    """Is a notebook whose nbgrader metadata was lost (copied cells) told from its cells' text,
    whitespace changes included?"""
    found = submission(cell(None, text("lifetime value").replace(" ", "  ")), cell(None, text("cohorts") + "\n"))
    assert catalogue.identify(found) == ("02-cohorts", "")


def test_short_cells_say_nothing(tmp_path):
    """Do short cells (under 40 characters) with no id leave a notebook unknown, even when they match?"""
    path = tmp_path / "01-a.ipynb"
    nbformat.write(lesson_notebook(cell(None, "plots.theme()"), cell("md", text("only one"))), path)
    other = tmp_path / "02-b.ipynb"
    nbformat.write(lesson_notebook(cell(None, "plots.theme()"), cell("md2", text("another"))), other)
    stem, _ = Catalogue({"01-take-rates": path, "02-cohorts": other}).identify(submission(cell(None, "plots.theme()")))
    assert stem is None


def test_no_lessons_means_unknown():
    """With no lessons to grade against, is every notebook unknown, with a reason?"""
    stem, why = Catalogue({}).identify(submission(cell("md_a1", text("take rates"))))
    assert stem is None and "none" in why


def test_names_guess_only_when_one_lesson_fits(catalogue):
    """Does a file name point to a lesson (for unreadable files) only when exactly one fits?"""
    assert catalogue.guess_from_name("smithj_12_34_01-take-rates (1).ipynb") == "01-take-rates"
    assert catalogue.guess_from_name("Copy of rates.ipynb") is None  # part of a slug is not the slug
    assert catalogue.guess_from_name("cohorts-and-take-rates.ipynb") is None
    assert catalogue.guess_from_name("homework.ipynb") is None


def test_every_real_lesson_is_told_from_the_others():
    """Is each lesson's student version and solution identified as itself among all the lessons on disk?"""
    found = [lesson for lesson in lessons.find() if lesson.student.exists()]
    catalogue = Catalogue({lesson.stem: lesson.student for lesson in found}, {lesson.stem: lesson.solution for lesson in found})
    for lesson in found:
        for path in (lesson.student, lesson.solution):
            assert catalogue.identify(nbformat.read(path, as_version=4)) == (lesson.stem, ""), Path(path).name


@pytest.mark.parametrize(
    "payload",
    [
        b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"cells": [], "n": ' + b"9" * 5000 + b"}",
        b'{"cells": [' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"]}",
    ],
    ids=["100,000 nested arrays", "5,000-digit integer", "nested 100 deep"],
)
def test_json_that_breaks_the_parser_is_not_a_notebook(tmp_path, payload):
    """Is JSON past the recursion limit, the int-string limit or a sane depth refused with a clear reason?"""
    from platformlab_instructor.grading.identify import NotANotebook, read

    path = tmp_path / "bad.ipynb"
    path.write_bytes(payload)
    with pytest.raises(NotANotebook, match="malformed JSON|nested more than"):
        read(path)


def test_execution_tags_are_removed_from_every_cell(tmp_path):
    """Does restore drop skip-execution and raises-exception from every cell (a tagged test would not run), and say so?"""
    from platformlab_instructor.grading.identify import restore

    path = tmp_path / "01-take-rates.ipynb"
    nbformat.write(lesson_notebook(cell("test_a1", "assert take_rate(1, 1) > 0")), path)
    lesson = Catalogue({"01-take-rates": path}).lessons["01-take-rates"]
    submitted = lesson_notebook(cell("test_a1", "assert take_rate(1, 1) > 0"), cell(None, "x = 1"), cell(None, "y = 2"))
    submitted.cells[0].metadata["tags"] = ["skip-execution", "mine"]
    submitted.cells[1].metadata["tags"] = ["raises-exception"]
    submitted.cells[2].metadata["tags"] = "skip-execution"  # a string: nbclient would test it by substring
    restored, notes = restore(submitted, lesson)
    assert [c.metadata["tags"] for c in restored.cells] == [["mine"], [], []]
    assert "test_a1: execution tags removed" in notes
