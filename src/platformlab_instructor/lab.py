"""Start JupyterLab on the student lessons."""

from __future__ import annotations

import os
import subprocess
import sys

from .lessons import find, root


def command(port: int | None = None, open_browser: bool = True, extra: list[str] | None = None) -> list[str]:
    """The ``jupyter lab`` command line that serves ``lessons/``, opening the first lesson."""
    args = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root() / 'lessons'}"]
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
