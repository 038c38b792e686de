"""Does the `platformlab` command answer --help on every verb, and does
`platformlab lab` serve the lessons?"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from platformlab_instructor import lessons
from platformlab_instructor.cli import parser

VERBS = sorted(parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_help(verb):
    """Does every verb explain itself with --help?"""
    args = [sys.executable, "-m", "platformlab_instructor"] + ([verb] if verb else []) + ["--help"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: platformlab" in done.stdout


def test_unknown_verb_is_a_clear_error():
    """Does a mistyped verb name the verbs there are?"""
    done = subprocess.run([sys.executable, "-m", "platformlab_instructor", "grde"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr and "generate" in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _platformlab(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "platformlab_instructor", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_version_is_the_packages():
    """Does --version print the one version number, pyproject's?"""
    from importlib.metadata import version

    done = _platformlab("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"platformlab {version('platformlab')}"


def test_simulate_writes_into_the_course_named_by_root(tmp_path):
    """Does `platformlab --root DIR simulate NAME` rebuild DIR/data/NAME.csv, byte for byte what the generator makes?"""
    from platformlab import simulate

    shutil.copytree(lessons.root() / "data", tmp_path / "data")
    (tmp_path / "data" / "city_panel.csv").write_text("stale\n", encoding="utf-8")
    done = _platformlab("--root", tmp_path, "simulate", "city_panel")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "city_panel.csv").read_bytes() == simulate.render("city_panel")


def test_no_course_folder_is_a_clear_error(tmp_path):
    """Run outside any course, or with a --root that is not one: exit 1 with a message saying how to name it."""
    done = _platformlab("--root", tmp_path, "generate", "--check")
    assert done.returncode == 1
    assert "not a course folder" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_lab_serves_the_lessons(tmp_path):
    """Does `platformlab lab` start a JupyterLab that answers /api/status, serves lesson 01 and opens on it?"""
    port, token = free_port(), "platformlab-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "platformlab_instructor",
            "lab",
            "--port",
            str(port),
            "--no-browser",
            "--",
            f"--IdentityProvider.token={token}",
            "--ServerApp.ip=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "wb"),
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None, "JupyterLab did not answer: " + (tmp_path / "lab.log").read_text(errors="replace")[-2000:]
        assert status[0] == 200 and "started" in json.loads(status[1])
        first = lessons.find()[0].filename
        code, body = get(f"{base}/api/contents/{first}?token={token}")
        assert code == 200 and json.loads(body)["type"] == "notebook"
        code, body = get(f"{base}/lab/tree/{first}?token={token}")
        assert code == 200 and b"JupyterLab" in body
        with urllib.request.urlopen(f"{base}/?token={token}", timeout=5) as landing:
            assert urllib.parse.urlsplit(landing.url).path == f"/lab/tree/{first}", (
                f"the server opens {landing.url}, not the first lesson"
            )
    finally:
        running = server.poll() is None  # still serving when the test was done with it
        stopped = False  # ended by SIGTERM within 30 s, as Ctrl+C or a process manager would stop it
        if running:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
                stopped = True
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    assert running, f"JupyterLab exited by itself (code {server.returncode}) while being used"
    assert stopped, "JupyterLab did not stop within 30 s of SIGTERM (it had to be killed)"
