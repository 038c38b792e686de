"""Logging to stderr, the same in the command's process and in its grading workers.

``-v`` shows our own modules' story (fallbacks, phases, boxes); ``-vv`` also the
libraries' (nbgrader, traitlets, the kernels). Without either, our warnings and the
libraries' errors only: nbgrader warns about every cell a student changed, which the
grader already restores and notes in grades.csv.
"""

from __future__ import annotations

import logging
import sys


def to_stderr(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if verbose < 2:
        ours = logging.DEBUG if verbose else logging.WARNING
        handler.addFilter(lambda record: record.levelno >= (ours if record.name.startswith("platformlab") else logging.ERROR))
    logging.basicConfig(handlers=[handler], level=logging.DEBUG if verbose else logging.WARNING, force=True)
    logging.getLogger("platformlab_instructor").verbose = verbose  # read by workers, which log the same way


def verbosity() -> int:
    """The ``verbose`` level this process logs at (0 when logging was never set up here)."""
    return getattr(logging.getLogger("platformlab_instructor"), "verbose", 0)
