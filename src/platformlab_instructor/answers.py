"""The answer fixtures of a lesson, kept in ``tests/answers/`` of the course folder:

- ``NN-slug.wrong.yaml``: plausible wrong answers; test cell ``fails`` must score 0;
- ``NN-slug.correct.yaml``: other correct methods; test cell ``passes`` must give full marks;
- ``NN-slug.equivalent.yaml``: mutants that cannot change a result (read by :mod:`.mutants`).

Each wrong or correct entry replaces the source of solution cell ``cell`` with ``source``
and says ``why``. They are instructor material: never published (:mod:`.publish` scans for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from . import lessons

KINDS = {"wrong": "fails", "correct": "passes"}


@dataclass(frozen=True)
class Answer:
    """A replacement answer: ``source`` replaces solution cell ``cell``; test cell ``test``
    must score 0 (``kind == "wrong"``) or full marks (``kind == "correct"``)."""

    lesson: str
    kind: str
    number: int
    cell: str
    test: str
    why: str
    source: str

    @property
    def student(self) -> str:
        """A student id for the submission made of this answer."""
        return f"{self.kind}-{self.number:02d}-{self.cell}"

    @property
    def fails(self) -> str:  # the wrong answers' word for their test cell
        return self.test


def folder(root: Path | None = None) -> Path:
    return Path(root or lessons.root()) / "tests" / "answers"


def load(stem: str, kind: str, root: Path | None = None) -> list[Answer]:
    """The ``kind`` ("wrong" or "correct") answers of lesson ``stem``, numbered from 1 (none: an empty list)."""
    path = folder(root) / f"{stem}.{kind}.yaml"
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Answer(stem, kind, number, e["cell"], e[KINDS[kind]], e["why"], e["source"]) for number, e in enumerate(entries, start=1)
    ]


def every_source_line(root: Path | None = None) -> dict[str, str]:
    """Each line of every wrong or correct answer of the course, with the file it comes from."""
    lines = {}
    for path in sorted(folder(root).glob("*.yaml")):
        stem, _, kind = path.stem.rpartition(".")
        for answer in load(stem, kind, root) if kind in KINDS else []:
            for line in answer.source.splitlines():
                lines.setdefault(line.strip(), f"tests/answers/{path.name}")
    return lines
