"""Grade one submission with nbgrader, in a worker process with its own scratch course.

nbgrader's gradebook is one SQLite file and its autograder handles one submission
at a time, so each worker process gets a private copy of the course (the
generated gradebook and the sources) and autogrades there with nbgrader's Python
API. The autograder is nbgrader's own, with its Execute step swapped for
:class:`.kernels.BoundedExecute` (memory cap, scratch folder, output cap, kernels
forked from the zygote of :mod:`.zygote`). Before nbgrader sees a submission,
:func:`.identify.restore` puts back deleted or tampered graded cells.

It hands back the scores, the autograded notebook and the feedback page; the
main process alone writes them into the real gradebook (see :mod:`.pipeline`).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from platformlab.root import ENV, course_root

from .. import logs
from ..course import Course, tool_environment
from . import identify
from .records import Result, Task

#: The student id used inside a worker's scratch course (the real one never needs to be a path there).
INSIDE = "student"
#: Thread pools of numerical libraries, one thread each in kernels: workers already use every core,
#: and a pool made before the zygote forks is no use to its kernels.
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Seconds between a worker's checks that the process that started it is still there (:func:`_end_with_parent`).
PARENT_CHECK = 1.0


@dataclass(frozen=True)
class Settings:
    """What every worker needs to know, picklable."""

    template: str  # a course folder holding source/ and the generated gradebook.db
    releases: dict  # stem -> student version notebook
    timeout: int
    memory: int  # MiB per kernel, 0 for no limit
    fork: bool = True  # kernels forked from a zygote of the worker's (zygote.py), not started afresh
    figures: bool = True  # kernels draw the notebooks' figures (False: their text only)
    boxed: bool = False  # kernels (and the zygote) in boxes (isolation.py)
    fallback_log: str = ""  # where a kernel that starts afresh says why
    verbose: int = 0  # the command's -v: workers log as it does


def kernel_environment(environ=None) -> dict:
    """The environment for kernels: as given, with platformlab importable (lessons import it) and the
    course folder named (kernels run in a scratch folder, from which the data cannot be found)."""
    environ = tool_environment(environ)
    if ENV not in environ:
        environ[ENV] = str(course_root())
    return environ


class GradingCourse(Course):
    """An nbgrader course whose autograder runs a bounded kernel in a scratch folder,
    and whose feedback hides the hidden tests."""

    def __init__(self, root: Path, sources: dict[str, Path], timeout: int = 60, kernels: dict | None = None):
        super().__init__(root, sources, timeout=timeout)
        self.kernels = dict(kernels or {})  # BoundedKernelManager's settings: memory_limit, zygote, boxed...
        self.scratch = ""  # the folder the next kernel runs in

    @classmethod
    def existing(cls, root: Path, stems: list[str], timeout: int = 60) -> GradingCourse:
        """The course already at ``root`` (sources in place): nothing is copied or generated."""
        course = cls.__new__(cls)
        course.root, course.timeout, course.kernels, course.scratch = Path(root), timeout, {}, ""
        course.stems = list(stems)
        return course

    def config(self):
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.converters import Autograde
        from nbgrader.preprocessors import Execute, GetGrades

        from .feedback import HideTests
        from .feedback import exporter_class as feedback_exporter
        from .kernels import BoundedExecute

        config = super().config()
        # nbgrader's own autograde steps, with Execute replaced by the bounded one
        config.Autograde.autograde_preprocessors = [
            BoundedExecute if step is Execute else step for step in Autograde.class_traits()["autograde_preprocessors"].default()
        ]
        config.BoundedExecute.scratch = self.scratch
        for name, value in self.kernels.items():
            setattr(config.BoundedKernelManager, name, value)
        config.GenerateFeedback.preprocessors = [GetGrades, HideTests, CSSHTMLHeaderPreprocessor]
        config.GenerateFeedback.exporter_class = feedback_exporter()
        return config


_state: dict = {}


#: In a pool's folder: why a worker process could not set itself up (:func:`start`; read by :mod:`.pool`).
START_FAILED = "start-failed.txt"


def start(settings: Settings, work: str) -> None:
    """Set up this worker process: its scratch course, the lesson catalogue, its box and zygote.
    If that fails, say why in ``work``/:data:`START_FAILED` before the process ends."""
    try:
        _start(settings, work)
    except BaseException:
        (Path(work) / START_FAILED).write_text(traceback.format_exc(), encoding="utf-8")
        raise


def _start(settings: Settings, work: str) -> None:
    from multiprocessing.util import Finalize

    from .isolation import readable
    from .launcher import note_fallback
    from .zygote import Zygote

    logs.to_stderr(settings.verbose)
    for name in THREADS:  # before the zygote imports numpy; boxes pass these (isolation.PASSED)
        os.environ.setdefault(name, "1")
    root = Path(tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=work))
    template = Path(settings.template)
    sources = {stem: template / "source" / stem / f"{stem}.ipynb" for stem in settings.releases}
    os.environ.update(kernel_environment())
    # a box's folder holds its kernels' folders and Unix sockets: a short path (socket paths are limited to ~100 bytes)
    box = _new_box() if settings.boxed else ""
    paths = readable(os.environ[ENV]) if settings.boxed else []
    zygote = Zygote(list(sources.values()), os.environ, settings.memory, box, paths) if settings.fork else None
    if zygote and not zygote.name:
        note_fallback(settings.fallback_log, "this worker's zygote did not start")
    Finalize(None, _close, args=(zygote, box), exitpriority=10)
    _end_with_parent(zygote, box)
    kernels = {
        "memory_limit": settings.memory,
        "zygote": zygote.name if zygote else "",
        "boxed": settings.boxed,
        "readable": os.pathsep.join(paths),
        "fallback_log": settings.fallback_log,
        "figures": settings.figures,
    }
    course = GradingCourse(root, sources, timeout=settings.timeout, kernels=kernels)
    shutil.copyfile(template / "gradebook.db", root / "gradebook.db")
    _state.update(
        root=root,
        course=course,
        box=box,
        catalogue=identify.Catalogue({stem: Path(path) for stem, path in settings.releases.items()}, sources),
    )
    quiet()
    _scratch_gradebooks_skip_fsync()
    _check_schema_once()


#: A box folder's name: the worker's pid, then a random part (``pl-box-1234-x8f2``).
BOX = re.compile(r"pl-box-(\d+)-")
#: The same, in a command line (a bwrap binding the box folder).
BOX_IN_COMMAND = re.compile(b"/" + BOX.pattern.encode())


def _new_box() -> str:
    """A new box folder for this worker, in the temporary folder. What workers that died without cleaning
    up (killed with SIGKILL) left is removed first, so it does not pile up: their box folders, and the boxes
    still running in them (:func:`_end_orphan_boxes`)."""
    _end_orphan_boxes()
    for folder in Path(tempfile.gettempdir()).glob("pl-box-*"):
        owner = BOX.match(folder.name)
        if owner and not _alive(owner[1]):
            shutil.rmtree(folder, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"pl-box-{os.getpid()}-")


def _alive(pid: str) -> bool:
    return Path(f"/proc/{pid}").exists()


def _end_orphan_boxes() -> None:
    """Kill every ``bwrap`` whose box folder belongs to a worker that is gone. Killing a box's init (the inner
    ``bwrap``, pid 1 of its namespace) ends everything in the box.

    Why: ``--die-with-parent`` misses a parent killed while bwrap starts, before its inner process asks for
    the signal (bubblewrap issue #633, PR #730). A worker killed at that moment (``kill -9`` of a run's process
    group) left a kernel's box running, kernel included, for ever. The zygote's box has its lifeline
    (:func:`.zygote.command`); a kernel started afresh (``--no-fork``, or a zygote that failed) has none."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        owners = {owner.decode() for owner in BOX_IN_COMMAND.findall(command)}
        if os.path.basename(command.split(b"\0")[0]) == b"bwrap" and owners and not any(map(_alive, owners)):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def _close(zygote, box: str) -> None:
    if zygote:
        zygote.close()
    if box:
        shutil.rmtree(box, ignore_errors=True)


_owned: list = []  # (zygote, box) of each _start in this process: a Dask worker starts one per course it is sent


def _end_with_parent(zygote, box: str) -> None:
    """Close ``zygote`` and ``box`` and end this process as soon as the process that started it is gone.

    Why: when ``platformlab grade`` is killed (kill -9, or ``kill PID`` of the main process alone), its pool's
    workers never hear of it (each worker's queue pipes are held open by the other workers too) and would
    wait, idle, for ever, with their zygotes and boxes. A daemon thread checks the parent's pid every
    :data:`PARENT_CHECK` seconds (as the zygote and the kernel launcher do); Finalize does not run on the
    way out (``os._exit``), hence the explicit :func:`_close`.

    Only a process started by multiprocessing is watched: a pool worker (its parent is ``platformlab grade``)
    or a Dask worker under a nanny (its parent is the nanny, which it should not outlive). A process started
    otherwise (``dask worker --no-nanny``) may rightly outlive its parent, a shell that logged out.
    """
    _owned.append((zygote, box))
    parent = multiprocessing.parent_process()  # its pid is the parent's when this process started
    if parent is None or len(_owned) > 1:  # not started by multiprocessing, or already watched
        return

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(PARENT_CHECK)
        for owned in _owned:
            _close(*owned)
        os._exit(1)

    threading.Thread(target=watch, name="platformlab-end-with-parent", daemon=True).start()


def _scratch_gradebooks_skip_fsync() -> None:
    # nbgrader commits after every cell; on a scratch gradebook that nobody keeps, waiting
    # for each commit to reach the disk is wasted time. Only worker processes do this: the
    # real gradebook (written by the main process) keeps SQLite's defaults.
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection, record):
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.close()


def _check_schema_once() -> None:
    # nbgrader validates every graded cell's metadata with jsonschema.validate, which checks
    # the schema itself again on each call: most of nbgrader's own time per submission. Same
    # validation (same errors, best match first), the schema checked once per worker.
    import json
    from types import SimpleNamespace

    import jsonschema
    from nbgrader.nbgraderformat import common

    validators: dict[str, object] = {}

    def validate(instance, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in validators:
            kind = jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            validators[key] = kind(schema)
        error = jsonschema.exceptions.best_match(validators[key].iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = SimpleNamespace(validate=validate)


def quiet() -> None:
    """Silence the gradebook's SQLAlchemy warnings: they are nbgrader's, and say nothing about the student."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def grade(task: Task) -> Result:
    """Autograde one submission; never raises: a failure is an ``error`` result with its message and traceback."""
    import time

    start = time.monotonic()
    task.started.parent.mkdir(parents=True, exist_ok=True)
    task.started.touch()
    try:
        result = _grade(task)
    except Exception as error:  # the worker must survive anything one submission does
        result = Result(
            task.key, "error", f"grading failed: {type(error).__name__}: {error}", detail=traceback.format_exc()[-4000:]
        )
    finally:
        task.started.unlink(missing_ok=True)
    result.seconds = round(time.monotonic() - start, 2)
    return result


def _grade(task: Task) -> Result:
    import time

    import nbformat

    from .kernels import BoundedExecute

    root, course = _state["root"], _state["course"]
    phases: dict[str, float] = {}
    since = time.monotonic()

    def lap(phase: str) -> None:
        nonlocal since
        now = time.monotonic()
        phases[phase] = round(phases.get(phase, 0.0) + now - since, 3)
        since = now

    stem = task.lesson
    lesson = _state["catalogue"].lessons[stem]
    notebook, notes = identify.restore(identify.read(Path(task.path)), lesson)
    for folder in ("submitted", "autograded", "feedback"):
        shutil.rmtree(root / folder / INSIDE, ignore_errors=True)
    submitted = root / "submitted" / INSIDE / stem / f"{stem}.ipynb"
    submitted.parent.mkdir(parents=True)
    nbformat.write(notebook, submitted)
    scratch = tempfile.mkdtemp(prefix="k", dir=_state["box"] or None)
    BoundedExecute.latest = None  # set again by the run below: what it observed decides the status
    lap("restore")
    try:
        course.scratch = scratch
        api = course.api()
        result = api.autograde(stem, INSIDE, force=True, create=True)
        if not result["success"]:
            return Result(
                task.key,
                "error",
                "nbgrader could not grade it: " + _last_error(result),
                notes,
                detail=(result.get("log", "") + result.get("error", ""))[-4000:],
            )
        run = BoundedExecute.latest
        lap("autograde")
        executed = {phase: round(seconds, 3) for phase, seconds in run.phases.items()}
        phases.update(executed)
        phases["nbgrader"] = round(phases.pop("autograde") - sum(executed.values()), 3)  # its own bookkeeping
        autograded = root / "autograded" / INSIDE / stem / f"{stem}.ipynb"
        grades, comments = course.grades_and_comments(stem, INSIDE)
        verdict, more = status(run.observed, course.kernels.get("memory_limit", 0))
        lap("gradebook")
        feedback = api.generate_feedback(stem, INSIDE, force=True)
        lap("feedback")
        out = Path(task.staging)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(submitted, out / "submitted.ipynb")
        shutil.copyfile(autograded, out / "autograded.ipynb")
        html = root / "feedback" / INSIDE / stem / f"{stem}.html"
        if feedback["success"] and html.exists():
            shutil.copyfile(html, out / "feedback.html")
        else:
            more.append("feedback page could not be made: " + _last_error(feedback))
        lap("staging")
        return Result(
            task.key, verdict, "; ".join(more), notes, list(grades.values()), comments, flags=list(run.flags), phases=phases
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def status(observed: dict[str, list[str]], memory: int = 0) -> tuple[str, list[str]]:
    """The submission's status and a note per kind of trouble, from what the grader observed
    (:attr:`.kernels.BoundedExecute.observed`: kind -> cells), never from the notebook's outputs.

    ``crashed``, ``timeout`` and ``truncated`` are the grader's own observations. ``memory`` is a
    MemoryError the kernel reported while a cap of ``memory`` MiB was in force: a notebook can raise
    one itself, which gains nothing (the cell failed) and is said to be the kernel's report.
    """
    notes = {
        "crashed": "the kernel died (a new one ran the rest) in:",
        "timeout": "ran past the time limit:",
        "memory": f"MemoryError under the {memory:,} MiB cap (the kernel's report) in:"
        if memory
        else "MemoryError (the kernel's report) in:",
        "truncated": "output truncated:",
    }
    said = [f"{notes[kind]} {', '.join(observed.get(kind, []))}" for kind in notes if observed.get(kind)]
    verdict = next((kind for kind in ("crashed", "timeout", "memory") if observed.get(kind)), "graded")
    return verdict, said


def _last_error(result: dict) -> str:
    """What went wrong, in one line, from the error and log of an nbgrader API call: the last exception
    a traceback ends with, else the last line that speaks of an error. nbgrader's own summary lines
    ("Please see the above traceback ...") say nothing and are never chosen."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _SUMMARY.search(line)]
    raised = [line for line in lines if _RAISED.match(line)]
    said = [line for line in lines if "error" in line.lower()]
    return (raised or said or lines or ["no message"])[-1][:300]


#: nbgrader's summary lines after a failure, which name no cause.
_SUMMARY = re.compile(r"Please see the|There was an error processing assignment")
#: The last line of a traceback: ``package.SomeError: what``.
_RAISED = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:|$)")
