"""A progress bar for a grading run: one redrawn line with an ETA on a terminal, one line per
submission when stderr is a file or a pipe (CI logs, ``| tee``)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Counts finished submissions out of ``total`` and shows it on ``stream`` (stderr)."""

    def __init__(self, total: int, stream=None, enabled: bool = True, clock=time.monotonic):
        self.total, self.done, self.clock = total, 0, clock
        self.start = clock()
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
        elapsed = self.clock() - self.start
        eta = "--:--" if not self.done else clock_text(elapsed / self.done * (self.total - self.done))
        width = 30
        filled = int(width * self.done / self.total)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  elapsed {clock_text(elapsed)}  ETA {eta}"
        if self.tty:
            self.stream.write("\r" + line + (f"  {label}"[:40]).ljust(40))
            if self.done == self.total:
                self.stream.write("\n")
        elif label:
            self.stream.write(f"{line}  {label}\n")
        self.stream.flush()


def clock_text(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` from then on."""
    seconds = int(round(seconds))
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    )
