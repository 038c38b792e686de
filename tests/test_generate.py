"""Are the student lessons exactly what nbgrader generates from the solutions, and
do they leak nothing a student must not see?"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from platformlab_instructor import lessons
from platformlab_instructor.generate import generate

PRIVATE_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def test_lessons_match_what_solutions_generate():
    """Does lessons/ hold byte for byte what nbgrader generates from solutions/ (and nothing else)?"""
    stale = generate(check=True)
    assert not stale, f"run `platformlab generate`: these differ from what solutions/ generates: {[p.name for p in stale]}"


def test_check_names_a_drifted_lesson(tmp_path):
    """Does `generate --check` name a lesson that was edited by hand, and one with no source?"""
    for lesson in lessons.find():
        shutil.copyfile(lesson.student, tmp_path / lesson.filename)
    edited = tmp_path / lessons.find()[0].filename
    edited.write_text(edited.read_text(encoding="utf-8").replace("Learning objectives", "Objectives"), encoding="utf-8")
    orphan = tmp_path / "99-no-source.ipynb"
    orphan.write_text("{}", encoding="utf-8")
    assert generate(check=True, target=tmp_path) == [edited, orphan]


def test_cli_check_exit_codes():
    """Does `platformlab generate --check` exit 0 when lessons/ is current?"""
    done = subprocess.run([sys.executable, "-m", "platformlab_instructor", "generate", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "matches" in done.stdout


def test_every_lesson_has_a_source():
    """Is every notebook in lessons/ generated from one in solutions/, under the naming convention?"""
    sources = {lesson.filename for lesson in lessons.find()}
    students = {path.name for path in (lessons.root() / "lessons").glob("*.ipynb")}
    assert sources, "no lesson found in solutions/"
    assert students == sources
    assert all(lessons.LESSON_NAME.match(name) for name in students)


@pytest.mark.parametrize("folder", ["solutions", "lessons"])
def test_notebooks_are_committed_without_outputs(folder):
    """Are notebooks stored clean: no outputs, no execution counts?"""
    for path in sorted((lessons.root() / folder).glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        dirty = [c.get("id") for c in notebook["cells"] if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
        assert not dirty, f"{folder}/{path.name} has outputs in cells {dirty}: clear them before committing"


def test_lessons_leak_no_solution_or_hidden_test(stem):
    """Does the student version contain no marker, no hidden test and no line of solution code?"""
    lesson = lessons.get(stem)
    student = lesson.student.read_text(encoding="utf-8")
    student_lines = {line.strip() for cell in nbformat.read(lesson.student, as_version=4).cells for line in cell.source.splitlines()}
    for marker in MARKERS:
        assert marker not in student, f"lessons/{lesson.filename} contains {marker!r}"
    private_lines = {
        line.strip()
        for cell in nbformat.read(lesson.solution, as_version=4).cells
        for _, region in PRIVATE_REGION.findall(cell.source)
        for line in region.splitlines()
        if len(line.strip()) > 12  # long enough to be the answer, not a bracket or a `return x`
    }
    leaked = sorted(private_lines & student_lines)
    assert not leaked, f"solution or hidden-test lines appear in lessons/{lesson.filename}: {leaked[:5]}"


def test_nbgrader_metadata_is_schema_3_and_ids_unique(stem):
    """Does every cell carry nbgrader metadata (schema 3) with a unique grade id?"""
    notebook = nbformat.read(lessons.get(stem).solution, as_version=4)
    ids = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        assert meta and meta.get("schema_version") == 3, f"cell {cell.get('id')} lacks nbgrader schema 3 metadata"
        ids.append(meta["grade_id"])
    assert len(ids) == len(set(ids)), "grade ids repeat"
