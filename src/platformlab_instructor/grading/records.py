"""The records that cross the grading modules, and the one place each file of them is read and written.

- :class:`Submission`: one chosen notebook (a student's latest of a lesson), from intake;
- :class:`Skipped`: an input file that did not become a submission, and why;
- :class:`Task` goes to a worker process; :class:`Result` comes back;
- :class:`Record`: one finished submission in the journal (``journal.jsonl``), the commit point
  of a run (see :class:`Journal`); the intake is kept in ``manifest.json`` (:class:`Manifest`).

A record keeps the worker's traceback (``detail``) so that an ``error`` can be debugged
from the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..course import CellGrade


def _from_dict(cls, data: dict):
    """``cls(**data)`` keeping only the fields ``cls`` has (files written by older versions may have more)."""
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


@dataclass
class Submission:
    """A notebook that will be graded: the latest of its student and lesson."""

    student: str
    lesson: str
    source_file: str  # the name in the zip or folder, as the instructor sees it
    path: str  # the unpacked file
    time: float | None = None
    late: bool = False
    name: str = ""  # the student's name, where the LMS gave it
    canvas_id: str = ""
    login: str = ""
    invalid: bool = False  # not a readable notebook; the lesson was told from the file name
    message: str = ""
    key: str = ""  # student--lesson--sha256 prefix: what the journal knows a submission by

    def keyed(self) -> Submission:
        self.key = f"{self.student}--{self.lesson}--{sha256(Path(self.path))[:16]}"
        return self


@dataclass
class Skipped:
    """An input file that did not become a submission."""

    source_file: str
    student_id: str
    lesson: str
    reason: str


@dataclass(frozen=True)
class Task:
    """What a worker needs to grade one submission."""

    key: str
    lesson: str
    path: str
    staging: str  # where the worker leaves the notebooks and feedback page for the main process

    @property
    def started(self) -> Path:
        """The file a worker keeps in the staging folder while it grades this task (see :mod:`.pool`)."""
        return Path(self.staging) / ".started"


@dataclass
class Result:
    """What a worker hands back for one task."""

    key: str
    status: str
    message: str = ""
    notes: list[str] = field(default_factory=list)  # what intake restored (deleted or edited tests)
    cells: list[CellGrade] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None
    detail: str = ""  # the traceback or nbgrader log of an error
    flags: list[str] = field(default_factory=list)  # what the grader's check of the kernel found, for review by hand
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of grading it (worker.PHASES)


@dataclass
class Record:
    """One finished submission, as the journal keeps it."""

    key: str
    student: str
    lesson: str
    status: str
    message: str = ""
    notes: list[str] = field(default_factory=list)
    source_file: str = ""
    seconds: float | None = None
    detail: str = ""
    flags: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # as in Result (empty in journals of older versions)


class Journal:
    """Append-only record of finished submissions, one JSON line each, flushed and fsynced.

    A line cut short by a crash is ignored (that submission is graded again).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict[str, Record]:
        records = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = _from_dict(Record, json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
                records[record.key] = record
        return records

    def finished(self) -> dict[str, Record]:
        """The records that count as done: an ``error`` (grading broke) is tried again on the next run."""
        return {key: record for key, record in self.load().items() if record.status != "error"}

    def append(self, record: Record) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class Manifest:
    """The last intake: the submissions chosen and the files skipped (``manifest.json``)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, submissions: list[Submission], skipped: list[Skipped]) -> None:
        temporary = self.path.with_suffix(".tmp")
        state = {"rows": [asdict(s) for s in submissions], "skipped": [asdict(s) for s in skipped]}
        temporary.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def read(self) -> tuple[list[Submission], list[Skipped]]:
        state = json.loads(self.path.read_text(encoding="utf-8"))
        return ([_from_dict(Submission, row) for row in state["rows"]], [_from_dict(Skipped, row) for row in state["skipped"]])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
