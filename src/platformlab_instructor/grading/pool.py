"""Grade many submissions at once, on a pool of worker processes, and never the same one twice.

Each worker process (:mod:`.worker`) has its own scratch nbgrader course and gradebook,
so that SQLite never sees two writers and nbgrader's one-at-a-time autograder runs
``jobs`` times over. The calling process is the single writer: it takes each
:class:`.records.Result` through ``on_result``, one at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..errors import PlatformlabError
from . import worker
from .progress import Progress
from .records import Result, Task

log = logging.getLogger(__name__)


class WorkersFailed(PlatformlabError):
    """The worker processes could not set themselves up (:func:`.worker.start`), so nothing can be graded."""


def run(
    tasks: list[Task],
    settings: worker.Settings,
    work: Path,
    jobs: int,
    on_result: Callable[[Task, Result], None],
    progress: Progress,
) -> None:
    """Grade ``tasks`` on ``jobs`` processes, calling ``on_result(task, result)`` here, one at a time.

    A worker process that dies (it should not: student code runs in kernels, in boxes) breaks
    the pool. Only the submissions a worker had started (:attr:`.records.Task.started`) are suspects; the rest
    go back to the queue unharmed. Suspects are graded again one at a time, so that a second
    break names the one submission that causes it, which alone is reported as ``error``.
    A worker that cannot set itself up is no submission's fault: a second time, the run stops
    with :class:`WorkersFailed` (before, the pool was started again and again, for ever).
    """
    pending = {task.key: task for task in tasks}
    crashes: dict[str, int] = {}
    starts = 0  # pools broken because a worker could not set itself up
    while pending:
        suspects = [task for key, task in pending.items() if crashes.get(key)]
        batch, width = (suspects[:1], 1) if suspects else (list(pending.values()), jobs)
        if not _pool(batch, settings, work, width, pending, on_result, progress):
            continue
        failed = work / worker.START_FAILED
        if failed.exists():  # no submission's fault: a worker could not set itself up
            why = failed.read_text(encoding="utf-8").strip().splitlines()[-1]
            starts += 1
            if starts >= 2:
                raise WorkersFailed(f"the grading processes could not start: {why} (the traceback is in {failed})")
            log.warning("a grading process could not start (%s); trying again", why)
            failed.unlink()
            for task in pending.values():  # what the other workers had started is not suspect
                task.started.unlink(missing_ok=True)
            continue
        started = [key for key, task in pending.items() if task.started.exists()]
        log.warning("a grading process died while grading %s; graded again, one at a time", ", ".join(started) or "nothing")
        for key in started:
            pending[key].started.unlink()
            crashes[key] = crashes.get(key, 0) + 1
            if crashes[key] >= 2:
                on_result(
                    pending.pop(key), Result(key, "error", "the grading process crashed twice while grading this submission")
                )
                progress.advance("error")


def _pool(
    batch: list[Task],
    settings: worker.Settings,
    work: Path,
    width: int,
    pending: dict[str, Task],
    on_result: Callable[[Task, Result], None],
    progress: Progress,
) -> bool:
    """Grade ``batch`` on a pool of ``width`` workers; return whether the pool broke."""
    context = multiprocessing.get_context("spawn")  # no fork: this process holds threads and SQLite handles
    with ProcessPoolExecutor(
        max_workers=max(1, min(width, len(batch))), mp_context=context, initializer=worker.start, initargs=(settings, str(work))
    ) as pool:
        futures = {pool.submit(worker.grade, task): task.key for task in batch}
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                key = futures.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return True
                on_result(pending.pop(key), result)
                progress.advance(result.status)
    return False
