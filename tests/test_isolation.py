"""Does a grading kernel's box hold? Each test runs a real kernel the way `platformlab grade`
starts one (a zygote in the worker's box, or a box of its own), has student code try one
attack, and checks that it fails.

The attacks are those a student who reads this project's source would try: read the
answer key or the grader's output, find the grader through /proc, use the network, read
the instructor's environment, leave a process behind, fill the disk, reach the zygote.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from platformlab_instructor import lessons
from platformlab_instructor.grading import isolation
from platformlab_instructor.grading.kernels import BoundedKernelManager
from platformlab_instructor.grading.launcher import address
from platformlab_instructor.grading.worker import kernel_environment
from platformlab_instructor.grading.zygote import Zygote

import processes

pytestmark = pytest.mark.slow  # real kernels: left out of `make test-fast`

SECRET = "instructor-secret-4711"


@pytest.fixture(scope="module", params=["zygote", "exec"])
def box(request):
    """A worker's box: its folder, what it may read, and (for "zygote") a zygote inside it."""
    assert not isolation.unavailable(), f"`make test` installs bubblewrap: {isolation.unavailable()}"
    os.environ["PLATFORMLAB_TEST_SECRET"] = SECRET  # an instructor variable the kernel must not see
    os.environ.update(kernel_environment())
    folder = tempfile.mkdtemp(prefix="pl-box-")
    readable = isolation.readable(os.environ["PLATFORMLAB_ROOT"])
    zygote = Zygote([lessons.find()[0].solution], dict(os.environ), 2048, folder, readable) if request.param == "zygote" else None
    assert zygote is None or zygote.name, "the zygote did not start in its box"
    yield {"folder": folder, "readable": readable, "zygote": zygote.name if zygote else ""}
    if zygote:
        zygote.close()
    subprocess.run(["rm", "-rf", folder], check=False)


def run(box: dict, code: str, timeout: float = 60) -> str:
    """Run ``code`` in a new kernel in ``box``, as grading does; return what it printed (errors as ``ENAME: text``)."""

    async def main() -> str:
        scratch = tempfile.mkdtemp(prefix="k", dir=box["folder"])
        manager = BoundedKernelManager(
            memory_limit=2048, zygote=box["zygote"], boxed=True, readable=os.pathsep.join(box["readable"])
        )
        manager.folder = scratch
        await manager.start_kernel(cwd=scratch)
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=timeout)
            request, printed = client.execute(code), []
            while True:
                message = await client.get_iopub_msg(timeout=timeout)
                if message["parent_header"].get("msg_id") != request:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    printed.append(content["text"])
                elif kind == "error":
                    printed.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(printed)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    return asyncio.run(main())


def test_the_answer_key_and_the_instructor_tools_are_not_there(box):
    """Can student code open solutions/, the answer fixtures, the teaching notes or the instructor's
    tools? (A zygote's box holds the kernel launch code, and nothing else of the instructor's.)"""
    root, tools = lessons.root(), lessons.root() / "src" / "platformlab_instructor"
    out = run(
        box,
        f"""
import os
for path in [{str(root / "solutions")!r}, {str(root / "tests")!r}, {str(root / "instructor")!r},
             {str(tools / "cli.py")!r}, {str(tools / "publish.py")!r}, {str(tools / "grading" / "worker.py")!r}]:
    print(path, os.path.exists(path))
print("tools", sorted(os.path.relpath(os.path.join(d, f), {str(tools)!r}) for d, _, fs in os.walk({str(tools)!r}) for f in fs))
from platformlab import data
print("data", data.load("city_panel").shape)
""",
    )
    assert " True" not in out, out
    seen = {path for path in eval(out.split("tools ")[1].splitlines()[0]) if "__pycache__" not in path}
    assert set(seen) <= {
        "__init__.py",
        "lazy_iri.py",
        "grading/__init__.py",
        "grading/launcher.py",
        "grading/isolation.py",
        "grading/zygote.py",
    }, seen
    assert "data (" in out, f"the lessons' data must stay readable: {out}"


def test_the_graders_files_and_processes_are_not_there(box, tmp_path):
    """Can student code find the grader (its pid, its --out folder) or write outside its own folder?"""
    out_folder = tmp_path / "grades"
    out_folder.mkdir()
    (out_folder / "grades.csv").write_text("student,score\nvictim,14\n")
    out = run(
        box,
        f"""
import os
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("parent", os.environ.get("JPY_PARENT_PID"))
print("out", os.path.exists({str(out_folder)!r}))
for target in ["/work", "/root", {str(tmp_path)!r}, {str(out_folder)!r}, "/usr/lib"]:
    try:
        open(os.path.join(target, "planted"), "w").write("x")
    except OSError:
        pass
""",
    )
    pids = eval(out.split("pids ")[1].splitlines()[0])
    assert os.getpid() not in pids and len(pids) <= 4, f"processes other than the box's own are visible: {pids}"
    assert "parent None" in out and "out False" in out, out
    planted = [target for target in ("/work", "/root", tmp_path, out_folder, "/usr/lib") if (Path(target) / "planted").exists()]
    assert not planted, f"student code wrote outside its box: {planted}"
    assert (out_folder / "grades.csv").read_text() == "student,score\nvictim,14\n"


def test_no_instructor_environment_and_no_network(box):
    """Does the kernel see an instructor variable, or reach a server on the grader's loopback?"""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        out = run(
            box,
            f"""
import os, socket
print("secret", {SECRET!r} in str(os.environ))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError as error:
    print("no network", type(error).__name__)
""",
        )
    finally:
        listener.close()
    assert "secret False" in out and "no network" in out, out


def test_a_process_left_behind_dies_with_the_box(box):
    """Does a daemon started by student code (its own session) outlive its kernel: in an exec box,
    past the kernel's end; in a zygote's box, past the start of the next submission's kernel?"""
    seconds = f"299.{time.monotonic_ns() % 10**9:09d}"  # a command line no other process has

    def alive() -> list[str]:
        time.sleep(1)
        return subprocess.run(["pgrep", "-f", f"sleep {seconds}"], capture_output=True, text=True).stdout.split()

    out = run(
        box,
        f"""
import subprocess
subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
print("started")
""",
    )
    assert "started" in out, out
    if box["zygote"]:
        assert alive(), "the daemon did not even start: this test would prove nothing"
        run(box, "print('the next submission')")
    assert not alive(), "a process of student code outlived its kernel"


def test_a_file_cannot_fill_the_disk(box):
    """Is one file capped (RLIMIT_FSIZE), so that student code cannot fill the grader's disk?"""
    out = run(
        box,
        """
try:
    with open("big", "wb") as handle:
        for _ in range(300):
            handle.write(b"x" * (1 << 20))
    print("wrote 300 MiB")
except OSError as error:
    print("stopped", type(error).__name__)
""",
    )
    assert "stopped" in out and "wrote 300 MiB" not in out, out


@pytest.mark.parametrize("box", ["zygote"], indirect=True)
def test_the_zygote_cannot_be_reached_from_a_box(box):
    """Can student code connect to the zygote (to stall it, or ask for a kernel without a memory cap)?"""
    out = run(
        box,
        f"""
import socket
client = socket.socket(socket.AF_UNIX)
try:
    client.connect({address(box["zygote"])!r})
    print("reached the zygote")
except OSError as error:
    print("unreachable", type(error).__name__)
""",
    )
    assert "unreachable" in out, out
    # and the grader itself still can
    with socket.socket(socket.AF_UNIX) as grader:
        grader.connect(address(box["zygote"]))


def test_a_startup_file_does_not_reach_the_next_kernel(box):
    """Does an IPython startup file written by one submission run in the next one's kernel?"""
    run(
        box,
        """
import os
from IPython.paths import get_ipython_dir
startup = os.path.join(get_ipython_dir(), "profile_default", "startup")
os.makedirs(startup, exist_ok=True)
open(os.path.join(startup, "00-cheat.py"), "w").write("CHEATED = True")
print(startup)
""",
    )
    assert "cheated False" in run(box, "print('cheated', 'CHEATED' in globals())")


def assert_nothing_outlives(worker: str, what: str) -> None:
    """Run the stand-in ``worker`` (Python code that forks, prints the child's pid and exits); follow every process
    below that child until the child ends (30 s at most), and fail naming any still alive, after killing them."""
    child = int(subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, check=True).stdout)
    found = processes.stat(child)
    assert found, f"{what}'s first process ended before the test could see it"
    tree = {child: found[2]}
    deadline = time.monotonic() + 30
    while processes.alive(child, found[2]) and time.monotonic() < deadline:
        tree.update(processes.descendants(tree))
        time.sleep(0.05)
    survivors = [pid for pid, start in processes.descendants(tree).items() if processes.alive(pid, start)]
    described = "\n".join(processes.describe(pid) for pid in survivors)
    for pid in survivors:
        os.kill(pid, 9)
    assert not survivors, f"{what} outlived its worker:\n" + described


@pytest.mark.parametrize("box", ["exec"], indirect=True)
def test_a_box_ends_when_its_worker_died_before_bwrap_took_hold(box):
    """A worker killed after starting a kernel's launcher, before bwrap could ask to die with its parent:
    does the box end anyway? (Seen once: a box, its kernel inside, alive 87 minutes after its test,
    the child of init.) Here the stand-in worker is gone before the launcher even starts."""
    launcher = [
        sys.executable,
        "-m",
        "platformlab_instructor.grading.launcher",
        "--box",
        box["folder"],
        "--readable",
        os.pathsep.join(box["readable"]),
        "--parent",
        "PARENT",
        "--",
        "sleep",
        "297",
    ]
    worker = f"""
import os, sys, time
parent = os.getpid()
child = os.fork()
if child == 0:  # becomes the launcher once the worker is gone
    while os.getppid() == parent:
        time.sleep(0.005)
    os.execv(sys.executable, [arg.replace("PARENT", str(parent)) for arg in {launcher!r}])
print(child)
"""
    assert_nothing_outlives(worker, "the box")


@pytest.mark.parametrize("box", ["exec"], indirect=True)
def test_a_zygote_ends_when_its_worker_died_before_bwrap_took_hold(box, tmp_path):
    """The same for a worker's zygote: a worker killed while its zygote's box starts. Inside the box the zygote's
    parent is bwrap, whatever happens to the worker; the zygote must see the worker go another way. Here the stand-in
    worker is gone before the zygote's box even starts; the zygote must still have started (said "ready"), so that
    it is the worker's end, not a failed start, that ends it."""
    said = tmp_path / "zygote-stdout"
    worker = f"""
import os, socket, sys, time
from platformlab_instructor.grading import zygote
from platformlab_instructor.grading.launcher import address
parent = os.getpid()
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(address(f"platformlab-zygote-test-{{parent}}"))
server.listen(1)
lifeline, keep = os.pipe()
command = zygote.command(server.fileno(), lifeline, 2048, [], dict(os.environ), {box["folder"]!r}, {box["readable"]!r})
child = os.fork()
if child == 0:  # becomes the zygote's box once the worker is gone, as the worker's Popen would start it
    os.close(keep)
    while os.getppid() == parent:
        time.sleep(0.005)
    quiet, out = os.open(os.devnull, os.O_RDWR), os.open({str(said)!r}, os.O_WRONLY | os.O_CREAT)
    for stream, target in ((0, quiet), (1, out), (2, quiet)):
        os.dup2(target, stream)
    os.set_inheritable(server.fileno(), True)
    os.set_inheritable(lifeline, True)
    os.execvp(command[0], command)
print(child)
"""
    assert_nothing_outlives(worker, "the zygote's box")
    assert said.read_text().strip() == "ready", "the zygote never started, so its end proves nothing"


def test_a_machine_without_boxes_is_told_so(monkeypatch, tmp_path):
    """Without bubblewrap, does `--isolation box` refuse with a clear message (and `auto` warn, not refuse)?"""
    from platformlab_instructor.errors import PlatformlabError
    from platformlab_instructor.grading import pipeline

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    isolation.unavailable.cache_clear()
    try:
        with pytest.raises(PlatformlabError, match="bubblewrap"):
            pipeline._boxed("box")
        assert pipeline._boxed("auto") is False
    finally:
        isolation.unavailable.cache_clear()
