"""Start JupyterLab on the student lessons.

It serves ``lessons/`` as a student sees them, so nbgrader's instructor server extensions
(formgrader, the assignment and course lists) are off: their course is ``grades/course``
(see ``nbgrader_config.py``), outside what this server shows; grade written answers with
``cd grades/course && nbgrader formgrader``. The Validate button stays.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .lessons import find, root

#: nbgrader's server extensions for instructors, off on a server of the student lessons.
INSTRUCTOR_EXTENSIONS = ("formgrader", "assignment_list", "course_list")


def command(port: int | None = None, open_browser: bool = True, extra: list[str] | None = None) -> list[str]:
    """The ``jupyter lab`` command line that serves ``lessons/``, opening the first lesson."""
    args = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root() / 'lessons'}"]
    args += [f"--ServerApp.jpserver_extensions=nbgrader.server_extensions.{name}=False" for name in INSTRUCTOR_EXTENSIONS]
    first = find(root() / "lessons")
    if first:
        args.append(f"--LabApp.default_url=/lab/tree/{first[0].filename}")
    if port is not None:
        args.append(f"--port={port}")
    if not open_browser:
        args.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and CI run as root; Jupyter refuses without this
    return args + list(extra or [])


def run(port: int | None = None, open_browser: bool = True, extra: list[str] | None = None) -> int:
    """Run JupyterLab in the foreground until it is stopped; return its exit code."""
    return subprocess.call(command(port, open_browser, extra))
