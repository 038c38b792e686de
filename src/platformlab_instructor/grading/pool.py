"""Grade many submissions at once, on a pool of worker processes, and never the same one twice.

Each worker process (:mod:`.worker`) has its own scratch nbgrader course and gradebook,
so that SQLite never sees two writers and nbgrader's one-at-a-time autograder runs
``jobs`` times over. The calling process is the single writer: it takes each
:class:`.records.Result` through ``on_result``, one at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from . import worker
from .progress import Progress
from .records import Result, Task

log = logging.getLogger(__name__)


def run(tasks: list[Task], settings: worker.Settings, work: Path, jobs: int,
        on_result: Callable[[Task, Result], None], progress: Progress) -> None:
    """Grade ``tasks`` on ``jobs`` processes, calling ``on_result(task, result)`` here, one at a time.

    A worker process that dies (it should not: kernels run in their own processes)
    breaks the pool; the submissions then in flight are tried again in a new pool,
    and a submission that breaks it twice is reported as ``error``.
    """
    pending = {task.key: task for task in tasks}
    crashes: dict[str, int] = {}
    while pending:
        context = multiprocessing.get_context("spawn")  # no fork: this process holds threads and SQLite handles
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(pending))), mp_context=context,
                                 initializer=worker.start, initargs=(settings, str(work))) as pool:
            futures = {pool.submit(worker.grade, task): key for key, task in pending.items()}
            broken = False
            while futures and not broken:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    key = futures.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    on_result(pending.pop(key), result)
                    progress.advance(result.status)
        if pending:
            log.warning("a grading process died; %d submission(s) in flight are graded again", len(pending))
        for key in list(pending):  # only left when the pool broke
            crashes[key] = crashes.get(key, 0) + 1
            if crashes[key] >= 2:
                on_result(pending.pop(key), Result(key, "error", "the grading process crashed twice while grading this submission"))
                progress.advance("error")
