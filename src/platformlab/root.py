"""Find the course folder: the one that holds ``data/datapackage.json``.

Looked for, in this order, so that it works from a checkout, a student copy on
Binder, a JupyterHub home and a grading kernel's scratch folder alike:

1. the ``PLATFORMLAB_ROOT`` environment variable (the grader and ``--root`` set it);
2. the working directory and its parents (a notebook in ``lessons/`` finds ``..``);
3. the checkout this package is installed from (an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable that names the course folder.
ENV = "PLATFORMLAB_ROOT"
MARKER = Path("data") / "datapackage.json"


class CourseNotFound(LookupError):
    """No course folder was found; the message says where we looked and how to say where it is."""


def course_root(marker: Path | str = MARKER) -> Path:
    """The course folder: the first candidate (see the module docstring) that holds ``marker``."""
    named = os.environ.get(ENV)
    if named:
        if (Path(named) / marker).exists():
            return Path(named).resolve()
        raise CourseNotFound(f"{ENV}={named} is not a course folder: it has no {marker}")
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents, Path(__file__).resolve().parents[2]):
        if (candidate / marker).exists():
            return candidate
    raise CourseNotFound(
        f"no course folder here: neither {here} nor its parents hold {marker}; "
        f"run from inside the course folder or set {ENV} (platformlab --root DIR)"
    )
