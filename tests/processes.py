"""The processes a test started, read from /proc: to check that everything below a process ends with it.

A process is told apart from a later one that reuses its pid by its start time.
"""

from __future__ import annotations

import os
from pathlib import Path


def stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time of process ``pid`` (None when there is no such process)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def descendants(roots: dict[int, int]) -> dict[int, int]:
    """``roots`` (pid -> start time) still running and every process below them, as pid -> start time."""
    table = {int(entry): found for entry in os.listdir("/proc") if entry.isdigit() and (found := stat(int(entry)))}
    below = {pid: start for pid, start in roots.items() if pid in table and table[pid][2] == start}
    grew = True
    while grew:
        more = {pid: entry[2] for pid, entry in table.items() if entry[1] in below and pid not in below}
        below.update(more)
        grew = bool(more)
    return below


def below(pid: int) -> dict[int, int]:
    """Every process below ``pid`` (not ``pid`` itself), as pid -> start time."""
    found = stat(pid)
    return {} if found is None else {p: s for p, s in descendants({pid: found[2]}).items() if p != pid}


def alive(pid: int, start: int) -> bool:
    """Whether that process (the same one: same start time) still runs; a zombie has ended."""
    found = stat(pid)
    return found is not None and found[2] == start and found[0] != "Z"


def describe(pid: int) -> str:
    """The pid and its command line, for a message."""
    try:
        return f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:400]
    except OSError:
        return f"{pid}: (gone)"
