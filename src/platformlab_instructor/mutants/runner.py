"""Run mutants against the tests: execute each notebook once, fork a child per mutant.

One worker process per lesson runs the solution notebook's code cells in order in an
in-process IPython ``InteractiveShell`` (magics and ``display`` work; matplotlib on
Agg), in a scratch working directory, with ``PLATFORMLAB_ROOT`` naming the course so
``platformlab.data.load`` finds ``data/``. Before an exercise's first solution cell it
``os.fork()``s one child per mutant: the child inherits the notebook state the test
would see in grading, runs the exercise's cells (the mutated solution cell, any cell
between, the test cell with its hidden tests) and sends its verdict through a pipe. The
parent then runs the real cells (the reference must pass its own test) and goes on.
Kernel start, imports and the notebook prefix are paid once per lesson, not per mutant.

Verdicts. A mutant is *killed* when a cell it runs raises (the reason names the cell:
the solution cell, or the test), when the test cell writes to stderr (nbgrader scores
such a cell 0), or when its child dies: over the wall-clock limit (``SIGALRM`` in the
child, ``SIGKILL`` from the parent as a backstop), over the address-space limit
(``RLIMIT_AS``: ``MemoryError`` or a crash), or by any other signal. Every child ends with
a verdict; a run never waits on a stuck mutant. The notebook's own cells have
``PARENT_TIMEOUT`` times the limit: one that runs past it is reported as an error of the
lesson, which goes on. ``slots`` (a semaphore shared by all
lesson workers) bounds how many children run at once: ``--jobs``.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import resource
import select
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import Exercise, Lesson, executable
from .mutant import Mutant

#: Seconds the parent waits past the limit before it kills a child the alarm did not stop.
GRACE = 2.0
#: The notebook's own cells (run once, in the lesson worker) may take this many times a mutant's limit.
PARENT_TIMEOUT = 4
_REASON = 400  # characters of a reason kept: the verdict must fit one atomic pipe write


@dataclass(frozen=True)
class Limits:
    """Per-mutant limits: wall-clock seconds, and memory beyond what the notebook already uses."""

    timeout: float = 30.0
    memory_mib: int = 1024


@dataclass(frozen=True)
class Outcome:
    """The verdict on one mutant."""

    mutant: str
    killed: bool
    reason: str
    seconds: float


@dataclass
class LessonRun:
    """What a lesson worker found: verdicts per exercise, and what went wrong outside mutants."""

    lesson: str
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # exercise -> its reference solution failing
    problems: list[str] = field(default_factory=list)  # cells outside exercises that raised
    seconds: float = 0.0


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class _Notebook:
    """The lesson's cells, run one by one in this process's IPython shell."""

    def __init__(self, lesson: Lesson, root: Path):
        os.environ["PLATFORMLAB_ROOT"] = str(root)
        os.environ["MPLBACKEND"] = "Agg"
        os.chdir(tempfile.mkdtemp(prefix=f"mutants-{lesson.stem}-"))
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False  # no history database, and no thread to inherit across fork
        self.shell = InteractiveShell.instance(config=config)
        self.shell.showtraceback = lambda *args, **kwargs: None  # verdicts read the exception; formatting costs
        self.shell.showsyntaxerror = lambda *args, **kwargs: None
        self.lesson = lesson

    def run(self, source: str) -> tuple[BaseException | None, str]:
        """Run one cell; return the exception it raised (or None) and what it wrote to stderr."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = self.shell.run_cell(source, store_history=False)
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")  # as the inline backend does after each cell
        return result.error_before_exec or result.error_in_exec, err.getvalue()

    def trial(self, exercise: Exercise, mutant: Mutant | None = None) -> tuple[bool, str]:
        """Run the exercise's cells, ``mutant`` in place of its cell: (killed, why)."""
        for index in range(exercise.first, exercise.test + 1):
            cell = self.lesson.cells[index]
            source = mutant.source if mutant and mutant.index == index else cell.source
            error, stderr = self.run(executable(source))
            if index == exercise.test:
                where = "test"
            elif index in exercise.solutions:
                where = f"solution cell {cell.grade_id}"
            else:
                where = f"cell {cell.grade_id}"
            if isinstance(error, MemoryError):
                return True, f"memory: MemoryError in {where} (address space limit)"
            if error is not None:
                return True, f"{where} failed: {_describe(error)}" if where == "test" else f"{where} raised {_describe(error)}"
            if where == "test" and stderr.strip():
                return True, f"test wrote to stderr (nbgrader scores it 0): {stderr.strip().splitlines()[0]}"
        return False, ""


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise ``TimeoutError`` in whatever runs past ``seconds``: the lesson's own cells must not hang the run."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


class _Children:
    """The forked children of one lesson worker, their pipes and deadlines."""

    def __init__(self, notebook: _Notebook, limits: Limits, slots):
        self.notebook, self.limits, self.slots = notebook, limits, slots
        self.running: dict[int, tuple[int, str, str, float, bytearray]] = {}  # fd -> pid, exercise, mutant, start, data
        self.outcomes: dict[str, list[Outcome]] = {}

    def fork(self, exercise: Exercise, mutant: Mutant) -> None:
        while not self.slots.acquire(timeout=0.02):
            self.collect(0.05)
        read, write = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            self._child(read, write, exercise, mutant)
        os.close(write)
        self.running[read] = (pid, exercise.grade_id, mutant.id, started, bytearray())

    def _child(self, read: int, write: int, exercise: Exercise, mutant: Mutant) -> None:
        """In the child: limits, the trial, one verdict written to the pipe; never returns."""
        try:
            os.close(read)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.setitimer(signal.ITIMER_REAL, self.limits.timeout)
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = _address_space() + self.limits.memory_mib * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
            begun = time.monotonic()
            killed, reason = self.notebook.trial(exercise, mutant)
            os.write(write, json.dumps([killed, reason[:_REASON], time.monotonic() - begun]).encode())
        except BaseException as error:  # noqa: BLE001 - whatever happens, the child must not go on as the parent
            with contextlib.suppress(BaseException):
                os.write(write, json.dumps([True, f"harness: {_describe(error)}"[:_REASON]]).encode())
        finally:
            os._exit(0)

    def collect(self, wait: float) -> None:
        """Take the verdicts of children that finished within ``wait`` seconds; kill overdue ones."""
        if not self.running:
            return
        now = time.monotonic()
        soonest = min(start for _, _, _, start, _ in self.running.values()) + self.limits.timeout + GRACE
        ready, _, _ = select.select(list(self.running), [], [], max(0.0, min(wait, soonest - now)))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                self.running[fd][4].extend(chunk)
            else:
                self._finish(fd, overdue=False)
        now = time.monotonic()
        for fd, (pid, _, _, start, _) in list(self.running.items()):
            if now - start > self.limits.timeout + GRACE:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._finish(fd, overdue=True)

    def _finish(self, fd: int, overdue: bool) -> None:
        pid, exercise, mutant, started, data = self.running.pop(fd)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.slots.release()
        seconds = time.monotonic() - started
        if data and not overdue:
            verdict = json.loads(bytes(data))  # [killed, reason] and, unless the harness failed, the child's own time
            killed, reason, seconds = *verdict[:2], verdict[2] if len(verdict) > 2 else seconds
        elif overdue or os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
            killed, reason = True, f"timeout: still running after {self.limits.timeout:g} s"
        elif os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            killed, reason = True, f"crashed: killed by {name} (over the memory limit?)"
        else:
            killed, reason = True, f"crashed: exit status {os.WEXITSTATUS(status)} and no verdict (over the memory limit?)"
        self.outcomes.setdefault(exercise, []).append(Outcome(mutant, killed, reason, round(seconds, 3)))

    def drain(self) -> None:
        while self.running:
            self.collect(1.0)


_SLOTS = None


def _init_worker(slots) -> None:
    global _SLOTS
    _SLOTS = slots
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # one thread per process: --jobs decides the parallelism


def run_lesson(lesson: Lesson, plan: dict[str, list[Mutant]], root: Path, limits: Limits, slots=None) -> LessonRun:
    """Run every planned exercise's mutants (exercise grade_id -> mutants) of one lesson.

    Meant to run in a process of its own (see :func:`run`): it chdirs, builds the
    process-wide IPython shell and forks.
    """
    started = time.monotonic()
    slots = slots or _SLOTS or multiprocessing.BoundedSemaphore(1)
    notebook = _Notebook(lesson, root)
    children = _Children(notebook, limits, slots)
    run = LessonRun(lesson.stem)
    position = 0
    for exercise in lesson.exercises:
        if exercise.grade_id not in plan:
            continue
        for index in range(position, exercise.first):
            with _deadline(PARENT_TIMEOUT * limits.timeout):
                error, _ = notebook.run(lesson.cells[index].code)
            if error is not None:
                run.problems.append(f"cell {lesson.cells[index].grade_id} raised {_describe(error)}")
        for mutant in plan[exercise.grade_id]:
            children.fork(exercise, mutant)
        with _deadline(PARENT_TIMEOUT * limits.timeout):
            killed, reason = notebook.trial(exercise)
        if killed:
            run.errors[exercise.grade_id] = f"the solution fails its own test: {reason}"
        position = exercise.test + 1
        children.collect(0.0)
    children.drain()
    run.outcomes = children.outcomes
    run.seconds = round(time.monotonic() - started, 2)
    return run


def _run_in_worker(lesson, plan, root, limits) -> LessonRun:
    try:
        return run_lesson(lesson, plan, root, limits)
    except Exception as error:  # noqa: BLE001 - reported as the lesson's problem, the other lessons go on
        run = LessonRun(lesson.stem)
        run.problems.append(f"the lesson could not be run: {_describe(error)}")
        return run


def run(
    work: list[tuple[Lesson, dict[str, list[Mutant]]]], root: Path, limits: Limits, jobs: int = 1, done=None
) -> list[LessonRun]:
    """Run lessons in worker processes (fresh, one per lesson), at most ``jobs`` mutants at a time.

    ``done(run)`` is called as each lesson finishes. Results come back in the order of ``work``.
    """
    context = multiprocessing.get_context("spawn")
    slots = context.BoundedSemaphore(max(1, jobs))
    with ProcessPoolExecutor(
        max_workers=max(1, min(jobs, len(work))),
        mp_context=context,
        initializer=_init_worker,
        initargs=(slots,),
        max_tasks_per_child=1,
    ) as pool:
        futures = [pool.submit(_run_in_worker, lesson, plan, root, limits) for lesson, plan in work]
        if done:
            for future in futures:
                future.add_done_callback(lambda finished: finished.exception() or done(finished.result()))
        runs = []
        for (lesson, _), future in zip(work, futures):
            try:
                runs.append(future.result())
            except Exception as error:  # noqa: BLE001 - the worker died (a crash outside any mutant)
                runs.append(LessonRun(lesson.stem, problems=[f"the lesson worker died: {_describe(error)}"]))
        return runs
