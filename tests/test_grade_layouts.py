"""Does `platformlab grade` read Moodle zips, per-student folders and nbgrader's submitted/ tree?
And does a killed run pick up where it stopped, grading nothing twice?"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from platformlab_instructor.course import tool_environment
from platformlab_instructor.grading import intake

import processes
from grading import classroom as cr
from grading.classroom import read_csv, run_grade


def test_lms_file_names_are_understood():
    """Are Canvas (with _LATE_), Moodle and folder names read as the right student, wrapper folder or not?"""
    entries = [
        intake.Entry(name, Path("x"))
        for name in [
            "smithj_LATE_4242_777_01-platform-economics (1).ipynb",
            "José Núñez_31_assignsubmission_file_/Copy of lesson.ipynb",
            "class/alice/work.ipynb",
            "class/bob/work.ipynb",
            "course/submitted/carol/01-platform-economics/01-platform-economics.ipynb",
        ]
    ]
    intake.assign_students(entries, {"31": "jnunez"})
    assert [e.student for e in entries] == ["smithj", "jnunez", "alice", "bob", "carol"]
    assert entries[0].lms["late"] and entries[0].lms["canvas_id"] == "4242"


def test_namesakes_stay_apart():
    """Do two Canvas users whose logins are the same keep separate student ids?"""
    entries = [intake.Entry("smithj_11_1_a.ipynb", Path("x")), intake.Entry("smithj_12_2_a.ipynb", Path("x"))]
    intake.assign_students(entries)
    assert [e.student for e in entries] == ["smithj-11", "smithj-12"]


@pytest.mark.grading
def test_moodle_zip_with_roster_and_folders(tiny_course, tmp_path):
    """Are a Moodle zip (non-ASCII names, a roster) and a folder tree graded into the same tables?"""
    lesson = cr.available(tiny_course)[1]  # "Copy of my work.ipynb" is told from the other lesson by its content
    members = [
        (cr.moodle_name("José Núñez", 31, f"{lesson.stem}.ipynb"), cr.dumps(lesson.solution)),
        (cr.moodle_name("Ann Lee", 32, "Copy of my work.ipynb"), cr.dumps(lesson.student)),
        (cr.moodle_name("Ann Lee", 32, "draft.txt"), b"notes"),
    ]
    archive = cr.write_zip(tmp_path / "moodle.zip", members)
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id\n31,jnunez\n", encoding="utf-8")
    result = run_grade(archive, "--out", tmp_path / "out", "--jobs", 2, "--timeout", 5, "--roster", roster, root=tiny_course)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {r["student_id"]: r for r in read_csv(tmp_path / "out" / "grades.csv")}
    assert set(rows) == {"jnunez", "ann-lee"}
    assert float(rows["jnunez"]["score"]) == lesson.auto_points and float(rows["ann-lee"]["score"]) == 0
    skipped = read_csv(tmp_path / "out" / "skipped.csv")
    assert [r["reason"] for r in skipped] == ["not a notebook (.txt)"]

    # nbgrader's submitted/ tree, graded with kernels started afresh (--no-fork): the memory cap holds there too
    folder = tmp_path / "folders"
    for student, notebook in (("kai", lesson.solution), ("lee", cr.memory_hog(lesson))):
        (folder / "submitted" / student / lesson.stem).mkdir(parents=True)
        nbformat.write(notebook, folder / "submitted" / student / lesson.stem / f"{lesson.stem}.ipynb")
        (folder / "submitted" / student / lesson.stem / "timestamp.txt").write_text("2026-11-20 10:00:00 UTC")
    result = run_grade(folder, "--out", tmp_path / "out2", "--jobs", 1, "--timeout", 5, "--no-fork", root=tiny_course)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_csv(tmp_path / "out2" / "grades.csv")
    assert [(r["student_id"], r["status"], float(r["score"])) for r in rows] == [
        ("kai", "graded", lesson.auto_points),
        ("lee", "memory", lesson.auto_points),
    ]


def test_missing_input_is_a_clear_error(tmp_path):
    """Does grading a path that does not exist exit 1 (a failure, not a usage error) with a one-line message?"""
    result = run_grade(tmp_path / "nope.zip", "--out", tmp_path / "out")
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def _kill_all_but_the_resource_tracker(group: int) -> None:
    """SIGKILL every process of the run's process group ``group`` but multiprocessing's resource tracker, which
    then removes the pool's named semaphores from /dev/shm (killed too, it left five a run there for good).
    Unlike ``killpg`` this is not one step, so it goes on until no process of the group is left but the
    tracker (and the dead, not yet reaped): one forked meanwhile is killed too."""
    deadline = time.monotonic() + 30
    while True:
        left = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.getpgid(int(entry)) == group and b"resource_tracker" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                    left.append(int(entry))
            except OSError:
                continue
        left = [pid for pid in left if (found := processes.stat(pid)) and found[0] != "Z"]
        if not left:
            return
        assert time.monotonic() < deadline, f"the run's processes would not die: {left}"
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


@pytest.mark.grading
def test_killed_run_resumes_without_grading_twice(tiny_course, tmp_path):
    """After kill -9 midway, does a re-run finish every submission, grading none of the finished ones again?"""
    lessons = cr.available(tiny_course)
    members = [
        (
            cr.canvas_name(f"s{n}", 200 + n, lessons[n % len(lessons)].stem),
            cr.dumps(lessons[n % len(lessons)].student if n % 2 else lessons[n % len(lessons)].solution),
        )
        for n in range(6)
    ]
    archive = cr.write_zip(tmp_path / "class.zip", members)
    out = tmp_path / "out"
    journal = out / ".work" / "journal.jsonl"
    env = tool_environment()
    process = subprocess.Popen(
        cr.grade_command(archive, "--out", out, "--jobs", 1, root=tiny_course),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not (journal.exists() and len(journal.read_text().splitlines()) >= 2):
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.2)
    finally:
        _kill_all_but_the_resource_tracker(process.pid)
        process.wait()
    finished = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert 2 <= len(finished) < 6

    result = run_grade(archive, "--out", out, "--jobs", 2, root=tiny_course)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"already graded in an earlier run: {len(finished)}" in result.stdout
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6, "a submission was graded twice, or one is missing"
    rows = read_csv(out / "grades.csv")
    assert sorted(r["student_id"] for r in rows) == [f"s{n}" for n in range(6)]
    assert all(r["status"] == "graded" for r in rows)
    for n, row in enumerate(sorted(rows, key=lambda r: r["student_id"])):
        expected = 0 if n % 2 else lessons[n % len(lessons)].auto_points
        assert float(row["score"]) == expected
