"""Start kernels by forking one process that has already imported the heavy libraries.

Why: starting a kernel and importing numpy, pandas and matplotlib costs more CPU
than running most lesson notebooks. The zygote imports them once; each kernel is
then a ``fork`` of it, a fresh copy that has run no student code, so submissions
still never share a kernel.

How: ``python -m platformlab_instructor.grading.zygote SOCKET MODULE...`` imports the modules and
listens on a Unix socket. The kernel command (:mod:`.sandbox`) connects, sends the
kernel's arguments, working folder, environment and memory limit, and gets back the
pid of a forked child that runs ipykernel exactly as ``python -m ipykernel_launcher``
would. The sandbox process stands in for the kernel towards jupyter_client: it
forwards signals (interrupts) and exits when the child exits; the child exits when
the sandbox process dies (so a kill from jupyter_client kills the kernel).

Only modules that do not need a running IPython shell at import time are preloaded
(:data:`SAFE`): matplotlib's inline backend and ipywidgets hook into the shell when
imported, so they are imported by the kernel as usual. NumPy's global random state
is re-seeded in each child, as a fresh interpreter would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

#: Importable without an IPython shell, and without changing what a kernel does later.
SAFE = ("numpy", "pandas", "scipy", "matplotlib", "matplotlib.pyplot", "seaborn", "yaml", "statsmodels", "sklearn")


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
    # Same start as ipykernel_launcher: the current folder is not on sys.path while importing.
    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    import importlib

    import ipykernel.kernelapp  # noqa: F401  (the import that costs most)

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # a module that fails here is simply imported by the kernel itself
            pass
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
            request = json.loads(_receive(connection))
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                _become_kernel(request)  # never returns
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _receive(connection) -> str:
    data = b""
    while not data.endswith(b"\n"):
        block = connection.recv(65536)
        if not block:
            break
        data += block
    return data.decode()


def _become_kernel(request: dict) -> None:
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        from .sandbox import bound

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
    """Exit this process as soon as process ``pid`` (the sandbox stand-in) ends."""
    import threading

    def watch():
        _wait_for_exit(pid)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def connect(path: str, argv: list[str], memory: int) -> int:
    """Ask the zygote at ``path`` for a kernel; return the child's pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(30)
        client.connect(path)
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "memory": memory, "watch": os.getpid()}
        client.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(_receive(client))["pid"]


def stand_in(pid: int) -> None:
    """Be the kernel process for jupyter_client: pass signals to ``pid``; exit when it does.

    If this process's parent (the grading worker) dies, the kernel is killed too.
    """
    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            os._exit(0)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)
    parent = os.getppid()
    if not _wait_for_exit(pid, give_up=lambda: os.getppid() != parent):
        try:  # the grader died (even kill -9): take the kernel with us
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(0)


def _wait_for_exit(pid: int, give_up=lambda: False) -> bool:
    """Block until process ``pid`` ends (True) or ``give_up()`` says to stop waiting (False)."""
    import select
    import time

    try:
        descriptor = os.pidfd_open(pid)
    except (AttributeError, OSError):
        descriptor = None
    while not give_up():
        if descriptor is not None:
            if select.select([descriptor], [], [], 0.5)[0]:
                return True
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
    return False


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
