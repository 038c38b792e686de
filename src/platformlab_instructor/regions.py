"""nbgrader's delimited regions in a cell (solution, hidden tests, mark scheme), parsed in one place.

Publishing (what must not leak), feedback (what students must not see) and mutation
analysis (what code is the answer) all ask the same question of a cell's lines:
which region is each line in? :func:`regions` answers it; the delimiter lines
themselves are reported as ``DELIMITER``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: ``### BEGIN SOLUTION``, ``### END HIDDEN TESTS``, ``=== BEGIN MARK SCHEME ===``...
#: (written as a pattern so that this file does not contain a delimiter itself).
MARKER = re.compile(r"(?:#{3}|={3})\s*(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS|MARK\s+SCHEME)")
SOLUTION, HIDDEN_TESTS, MARK_SCHEME, DELIMITER = "SOLUTION", "HIDDEN TESTS", "MARK SCHEME", "delimiter"


def regions(source: str) -> Iterator[tuple[str | None, str]]:
    """``(region, line)`` for each line of ``source``: the region it is in (``None`` outside any),
    or :data:`DELIMITER` for a delimiter line."""
    inside = None
    for line in source.split("\n"):  # not splitlines(): joining the lines again gives the source back
        match = MARKER.search(line)
        if match:
            inside = " ".join(match[2].split()) if match[1] == "BEGIN" else None
            yield DELIMITER, line
        else:
            yield inside, line


def has_delimiters(source: str) -> bool:
    return any(MARKER.search(line) for line in source.splitlines())
