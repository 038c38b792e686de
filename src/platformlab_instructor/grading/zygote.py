"""Start kernels by forking one process that has already imported the heavy libraries.

Why: starting a kernel and importing numpy, pandas and matplotlib costs more CPU
than running most lesson notebooks. The zygote imports them once; each kernel is
then a ``fork`` of it, a fresh copy that has run no student code, so submissions
still never share a kernel.

How: :class:`Zygote` (in the grading run's main process) starts
``python -m platformlab_instructor.grading.zygote SOCKET MODULE...``, which imports
the modules and listens on a Unix socket. The kernel command (:mod:`.launcher`)
connects, sends the kernel's arguments, working folder, environment and memory
limit, and gets back the pid of a forked child that runs ipykernel exactly as
``python -m ipykernel_launcher`` would. The child exits when the launcher process
(its stand-in towards jupyter_client) dies, and the zygote exits with the run.

Only modules that do not need a running IPython shell at import time are preloaded
(:data:`SAFE`): matplotlib's inline backend and ipywidgets hook into the shell when
imported, so they are imported by the kernel as usual. NumPy's global random state
is re-seeded in each child, as a fresh interpreter would.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .launcher import bound, fallback_log, receive, wait_for_exit

log = logging.getLogger(__name__)

#: Importable without an IPython shell, and without changing what a kernel does later.
SAFE = ("numpy", "pandas", "scipy", "matplotlib", "matplotlib.pyplot", "seaborn", "yaml", "statsmodels", "sklearn")


class Zygote:
    """The kernel zygote of one grading run; ``path`` (its socket) is "" when it could not start."""

    def __init__(self, notebooks: list[Path], environ: dict):
        self.folder = tempfile.mkdtemp(prefix="platformlab-z-")  # short: Unix socket paths are limited to ~100 bytes
        self.path, self.process = "", None
        modules = preload_list(notebooks)
        try:
            with open(os.path.join(self.folder, "zygote.log"), "w") as errors:
                self.process = subprocess.Popen([sys.executable, "-m", __name__, os.path.join(self.folder, "s"), *modules],
                                                env=environ, stdout=subprocess.PIPE, stderr=errors, text=True)
            if self.process.stdout.readline().strip() == "ready":
                self.path = os.path.join(self.folder, "s")
                log.info("kernel zygote ready, with %s preloaded", ", ".join(modules) or "nothing")
        except OSError as error:
            log.warning("the kernel zygote could not start (%s): every kernel starts afresh", error)
        if not self.path and self.process is not None:
            log.warning("the kernel zygote did not start: every kernel starts afresh. Its log:\n%s", self.log_text())

    def log_text(self) -> str:
        path = os.path.join(self.folder, "zygote.log")
        return Path(path).read_text(errors="replace")[-2000:] if os.path.exists(path) else ""

    def fallbacks(self) -> list[str]:
        """Why each kernel of this run that did not come from the zygote started afresh."""
        path = fallback_log(os.path.join(self.folder, "s"))
        return Path(path).read_text().splitlines() if os.path.exists(path) else []

    def close(self) -> None:
        fallbacks = self.fallbacks()
        if fallbacks:
            log.warning("%d kernel(s) started afresh instead of from the zygote; first: %s", len(fallbacks), fallbacks[0])
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def preload_list(notebooks) -> list[str]:
    """The :data:`SAFE` modules (and their parents) that these notebooks import."""
    import ast

    import nbformat

    wanted = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                for name in names:
                    parts = name.split(".")
                    wanted.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return [module for module in SAFE if module in wanted]


def serve(path: str, modules: list[str]) -> None:
    """Import ``modules``, then fork a kernel for each request on the socket at ``path``."""
    # Same start as ipykernel_launcher: the current folder is not on sys.path while importing.
    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    import importlib

    import ipykernel.kernelapp  # noqa: F401  (the import that costs most)

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as error:  # a module that fails here is simply imported by the kernel itself
            print(f"could not preload {module}: {error}", file=sys.stderr)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    server.settimeout(1.0)
    print("ready", flush=True)
    while True:
        if os.getppid() != parent:  # the grader is gone (even kill -9): so is the zygote
            os._exit(0)
        try:
            connection, _ = server.accept()
        except socket.timeout:
            continue
        with connection:
            request = json.loads(receive(connection))
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                _become_kernel(request)  # never returns
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_kernel(request: dict) -> None:
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        bound(request.get("memory") or 0)
        _die_with(request["watch"])
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    finally:
        os._exit(0)


def _die_with(pid: int) -> None:
    """Exit this process as soon as process ``pid`` (the launcher standing in for it) ends."""
    import threading

    def watch():
        wait_for_exit(pid)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
