"""Are the student lessons exactly what nbgrader generates from the solutions, and
do they leak nothing a student must not see?"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from platformlab_instructor import lessons
from platformlab_instructor.generate import generate

PRIVATE_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def test_lessons_match_what_solutions_generate(generated):
    """Does lessons/ hold byte for byte what nbgrader generates from solutions/?"""
    stale = [
        stem
        for stem, made in generated.items()
        if not lessons.get(stem).student.exists() or lessons.get(stem).student.read_bytes() != made.read_bytes()
    ]
    assert not stale, f"run `platformlab generate`: these differ from what solutions/ generates: {stale}"


class AlreadyGenerated:
    """Stands in for the nbgrader course in :mod:`platformlab_instructor.generate`: hands out the
    session's generated notebooks, so that the comparison logic is tested without nbgrader."""

    made: dict[str, Path] = {}

    def __init__(self, root, sources, timeout=60):
        self.stems = list(sources)

    def generate(self, stem: str) -> Path:
        return self.made[stem]


def drifted_copy(folder: Path, current: dict[str, Path]) -> tuple[Path, Path]:
    """``current`` (stem -> an up-to-date student notebook) copied into ``folder``, with the first lesson
    edited by hand, and a lesson with no source."""
    for stem, path in current.items():
        shutil.copyfile(path, folder / f"{stem}.ipynb")
    edited = folder / f"{next(iter(current))}.ipynb"
    before = edited.read_bytes()
    edited.write_text(edited.read_text(encoding="utf-8").replace("Learning objectives", "Objectives"), encoding="utf-8")
    assert edited.read_bytes() != before, "the edit changed nothing: pick another phrase"
    orphan = folder / "99-no-source.ipynb"
    orphan.write_text("{}", encoding="utf-8")
    return edited, orphan


def test_check_names_a_drifted_lesson(tmp_path, generated, monkeypatch):
    """Does `generate(check=True)` name a lesson that was edited by hand and one with no source, changing nothing,
    and does `generate()` then rewrite the edited one (and keep the orphan)?"""
    monkeypatch.setattr(AlreadyGenerated, "made", generated)
    monkeypatch.setattr("platformlab_instructor.generate.Course", AlreadyGenerated)
    edited, orphan = drifted_copy(tmp_path, generated)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert generate(check=True, target=tmp_path) == [edited, orphan]
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before, "--check changed a file"
    assert generate(target=tmp_path) == [edited, orphan]
    assert edited.read_bytes() == generated[lessons.find()[0].stem].read_bytes()
    assert orphan.exists(), "generate deleted a notebook"
    assert generate(check=True, target=tmp_path) == [orphan]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "platformlab_instructor", *args], capture_output=True, text=True, timeout=300)


def test_cli_check_exits_0_when_current():
    """Does `platformlab generate --check` exit 0, and say so, when lessons/ is current?"""
    done = run_cli("generate", "--check", lessons.find()[0].stem)
    assert done.returncode == 0, done.stderr
    assert "matches" in done.stdout


def test_cli_check_exits_1_and_names_a_drifted_lesson(tmp_path):
    """Does `platformlab generate --check` exit 1 and name the notebook when a lesson was edited by hand,
    without rewriting it?"""
    first = lessons.find()[0]
    (tmp_path / "solutions").mkdir()
    (tmp_path / "lessons").mkdir()
    shutil.copyfile(first.solution, tmp_path / "solutions" / first.filename)
    edited, _ = drifted_copy(tmp_path / "lessons", {first.stem: first.student})
    text = edited.read_bytes()
    done = run_cli("--root", str(tmp_path), "generate", "--check", first.stem)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "out of date" in done.stderr and f"lessons/{first.filename}" in done.stderr
    assert edited.read_bytes() == text, "--check rewrote the lesson"


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
    student_lines = {
        line.strip() for cell in nbformat.read(lesson.student, as_version=4).cells for line in cell.source.splitlines()
    }
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


def test_new_gradebooks_carry_the_schema_version_nbgrader_finds(tmp_path):
    """A new gradebook is stamped with nbgrader's schema version, read in this process (``course.schema_version``)
    instead of nbgrader's ``alembic heads`` in a new one. Is it the version that command gives?"""
    from nbgrader import dbutil

    from platformlab_instructor.course import Course, tool_environment

    with dbutil._temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:
        heads = subprocess.run(["alembic", "-c", ini, "heads"], env=tool_environment(), capture_output=True, text=True)
    lesson = lessons.find()[0]
    Course(tmp_path / "course", {lesson.stem: lesson.solution}).generate(lesson.stem)
    with sqlite3.connect(tmp_path / "course" / "gradebook.db") as gradebook:
        stamped = gradebook.execute("SELECT version_num FROM alembic_version").fetchall()
    assert heads.returncode == 0 and stamped == [(heads.stdout.split()[0],)], (stamped, heads.stdout, heads.stderr)
