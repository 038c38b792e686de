"""Does `platformlab grade` turn a Canvas zip into grades, feedback and an item analysis, losing nothing?

One real run of the command (real nbgrader, real kernels, a real SQLite gradebook)
on a zip built from a course of two tiny lessons (``tiny_course``: what is tested here is
the command, not the lessons, which ``test_grading.py`` and ``test_hostile.py`` grade): each
lesson's solution and untouched student version, and on the first lesson every kind of bad
submission.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from grading import classroom as cr
from grading.classroom import read_csv, run_grade

pytestmark = pytest.mark.grading  # grades real classes end to end: left out of `make test-fast`


def visible_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def hidden_lines(notebook) -> list[str]:
    lines, inside = [], False
    for cell in notebook.cells:
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


LOOKS_AROUND = """import os
print("CWD", os.getcwd())
print("HERE", sorted(os.listdir(".")))"""


@pytest.fixture(scope="module")
def canvas(tmp_path_factory, tiny_course):
    """Grade one Canvas zip with every case; return what the command wrote."""
    lessons_on_disk = cr.available(tiny_course)
    first = lessons_on_disk[0]
    wrong, wrong_fails = cr.wrong_answer(first)
    deleted, deleted_id = cr.deleted_test(first)
    edited, edited_id = cr.edited_test(first)
    looks = cr._after_setup(first.solution, cr.student_cell(LOOKS_AROUND))
    members = []
    for number, lesson in enumerate(lessons_on_disk):
        members.append((cr.canvas_name("alice", 101, lesson.stem), cr.dumps(lesson.solution)))
        members.append((cr.canvas_name("bob", 102, f"Copy of {lesson.stem} ({number + 1})"), cr.dumps(lesson.student)))
    members += [
        (cr.canvas_name("carol", 103, first.stem, late=True), cr.dumps(wrong)),
        (cr.canvas_name("dave", 104, first.stem), cr.dumps(cr.infinite_loop(first))),
        (cr.canvas_name("erin", 105, first.stem), cr.dumps(cr.huge_output(first))),
        (cr.canvas_name("frank", 106, first.stem), cr.dumps(cr.memory_hog(first))),
        (cr.canvas_name("liam", 114, first.stem), cr.dumps(cr.kernel_crash(first))),
        (cr.canvas_name("mona", 115, first.stem), cr.dumps(cr.deaf_loop(first))),
        (cr.canvas_name("gina", 107, first.stem), cr.dumps(deleted)),
        (cr.canvas_name("hank", 108, first.stem), cr.dumps(edited)),
        (cr.canvas_name("ivan", 109, first.stem), cr.malformed(first)),
        (cr.canvas_name("judy", 110, first.stem), cr.dumps(first.student), (2026, 11, 20, 9, 0, 0)),
        (cr.canvas_name("judy", 110, f"{first.stem} (1)"), cr.dumps(first.solution), (2026, 11, 20, 11, 0, 0)),
        (cr.canvas_name("kim", 111, "notes.pdf"), b"%PDF-1.4 not a notebook"),
        (cr.canvas_name("zoë", 112, "lección 01 – ñandú.ipynb"), cr.dumps(first.solution)),
        (cr.canvas_name("olga", 113, first.stem), cr.dumps(looks)),
        ("/tmp/platformlab-escape-absolute.ipynb", cr.dumps(first.solution)),
        ("../../platformlab-escape-dotdot.ipynb", cr.dumps(first.solution)),
        ("__MACOSX/._alice_101_9101_x.ipynb", b"\x00\x05\x16\x07"),
    ]
    root = tmp_path_factory.mktemp("canvas")
    archive = cr.write_zip(root / "submissions.zip", members)
    out = root / "deep" / "grades"
    # the time limit stops the endless loops soon; the tiny lessons' honest cells take milliseconds
    result = run_grade(archive, "--out", out, "--jobs", 2, "--timeout", 5, cwd=root, root=tiny_course)
    return {
        "course": tiny_course,
        "result": result,
        "out": out,
        "root": root,
        "members": [m[0] for m in members],
        "lessons": lessons_on_disk,
        "first": first,
        "wrong_fails": wrong_fails,
        "deleted": deleted_id,
        "edited": edited_id,
    }


def rows_of(canvas) -> dict[tuple, dict]:
    return {(r["student_id"], r["lesson"]): r for r in read_csv(canvas["out"] / "grades.csv")}


def items_of(canvas, student) -> dict[str, dict]:
    """``student``'s items.csv rows of the first lesson, by grade id."""
    rows = read_csv(canvas["out"] / "items.csv")
    return {r["grade_id"]: r for r in rows if r["student_id"] == student and r["lesson"] == canvas["first"].stem}


def test_command_succeeds_and_summarises(canvas):
    """Does the command exit 0 and say how many submissions got which status, and where the files are?"""
    result = canvas["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "graded" in result.stdout and "timeout" in result.stdout and "invalid" in result.stdout
    assert str(canvas["out"] / "grades.csv") in result.stdout
    assert "ETA" in result.stderr, "no progress bar on stderr"


def test_nothing_disappears(canvas):
    """Is every file of the zip in grades.csv or skipped.csv, once, with one row per student and lesson?"""
    from platformlab_instructor.grading.intake import clean_name

    grades = read_csv(canvas["out"] / "grades.csv")
    skipped = read_csv(canvas["out"] / "skipped.csv")
    accounted = [r["source_file"] for r in grades] + [r["source_file"] for r in skipped]
    assert sorted(accounted) == sorted(clean_name(m) for m in canvas["members"])
    pairs = [(r["student_id"], r["lesson"]) for r in grades]
    assert len(pairs) == len(set(pairs))
    assert set(grades[0]) >= {"student_id", "lesson", "status", "score", "max_score", "source_file", "needs_manual_grading"}


def test_solutions_full_marks_untouched_zero(canvas):
    """Does every lesson's solution get all autograded points and its untouched version none, whatever the file name?"""
    rows = rows_of(canvas)
    for lesson in canvas["lessons"]:
        solution, untouched = rows[("alice", lesson.stem)], rows[("bob", lesson.stem)]
        assert (solution["status"], float(solution["score"]), float(solution["max_score"])) == (
            "graded",
            lesson.auto_points,
            lesson.max_points,
        )
        assert (untouched["status"], float(untouched["score"])) == ("graded", 0)
        assert solution["needs_manual_grading"] == "yes"  # the written answers wait for formgrader


def test_wrong_answer_loses_its_points_and_late_is_marked(canvas):
    """Does a known wrong answer lose exactly its test's points, and is Canvas's _LATE_ kept?"""
    first = canvas["first"]
    row = rows_of(canvas)[("carol", first.stem)]
    assert float(row["score"]) == first.auto_points - first.points(canvas["wrong_fails"])
    assert row["late"] == "yes"
    assert items_of(canvas, "carol")[canvas["wrong_fails"]]["score"] == "0"


def test_infinite_loop_times_out_and_the_rest_scores(canvas):
    """Is a never-ending cell stopped (status timeout) while every test still runs and scores?"""
    row = rows_of(canvas)[("dave", canvas["first"].stem)]
    assert row["status"] == "timeout"
    assert float(row["score"]) == canvas["first"].auto_points
    assert "time limit" in row["message"]


def test_huge_output_is_cut_and_scored(canvas):
    """Does a 30 MB print loop leave a small autograded notebook and feedback page, and full marks?"""
    first = canvas["first"]
    row = rows_of(canvas)[("erin", first.stem)]
    assert (row["status"], float(row["score"])) == ("graded", first.auto_points)
    assert "truncated" in row["message"]
    autograded = canvas["out"] / "course" / "autograded" / "erin" / first.stem / f"{first.stem}.ipynb"
    assert autograded.stat().st_size < 2_000_000
    assert (canvas["out"] / "feedback" / "erin" / f"{first.stem}.html").stat().st_size < 3_000_000


def test_memory_hog_is_bounded(canvas):
    """Does a cell filling 4 GiB hit the 2 GiB kernel cap (status memory) while the rest scores?"""
    row = rows_of(canvas)[("frank", canvas["first"].stem)]
    assert (row["status"], float(row["score"])) == ("memory", canvas["first"].auto_points)


def test_kernel_crash_is_survived(canvas):
    """Does a cell that crashes its kernel get status crashed, while a new kernel runs and scores the rest?"""
    row = rows_of(canvas)[("liam", canvas["first"].stem)]
    assert (row["status"], float(row["score"])) == ("crashed", canvas["first"].auto_points), row["message"]
    assert "kernel died" in row["message"]


def test_loop_deaf_to_interrupts_is_stopped(canvas):
    """Is a never-ending cell that ignores the interrupt ended by a new kernel, and the rest scored?"""
    row = rows_of(canvas)[("mona", canvas["first"].stem)]
    assert (row["status"], float(row["score"])) == ("timeout", canvas["first"].auto_points), row["message"]
    autograded = canvas["out"] / "course" / "autograded" / "mona" / canvas["first"].stem / f"{canvas['first'].stem}.ipynb"
    errors = [
        o.ename
        for cell in nbformat.read(autograded, as_version=4).cells
        for o in cell.get("outputs", [])
        if o.output_type == "error"
    ]
    assert "KernelStuck" in errors


def test_deleted_test_is_restored_and_scored(canvas):
    """Is a deleted test cell put back, run and scored (the solution still earns its points)?"""
    first = canvas["first"]
    row = rows_of(canvas)[("gina", first.stem)]
    assert float(row["score"]) == first.auto_points
    assert items_of(canvas, "gina")[canvas["deleted"]]["score"] == str(int(first.points(canvas["deleted"])))
    assert f"{canvas['deleted']}: deleted, restored" in row["message"]


def test_edited_test_is_restored(canvas):
    """Does emptying a locked test cell earn nothing: is the test restored from the source?"""
    first = canvas["first"]
    row = rows_of(canvas)[("hank", first.stem)]
    assert float(row["score"]) == 0
    assert items_of(canvas, "hank")[canvas["edited"]]["score"] == "0"
    assert f"{canvas['edited']}: edited, restored" in row["message"]


def test_malformed_json_is_invalid(canvas):
    """Is a notebook cut off half way a row with status invalid and score 0, with the reason?"""
    row = rows_of(canvas)[("ivan", canvas["first"].stem)]
    assert (row["status"], row["score"]) == ("invalid", "0")
    assert "malformed JSON" in row["message"]


def test_later_submission_wins(canvas):
    """Of two submissions of one lesson, is the later graded and the earlier listed as superseded?"""
    first = canvas["first"]
    row = rows_of(canvas)[("judy", first.stem)]
    assert float(row["score"]) == first.auto_points and "(1)" in row["source_file"]
    skipped = {r["source_file"]: r for r in read_csv(canvas["out"] / "skipped.csv")}
    earlier = skipped[cr.canvas_name("judy", 110, first.stem)]
    assert earlier["reason"].startswith("superseded by a later submission")


def test_other_files_are_skipped_with_a_reason(canvas):
    """Are a PDF, macOS metadata and a file with no student in skipped.csv, each with its reason?"""
    skipped = {r["source_file"]: r["reason"] for r in read_csv(canvas["out"] / "skipped.csv")}
    assert skipped[cr.canvas_name("kim", 111, "notes.pdf")] == "not a notebook (.pdf)"
    assert "metadata" in skipped["__MACOSX/._alice_101_9101_x.ipynb"]
    assert "cannot tell whose" in skipped["platformlab-escape-dotdot.ipynb"]


def test_zip_paths_cannot_escape(canvas):
    """Do absolute and ``..`` member names stay inside the work folder?"""
    assert not Path("/tmp/platformlab-escape-absolute.ipynb").exists()
    for folder in [canvas["out"], *canvas["out"].parents][:5]:
        assert not (folder / "platformlab-escape-dotdot.ipynb").exists()


def test_non_ascii_names(canvas):
    """Are a non-ASCII login and file name graded, with feedback in the student's folder?"""
    first = canvas["first"]
    row = rows_of(canvas)[("zoë", first.stem)]
    assert float(row["score"]) == first.auto_points
    assert (canvas["out"] / "feedback" / "zoë" / f"{first.stem}.html").exists()


def test_student_code_runs_in_a_scratch_folder(canvas):
    """Does student code run in a folder without the sources or the gradebook, outside the output folder?"""
    first = canvas["first"]
    notebook = nbformat.read(canvas["out"] / "course" / "autograded" / "olga" / first.stem / f"{first.stem}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    cwd = re.search(r"CWD (.*)", text).group(1).strip()
    listing = re.search(r"HERE (.*)", text).group(1)
    assert not Path(cwd).resolve().is_relative_to(canvas["out"].resolve())
    assert "gradebook.db" not in listing and "source" not in listing and ".ipynb" not in listing


def test_feedback_hides_hidden_tests(canvas):
    """Does no feedback page show a line of a hidden test, though grading ran them (stock feedback would show them)?"""
    out, checked = canvas["out"], 0
    for lesson in canvas["lessons"]:
        hidden = hidden_lines(lesson.solution)
        if not hidden:
            continue
        autograded = (out / "course" / "autograded" / "bob" / lesson.stem / f"{lesson.stem}.ipynb").read_text(encoding="utf-8")
        assert any(line in autograded for line in hidden), "the autograded notebook should hold the hidden tests"
        for student in ("alice", "bob"):
            page = visible_text(out / "feedback" / student / f"{lesson.stem}.html")
            visible = [c.source.strip().splitlines()[0] for c in lesson.tests]
            assert all(line in page for line in visible), "the visible tests should be shown"
            leaked = [line for line in hidden if line in page]
            assert not leaked, f"{student}'s feedback for {lesson.stem} shows hidden tests: {leaked[:3]}"
            checked += 1
    assert checked


def test_item_analysis(canvas):
    """Does item_analysis.csv give each graded cell's mean and share of full marks, matching items.csv, with a figure?"""
    out, first = canvas["out"], canvas["first"]
    items = [r for r in read_csv(out / "items.csv") if r["lesson"] == first.stem and r["kind"] == "auto"]
    analysis = {r["grade_id"]: r for r in read_csv(out / "item_analysis.csv") if r["lesson"] == first.stem}
    for gid in {r["grade_id"] for r in items}:
        scores = [float(r["score"]) for r in items if r["grade_id"] == gid]
        top = float(analysis[gid]["max_score"])
        assert int(analysis[gid]["n"]) == len(scores)
        assert float(analysis[gid]["mean_score"]) == pytest.approx(sum(scores) / len(scores), abs=1e-3)
        assert float(analysis[gid]["share_full_marks"]) == pytest.approx(sum(s >= top for s in scores) / len(scores), abs=1e-3)
    assert (out / "item_analysis.png").stat().st_size > 1000


def test_canvas_import_file(canvas):
    """Does canvas.csv hold one row per student with the Canvas user id and one score column per lesson?"""
    rows = read_csv(canvas["out"] / "canvas.csv")
    assert list(rows[0])[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0]["Student"].strip() == "Points Possible"
    alice = next(r for r in rows if r["Student"] == "alice")
    assert alice["ID"] == "101"
    assert all(float(alice[lesson.stem]) == lesson.auto_points for lesson in canvas["lessons"])


def test_manual_grades_flow_into_a_new_export(canvas):
    """After a written answer is graded in the gradebook (as formgrader does), does --export-only show it?"""
    from nbgrader.api import Gradebook

    first, out = canvas["first"], canvas["out"]
    written = [c for c in first.student.cells if cr.meta(c).get("grade") and c.cell_type == "markdown"]
    if not written:
        pytest.fail(f"{first.stem} has no written answer to grade by hand")
    gid = cr.grade_id(written[0])
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(gid, first.stem, first.stem, "alice")
        grade.manual_score = 1
        gradebook.db.commit()
    result = run_grade("--export-only", "--out", out, root=canvas["course"])
    assert result.returncode == 0, result.stderr[-2000:]
    row = rows_of(canvas)[("alice", first.stem)]
    assert float(row["score"]) == first.auto_points + 1
    assert items_of(canvas, "alice")[gid]["score"] == "1"
