"""When `platformlab grade` is killed, do its grading processes go too, and their box folders?

An instructor's ``kill PID`` (or kill -9, or a terminal that crashes) reaches the main process alone,
not its process group. Its pool's workers used to stay, idle, for ever, with their kernel zygotes and
box folders: each worker's queue pipes are held open by the other workers too, so none saw EOF.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from platformlab_instructor.course import tool_environment
from platformlab_instructor.grading import isolation

import processes
from grading import classroom as cr

pytestmark = pytest.mark.grading

#: Seconds the grading processes have to go once the main process is killed (they check every second).
DEADLINE = 30


def test_killing_the_main_process_ends_the_workers(tiny_course, tmp_path):
    """After kill -9 of the main process alone, mid-run, do its workers, their zygotes and boxes go?"""
    lesson = cr.available(tiny_course)[0]
    members = [(cr.canvas_name(f"s{n}", 300 + n, lesson.stem), cr.dumps(lesson.solution)) for n in range(4)]
    archive = cr.write_zip(tmp_path / "class.zip", members)
    out = tmp_path / "out"
    staging = out / ".work" / "staging"
    # the workers make their box folders in TMPDIR: a folder of this test's own, so that they can be told
    # from other runs' (a short path: boxes hold Unix sockets, whose paths are limited to ~100 bytes)
    boxes = Path(tempfile.mkdtemp(prefix="pl-stop-", dir="/tmp"))
    env = {**tool_environment(), "TMPDIR": str(boxes)}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            cr.grade_command(archive, "--out", out, "--jobs", 2, root=tiny_course),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # not in pytest's group (^C); the test kills the main process alone
        )
    started = processes.stat(process.pid)[2]
    tracked: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 300
        while not (staging.exists() and any(staging.glob("*/.started"))):  # a worker is set up and grading
            assert process.poll() is None, f"the run ended before it could be killed:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "grading did not start within 300 s"
            time.sleep(0.1)
        tracked = processes.descendants({process.pid: started})
        del tracked[process.pid]
        workers = [pid for pid in tracked if (processes.stat(pid) or ("", 0, 0))[1] == process.pid]
        assert len(workers) >= 2, (
            f"expected the pool's worker processes below {process.pid}: {list(map(processes.describe, tracked))}"
        )
        made = sorted(boxes.glob("pl-box-*"))
        assert made or isolation.unavailable(), "the workers made no box folders, though bubblewrap is here"

        os.kill(process.pid, signal.SIGKILL)  # the main process only, not its group
        process.wait()
        deadline = time.monotonic() + DEADLINE
        while True:
            tracked = processes.descendants(tracked)  # and whatever they started since (a zygote, a kernel's launcher)
            survivors = {pid: start for pid, start in tracked.items() if processes.alive(pid, start)}
            if not survivors or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        running = "\n".join(map(processes.describe, survivors))
        assert not survivors, f"{DEADLINE} s after the main process was killed, its grading processes still run:\n{running}"
        left = sorted(boxes.glob("pl-box-*"))
        assert not left, f"the workers' box folders were left behind: {left}"
    finally:  # whatever happened: nothing of this run may outlive the test
        for pid, start in processes.descendants({process.pid: started, **tracked}).items():
            if processes.alive(pid, start):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        process.wait()
        shutil.rmtree(boxes, ignore_errors=True)


def test_boxes_of_killed_workers_are_removed_by_the_next_run(tiny_course, tmp_path):
    """A worker killed with SIGKILL cannot remove its box folder, and a box it was starting may even go on
    running (bwrap's --die-with-parent misses a parent killed while bwrap starts: bubblewrap issue #633).
    Does the next run's worker remove the folder and end the box (their owner is gone), and leave the box
    of a worker still running?"""
    assert not isolation.unavailable(), f"`make test` installs bubblewrap: {isolation.unavailable()}"
    boxes = Path(tempfile.mkdtemp(prefix="pl-stop-", dir="/tmp"))
    running = {}
    try:
        dead = subprocess.Popen(["true"])  # a pid that no longer runs
        dead.wait()
        stale = boxes / f"pl-box-{dead.pid}-stale"
        alive = boxes / f"pl-box-{os.getpid()}-alive"
        for folder in (stale, alive):
            (folder / "kernel").mkdir(parents=True)
            box = isolation.command(str(folder / "kernel"), ["/usr", "/etc"], {}) + ["sleep", "600"]
            running[folder] = subprocess.Popen(box, start_new_session=True)
        started = time.monotonic()
        while not all(len(processes.below(box.pid)) == 2 for box in running.values()):  # each box's init and its sleep
            assert time.monotonic() - started < DEADLINE, "the boxes did not start"
            time.sleep(0.05)
        inside = {folder: processes.below(box.pid) for folder, box in running.items()}
        lesson = cr.available(tiny_course)[0]
        archive = cr.write_zip(tmp_path / "class.zip", [(cr.canvas_name("s1", 301, lesson.stem), cr.dumps(lesson.solution))])
        result = subprocess.run(
            cr.grade_command(archive, "--out", tmp_path / "out", "--jobs", 1, root=tiny_course),
            env={**tool_environment(), "TMPDIR": str(boxes)},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert not stale.exists(), "the box of a worker that is gone was left"
        left = [processes.describe(pid) for pid, start in inside[stale].items() if processes.alive(pid, start)]
        assert not left, f"a box of a worker that is gone still runs: {left}"
        assert alive.exists(), "the box of a running process was removed"
        assert all(processes.alive(pid, start) for pid, start in inside[alive].items()), "a running process's box was ended"
        assert not [folder for folder in boxes.glob("pl-box-*") if folder != alive], "the run left its own box"
    finally:
        for box in running.values():
            box.kill()
            box.wait()
        shutil.rmtree(boxes, ignore_errors=True)
