"""The box a grading kernel runs in: Linux namespaces through bubblewrap (stdlib only).

What student code sees inside a box (``bwrap --unshare-all``):

- the file system read-only: the system (``/usr``, ``/etc``), Python and its environment,
  the student runtime (``src/platformlab`` only) and the course's ``data/``; writable: the
  box's own folder (its home and working folder) and a private ``/tmp``. Not the course's
  ``solutions/``, ``tests/`` or instructor tools, not ``--out``, not another box;
- no network (a private network namespace: not even the grader's loopback), no other
  process (a private pid namespace: the grader is not in ``/proc``), a new session;
- a clean environment: :data:`PASSED` variables only, no instructor variables;
- every process it starts dies with the box (the pid namespace ends with it;
  ``--die-with-parent``); its files are capped in size (``RLIMIT_FSIZE``, set by the caller).

The kernel talks to the grader over Unix sockets in the box's folder (jupyter_client's
``ipc`` transport), since a private network namespace has no shared loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

#: Environment variables a box gets from the grader (everything else is dropped).
PASSED = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "MPLBACKEND",
    "PLATFORMLAB_ROOT",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
#: The user id student code runs as inside the box (``nobody``), whoever runs the grader.
UID = 65534


@lru_cache(maxsize=1)
def unavailable() -> str:
    """Why boxes cannot be made on this machine ("" when they can)."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap`"
    probe = subprocess.run(
        ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"], capture_output=True, text=True
    )
    if probe.returncode:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return ""


def readable(course: str) -> list[str]:
    """What a box may read: the system, Python, its environment, the runtime and the data of the course
    folder ``course`` (if it has any)."""
    import importlib.util

    from platformlab.root import MARKER

    runtime = importlib.util.find_spec("platformlab").submodule_search_locations[0]
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, runtime, str(Path(course) / MARKER.parent)]
    return sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})


def launch_code() -> list[str]:
    """The files a zygote needs in its box besides :func:`readable`: the kernel launch code
    only (this package's launcher, isolation and zygote modules, and what importing the package runs),
    no other instructor tool."""
    here = Path(__file__).resolve().parent
    return [
        *(str(here.parent / name) for name in ("__init__.py", "lazy_iri.py")),
        *(str(here / name) for name in ("__init__.py", "launcher.py", "isolation.py", "zygote.py")),
    ]


def command(folder: str, readable_paths: list[str], environ: dict, writable: list[str] = ()) -> list[str]:
    """The ``bwrap`` command line (to be followed by the program) for a box whose home and
    working folder is ``folder``, which may also write to ``writable``."""
    args = [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):  # Debian's merged /usr
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    for path in readable_paths:
        args += ["--ro-bind", path, path]
    for path in (folder, *writable):
        args += ["--bind", path, path]
    args += ["--chdir", folder, "--clearenv"]
    variables = {name: environ[name] for name in PASSED if name in environ}
    variables.update(HOME=folder, TMPDIR="/tmp", PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]))
    for name, value in sorted(variables.items()):
        args += ["--setenv", name, value]
    return args + ["--"]
