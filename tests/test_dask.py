"""Does `platformlab grade --scheduler` grade on a real Dask cluster as the local pool does, and lose and
duplicate nothing when a worker dies mid-run? (A LocalCluster of two worker processes on 127.0.0.1.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from platformlab_instructor.course import tool_environment

from grading import classroom as cr
from grading.classroom import read_csv, run_grade

pytestmark = pytest.mark.grading
distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'platformlab[dask]'")


@pytest.fixture(scope="module")
def lesson(tiny_course) -> cr.Lesson:
    return cr.available(tiny_course)[0]


@pytest.fixture(scope="module")
def klass(lesson, tmp_path_factory):
    """Seven submissions of a tiny lesson (solutions, untouched, a wrong answer in turn), as a Canvas zip,
    and each student's expected auto score."""
    wrong, fails = cr.wrong_answer(lesson)
    kinds = [(lesson.solution, lesson.auto_points), (lesson.student, 0.0), (wrong, lesson.auto_points - lesson.points(fails))]
    members, expected = [], {}
    for n in range(7):
        notebook, score = kinds[n % 3]
        members.append((cr.canvas_name(f"s{n}", 300 + n, lesson.stem), cr.dumps(notebook)))
        expected[f"s{n}"] = score
    return cr.write_zip(tmp_path_factory.mktemp("dask-class") / "class.zip", members), expected


@pytest.fixture(scope="module")
def cluster():
    """A real Dask cluster: a scheduler and two worker processes of one thread, on the loopback."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local.scheduler_address, client


def scores(out) -> dict[str, tuple[str, float]]:
    return {row["student_id"]: (row["status"], float(row["score"])) for row in read_csv(out / "grades.csv")}


def test_cluster_grades_as_the_local_pool_does(klass, lesson, cluster, tiny_course, tmp_path):
    """Does the same class give the same grades, cell by cell, with and without --scheduler?"""
    archive, expected = klass
    address, _ = cluster
    local = run_grade(archive, "--out", tmp_path / "local", "--jobs", 2, root=tiny_course)
    assert local.returncode == 0, local.stderr[-3000:]
    remote = run_grade(archive, "--out", tmp_path / "dask", "--scheduler", address, root=tiny_course)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert scores(tmp_path / "dask") == scores(tmp_path / "local") == {s: ("graded", score) for s, score in expected.items()}

    def cells(out):
        return sorted((r["student_id"], r["grade_id"], r["score"]) for r in read_csv(out / "items.csv"))

    assert cells(tmp_path / "dask") == cells(tmp_path / "local")
    for student in expected:  # the files the workers sent back, written by the client
        assert (tmp_path / "dask" / "feedback" / student / f"{lesson.stem}.html").exists()
        assert (tmp_path / "dask" / "course" / "autograded" / student / lesson.stem / f"{lesson.stem}.ipynb").exists()


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(klass, cluster, tiny_course, tmp_path):
    """Kill -9 a worker process while it grades: is every submission still graded, exactly once?"""
    archive, expected = klass
    address, client = cluster
    out = tmp_path / "out"
    journal = out / ".work" / "journal.jsonl"
    process = subprocess.Popen(
        cr.grade_command(archive, "--out", out, "--scheduler", address, root=tiny_course),
        env=tool_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = None
        while victim is None:
            assert process.poll() is None, "the run ended before a worker could be killed: " + process.stderr.read()[-3000:]
            if journal.exists() and journal.read_text().strip():  # a first result is in
                busy = [worker for worker, keys in client.processing().items() if keys]
                if busy:
                    victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
            time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr[-3000:]
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(expected), "a submission was graded twice, or one is missing"
    assert scores(out) == {s: ("graded", score) for s, score in expected.items()}


def test_an_unreachable_scheduler_is_an_error_before_anything_is_written(klass, tiny_course, tmp_path):
    archive, _ = klass
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_grade(archive, "--out", tmp_path / "out", "--scheduler", f"tcp://127.0.0.1:{port}", root=tiny_course)
    assert result.returncode == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_without_dask_the_error_names_the_extra(klass, tmp_path):
    """Where dask is not installed (here: made unimportable), does --cluster say what to install?"""
    archive, _ = klass
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from platformlab_instructor.cli import main\n"
        f"sys.exit(main(['grade', {str(archive)!r}, '--out', {str(tmp_path / 'out')!r}, '--cluster', 'local']))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=tool_environment(), capture_output=True, text=True)
    assert result.returncode == 1
    assert "pip install 'platformlab[dask]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
