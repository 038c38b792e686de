"""Fast tests of the grading pieces that the end-to-end tests reach only through real kernels:
the output cap, the status of a submission and the message of an nbgrader failure, the journal's
torn last line, the progress output, a pool whose workers cannot start."""

from __future__ import annotations

import io

import nbformat
import pytest

from platformlab_instructor.grading import pool
from platformlab_instructor.grading.kernels import BoundedExecute
from platformlab_instructor.grading.pool import WorkersFailed
from platformlab_instructor.grading.progress import Progress
from platformlab_instructor.grading.records import Journal, Record, Task
from platformlab_instructor.grading.worker import Settings, _last_error, status


def _message(kind: str, content: dict) -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {}, "metadata": {}, "content": content}


def _stream(text: str, name: str = "stdout") -> dict:
    return _message("stream", {"name": name, "text": text})


def _capped(limit: int) -> BoundedExecute:
    execute = BoundedExecute(max_cell_output=limit)
    execute.reset_execution_trackers()  # what nbclient does before a notebook, and before a cell:
    execute.clear_before_next_output = False
    execute._output_size, execute._notices = {}, {}
    return execute


def test_output_cap_keeps_what_fits_then_one_notice():
    """Is output past the cap dropped, with one notice per stream, while what fits is kept?"""
    execute, outs = _capped(100), []
    execute.output(outs, _stream("a" * 60), None, 0)
    for _ in range(50):
        execute.output(outs, _stream("b" * 60), None, 0)
    texts = [o["text"] for o in outs]
    assert texts[0] == "a" * 60
    assert sum("truncated by the grader after 100 characters" in t for t in texts) == 1
    assert "b" * 60 not in "".join(texts)


def test_output_cap_keeps_errors_and_a_shortened_result():
    """Past the cap, does an error still arrive whole, and a huge final result arrive shortened?"""
    execute, outs = _capped(10), []
    execute.output(outs, _stream("x" * 50), None, 0)
    error = _message("error", {"ename": "AssertionError", "evalue": "expected a share", "traceback": []})
    execute.output(outs, error, None, 0)
    result = _message("execute_result", {"data": {"text/plain": "9" * 100}, "metadata": {}, "execution_count": 1})
    execute.output(outs, result, None, 0)
    kinds = [o["output_type"] for o in outs]
    assert "error" in kinds and outs[kinds.index("error")]["evalue"] == "expected a share"
    shown = outs[kinds.index("execute_result")]["data"]["text/plain"]
    assert "9" * 100 not in shown and "truncated" in shown


def test_status_of_a_clean_run_is_graded():
    assert status({}) == ("graded", [])


def test_status_names_the_worst_trouble_and_every_cell():
    """Crashed outranks timeout outranks memory; each kind of trouble the grader observed names its cells."""
    verdict, notes = status({"memory": ["test_0"], "timeout": ["test_1", "test_3"], "crashed": ["test_2"]}, 2048)
    assert verdict == "crashed"
    assert notes == [
        "the kernel died (a new one ran the rest) in: test_2",
        "ran past the time limit: test_1, test_3",
        "MemoryError under the 2,048 MiB cap (the kernel's report) in: test_0",
    ]
    assert status({"memory": ["test_0"], "timeout": ["test_1"]})[0] == "timeout"
    assert status({"truncated": ["test_0"]}) == ("graded", ["output truncated: test_0"])


def test_journal_ignores_a_torn_last_line(tmp_path):
    """After a crash mid-write, are the whole records kept and the torn one graded again?"""
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(Record("ann--01--aa", "ann", "01", "graded", seconds=1.5))
    journal.append(Record("bob--01--bb", "bob", "01", "error", "grading failed", detail="Traceback ..."))
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write('{"key": "cat--01--cc", "student": "cat", "sta')
    loaded = journal.load()
    assert sorted(loaded) == ["ann--01--aa", "bob--01--bb"]
    assert loaded["bob--01--bb"].detail == "Traceback ...", "an error keeps its traceback for debugging"
    assert sorted(journal.finished()) == ["ann--01--aa"], "an error is tried again on the next run"


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_off_a_terminal_is_one_line_per_submission():
    """In a CI log or a pipe, is there one plain line per finished submission, with no carriage returns?"""
    ticks = iter([0.0, 0.0, 10.0, 20.0])  # start, first draw, two submissions
    stream = _Pipe()
    progress = Progress(2, stream=stream, clock=lambda: next(ticks))
    progress.advance("graded")
    progress.advance("timeout")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 2
    assert lines[0].startswith("[###############...............] 1/2  elapsed 0:10  ETA 0:10") and lines[0].endswith("graded")
    assert "2/2" in lines[1] and lines[1].endswith("timeout")


def test_graders_see_model_answer_and_rubric_students_never_do():
    """Does the autograded notebook (formgrader's) get each written answer's model answer and rubric,
    and do feedback pages drop them, and a planted copy of such a cell too?"""
    from nbformat.v4 import new_markdown_cell

    from platformlab_instructor import lessons
    from platformlab_instructor.grading.feedback import HideTests
    from platformlab_instructor.grading.rubrics import GRADER_ONLY, add, is_grader_only

    lesson = lessons.find()[0]
    student = nbformat.read(lesson.student, as_version=4)
    student.cells.insert(0, new_markdown_cell("planted", metadata={GRADER_ONLY: True}))
    graded = add(student, lesson.solution)
    written = [
        i for i, c in enumerate(graded.cells) if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert written and all(is_grader_only(graded.cells[i + 1]) for i in written), "a written answer has no grader's notes"
    assert not any("planted" in c.source for c in graded.cells)
    solution = nbformat.read(lesson.solution, as_version=4)
    model = [
        c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == graded.cells[written[0]].metadata["nbgrader"]["grade_id"]
    ][0]
    assert model.splitlines()[1].strip() in graded.cells[written[0] + 1].source
    page, _ = HideTests().preprocess(graded, {})
    assert not any(is_grader_only(c) for c in page.cells)


def test_nbgrader_failure_is_told_by_its_cause_not_its_summary():
    """When nbgrader fails, does the submission's message name the exception, not nbgrader's
    closing "Please see the above traceback" (all an instructor saw of a failure before)?"""
    failed = {
        "success": False,
        "error": 'Traceback (most recent call last):\n  File "api.py", line 1, in autograde\n'
        "nbgrader.converters.base.NbGraderException: Please see the the above traceback for details "
        "on the specific errors on the above failures.\n",
        "log": "[ERROR] There was an error processing assignment: /c/submitted/s/02\n"
        '[ERROR] Traceback (most recent call last):\n  File "base.py", line 390, in convert_notebooks\n'
        "    raise ValueError(text)\nRuntimeError: Kernel died before replying to kernel_info\n"
        "[ERROR] There was an error processing assignment '02' for student 's'\n"
        "[ERROR] Please see the the above traceback for details on the specific errors on the above failures.\n",
    }
    assert _last_error(failed) == "RuntimeError: Kernel died before replying to kernel_info"
    assert (
        _last_error({"success": False, "log": "[ERROR] the gradebook is locked\n[INFO] done"})
        == "[ERROR] the gradebook is locked"
    )
    assert _last_error({"success": False}) == "no message"


def test_workers_that_cannot_start_stop_the_run_with_their_reason(tmp_path):
    """A worker process whose set-up fails (here: its course template is missing) breaks every pool
    it is in. Does the run stop with the reason, instead of starting pools for ever?"""
    settings = Settings(str(tmp_path / "no-template"), {}, timeout=5, memory=0, fork=False)
    task = Task("s--01--x", "01-x", str(tmp_path / "x.ipynb"), str(tmp_path / "staging"))
    with pytest.raises(WorkersFailed, match="could not start: FileNotFoundError: .*no-template"):
        pool.run([task], settings, tmp_path, 1, lambda task, result: None, Progress(1, enabled=False))
