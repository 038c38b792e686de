"""Equivalent mutants: mutants that cannot change any result, recorded and reviewed like code.

Each lesson may have ``NN-slug.equivalent.yaml`` next to its answer fixtures
(``tests/answers/`` by default): a list of entries, each naming the exercise (the test
cell's ``grade_id``), the operator, the text of the changed lines before and after
(as the report prints them under ``original`` and ``mutated``; compared with
whitespace normalised) and a one-line ``why``::

    - exercise: test_hhi
      operator: statistic
      original: return float(np.sum(np.square(np.asarray(shares_pct, dtype=float))))
      mutated: return float(np.mean(np.square(np.asarray(shares_pct, dtype=float))))
      why: cannot happen -- this is an example of the format only

No line numbers: an entry survives edits elsewhere in the notebook. An entry excuses
every mutant of its exercise with that operator and text, and only a mutant that
survives the tests: an entry that matches no mutant, or only killed ones, is *stale*
and must be removed. Nothing else can exclude a mutant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .mutant import key

FIELDS = ("exercise", "operator", "original", "mutated", "why")


class FormatError(ValueError):
    """An equivalent-mutant file that does not follow the format; the message names file and entry."""


@dataclass(frozen=True)
class Equivalent:
    """One recorded equivalent mutant; ``where`` is ``file#entry-number`` for messages."""

    exercise: str
    operator: str
    original: str
    mutated: str
    why: str
    where: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return key(self.exercise, self.operator, self.original, self.mutated)


def path(folder: Path, stem: str) -> Path:
    return folder / f"{stem}.equivalent.yaml"


def read(folder: Path, stem: str) -> list[Equivalent]:
    """The lesson's recorded equivalent mutants; none if it has no file."""
    file = path(folder, stem)
    if not file.exists():
        return []
    entries = yaml.safe_load(file.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise FormatError(f"{file}: expected a list of entries")
    found = []
    for number, entry in enumerate(entries, start=1):
        where = f"{file.name}#{number}"
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            have = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise FormatError(f"{where}: needs exactly the fields {', '.join(FIELDS)}; has {have}")
        if not all(isinstance(entry[name], str) and entry[name].strip() for name in FIELDS):
            raise FormatError(f"{where}: every field must be non-empty text")
        found.append(Equivalent(*(entry[name] for name in FIELDS), where=where))
    return found
