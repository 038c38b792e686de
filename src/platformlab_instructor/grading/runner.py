"""Grade many submissions at once, and never the same one twice.

Parallelism: a pool of worker processes (:mod:`.worker`), each with its own
scratch nbgrader course and gradebook, so that SQLite never sees two writers and
nbgrader's one-at-a-time autograder runs ``jobs`` times over. This process is the
single writer: it takes each result, writes it into the real gradebook and
course folders, and then appends one line to the journal.

Resuming: the journal (``journal.jsonl``, one JSON object per finished
submission, flushed and fsynced) is the commit point. A submission is known by
its student, lesson and the SHA-256 of its file; on the next run every key in the
journal is skipped (unless ``force``), so a crash or ``kill -9`` loses at most the
submissions in flight, and nothing is graded twice. A torn last line is ignored.
Submissions whose grading broke (status ``error``) are tried again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from . import worker


class Journal:
    """Append-only record of finished submissions, one JSON line each."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        records = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash: that submission is graded again
                records[record["key"]] = record
        return records

    def finished(self) -> dict[str, dict]:
        """The records that count as done: an ``error`` (grading broke) is tried again on the next run."""
        return {key: record for key, record in self.load().items() if record.get("status") != "error"}

    def append(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class Progress:
    """A one-line progress bar with an ETA on a terminal; one line per submission otherwise."""

    def __init__(self, total: int, stream=None, enabled: bool = True):
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and self.stream.isatty()
        if self.enabled:
            self._draw("")

    def advance(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            self._draw(label)

    def _draw(self, label: str) -> None:
        elapsed = time.monotonic() - self.start
        eta = "--:--" if not self.done else _clock(elapsed / self.done * (self.total - self.done))
        width = 30
        filled = int(width * self.done / self.total)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  elapsed {_clock(elapsed)}  ETA {eta}"
        if self.tty:
            self.stream.write("\r" + line + (f"  {label}"[:40]).ljust(40))
            if self.done == self.total:
                self.stream.write("\n")
        elif label:
            self.stream.write(f"{line}  {label}\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run(tasks: list[dict], settings: worker.Settings, work: Path, jobs: int,
        on_result: Callable[[dict, dict], None], progress: Progress) -> None:
    """Grade ``tasks`` on ``jobs`` processes, calling ``on_result(task, result)`` here, one at a time.

    A worker process that dies (it should not: kernels run in their own processes)
    breaks the pool; the submissions then in flight are tried again in a new pool,
    and a submission that breaks it twice is reported as ``error``.
    """
    pending = {task["key"]: task for task in tasks}
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
                    progress.advance(result.get("status", ""))
        for key in list(pending):  # only left when the pool broke
            crashes[key] = crashes.get(key, 0) + 1
            if crashes[key] >= 2:
                on_result(pending.pop(key), {"key": key, "status": "error",
                                             "message": "the grading process crashed twice while grading this submission"})
                progress.advance("error")


class Zygote:
    """The kernel zygote (:mod:`.zygote`) for one run; ``path`` is "" when it could not start."""

    def __init__(self, notebooks: list[Path], environ: dict):
        import subprocess
        import tempfile

        from .zygote import preload_list

        self.folder = tempfile.mkdtemp(prefix="platformlab-z-")  # short: Unix socket paths are limited to ~100 bytes
        self.path = ""
        try:
            modules = preload_list(notebooks)
            self.process = subprocess.Popen([sys.executable, "-m", "platformlab_instructor.grading.zygote",
                                             os.path.join(self.folder, "s"), *modules], env=environ,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if self.process.stdout.readline().strip() == "ready":
                self.path = os.path.join(self.folder, "s")
        except OSError:
            self.process = None

    def close(self) -> None:
        import shutil

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
