"""Start kernels by forking one process that has already imported the heavy libraries.

Why: starting a kernel and importing numpy, pandas and matplotlib costs more CPU
than running most lesson notebooks. The zygote imports them once; each kernel is
then a ``fork`` of it, a fresh copy that has run no student code, so submissions
still never share a kernel.

How: :class:`Zygote` (one per grading worker process) makes a listening socket with an
abstract name in the worker's network namespace and starts
``python -m platformlab_instructor.grading.zygote FD LIFELINE MEMORY MODULE...`` with it, in the
worker's box when boxes are on (:mod:`.isolation`). The zygote imports the modules and
accepts on the socket. The kernel command (:mod:`.launcher`) connects, sends the
kernel's arguments, working folder and environment, and gets back the pid of a forked
child that runs ipykernel exactly as ``python -m ipykernel_launcher`` would, under the
zygote's own memory cap. The child exits when the launcher process (its stand-in towards
jupyter_client) dies, and the zygote exits with its worker: its lifeline, a pipe only the
worker writes to, reads end of file (:func:`command`).

In a box, kernels cannot reach the socket (their network namespace is the box's), a
forked kernel does not keep the listening socket, and before each new kernel the zygote
kills every other process left in the box, so nothing a submission started can touch the
next one. A client that sends nothing is dropped after :data:`CLIENT_TIMEOUT` seconds.

Only modules that do not need a running IPython shell at import time are preloaded
(:data:`SAFE`): matplotlib's inline backend and ipywidgets hook into the shell when
imported, so they are imported by the kernel as usual (seaborn imports ipywidgets without a shell: its
comm targets, which only a front end's requests use, are then not registered). The course's
own runtime (:data:`SAFE_PACKAGES`) is preloaded too. NumPy's global random state
is re-seeded in each child, as a fresh interpreter would. What ipykernel itself imports while a
kernel starts (:data:`KERNEL_MODULES`: its debugger, debugpy, above all) is preloaded as well.
Before serving, the zygote draws one figure off pyplot (fonts, renderer) and freezes its heap
(``gc.freeze``), so that kernels neither copy nor walk it; numerical thread pools are one thread
(the worker sets the variables).
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from . import isolation
from .launcher import address, bound, receive

log = logging.getLogger(__name__)

#: Seconds a client of the zygote has to send its request.
CLIENT_TIMEOUT = 5

#: Importable without an IPython shell, and without changing what a kernel does later.
SAFE = ("numpy", "pandas", "scipy", "matplotlib", "matplotlib.pyplot", "seaborn", "yaml", "statsmodels", "sklearn")
#: Packages whose every module is safe so: the course's student runtime (importing it has no side
#: effects; its widgets import ipywidgets only when called).
SAFE_PACKAGES = ("platformlab",)
#: What every kernel imports while it starts, after ``ipykernel.kernelapp``: the kernel class, its
#: debugger (debugpy, most of a kernel's start-up), IPython's shell extras. Importing them creates no
#: shell, thread or socket; a kernel then only finds them in ``sys.modules``.
KERNEL_MODULES = (
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "sqlite3",
    "tornado.platform.asyncio",
)


class Zygote:
    """The kernel zygote of one worker; ``name`` (its socket's) is "" when it could not start.

    ``box``: the folder of the worker's box (kernels' folders go inside it), or "" for none;
    ``readable``: what the box may read (:func:`.isolation.readable`).
    """

    def __init__(self, notebooks: list[Path], environ: dict, memory: int, box: str = "", readable: list[str] = ()):
        self.name, self.process = "", None
        modules = preload_list(notebooks)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        name = f"platformlab-zygote-{os.getpid()}-{os.urandom(8).hex()}"
        self.errors = tempfile.TemporaryFile("w+")
        lifeline, self._lifeline = os.pipe()  # only this process holds the write end (not inherited)
        try:
            server.bind(address(name))
            server.listen(16)
            self.process = subprocess.Popen(
                command(server.fileno(), lifeline, memory, modules, environ, box, readable),
                env=environ,
                pass_fds=[server.fileno(), lifeline],
                stdout=subprocess.PIPE,
                stderr=self.errors,
                text=True,
            )
            if self.process.stdout.readline().strip() == "ready":
                self.name = name
                log.info("kernel zygote ready%s, with %s preloaded", " in a box" if box else "", ", ".join(modules) or "nothing")
        except OSError as error:
            log.warning("the kernel zygote could not start (%s): every kernel starts afresh", error)
        finally:
            server.close()  # the zygote has its own copies
            os.close(lifeline)
        if not self.name and self.process is not None:
            self.errors.seek(0)
            log.warning("the kernel zygote did not start: every kernel starts afresh. Its log:\n%s", self.errors.read()[-2000:])

    def close(self) -> None:
        os.close(self._lifeline)  # the zygote's cue to exit
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        self.errors.close()


def command(server: int, lifeline: int, memory: int, modules: list[str], environ: dict, box: str = "", readable=()) -> list[str]:
    """The command that starts a zygote on the listening socket ``server``, in the box ``box`` if given.
    It exits once ``lifeline``, the read end of a pipe whose write end only its worker holds, reads end of
    file: when the worker is gone, however it ended, even before bwrap could ask to die with it."""
    prefix = isolation.command(box, [*readable, *isolation.launch_code()], environ) if box else []
    mode = "box" if box else "open"
    return [*prefix, sys.executable, "-m", __name__, str(server), str(lifeline), str(memory), mode, *modules]


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
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                    if isinstance(node, ast.ImportFrom) and node.module and not node.level
                    else []
                )
                for name in names:
                    parts = name.split(".")
                    wanted.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    runtime = sorted(name for name in wanted if name.split(".")[0] in SAFE_PACKAGES)  # ("from a import b": b may be a module)
    return [module for module in SAFE if module in wanted] + runtime


def serve(descriptor: int, lifeline: int, memory: int, boxed: bool, modules: list[str]) -> None:
    """Import ``modules``, then fork a kernel for each request on the listening socket ``descriptor``,
    until ``lifeline`` reads end of file (:func:`command`)."""
    # Same start as ipykernel_launcher: the current folder is not on sys.path while importing.
    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    import importlib

    import ipykernel.kernelapp  # noqa: F401  (the import that costs most)

    for module in KERNEL_MODULES:
        try:
            importlib.import_module(module)
        except Exception as error:  # (debugpy is optional to ipykernel) the kernel imports it itself, or goes without
            print(f"could not preload {module}: {error}", file=sys.stderr)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:  # "from a import b" where b is not a module; or a missing library
            if not module.startswith(SAFE_PACKAGES):
                print(f"could not preload {module}: {error}", file=sys.stderr)
        except Exception as error:  # a module that fails here is simply imported by the kernel itself
            print(f"could not preload {module}: {error}", file=sys.stderr)
    if "matplotlib" in sys.modules:
        _warm_matplotlib()
    import gc

    gc.collect()
    gc.freeze()  # what is imported stays shared with the kernels: the collector neither walks nor copies it
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    if boxed:  # kernels (same user in the box) may not read this process's memory, nor each other's
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4; inherited by forked kernels
    server = socket.socket(fileno=descriptor)
    server.setblocking(False)  # a client that gave up between select and accept must not block the zygote
    print("ready", flush=True)
    while True:
        if lifeline in select.select([server, lifeline], [], [])[0]:
            os._exit(0)  # end of file: the worker is gone (even kill -9), so is the zygote
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            continue
        with connection:
            connection.settimeout(CLIENT_TIMEOUT)
            try:
                request = json.loads(receive(connection))
                argv, cwd, env = request["argv"], request["cwd"], request["env"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a client that sends nothing, or nonsense, gets nothing
            if boxed:
                env = {
                    **{k: v for k, v in env.items() if k in isolation.PASSED},
                    "HOME": cwd,
                    "TMPDIR": "/tmp",
                    "PATH": os.environ.get("PATH", ""),
                }
                _kill_strays()
            pid = os.fork()
            if pid == 0:
                server.close()
                os.close(lifeline)
                _become_kernel(argv, cwd, env, connection, memory)  # never returns
            try:
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            except OSError:
                os.kill(pid, signal.SIGKILL)


def _warm_matplotlib() -> None:
    """Draw and drop one figure, off pyplot: loads the fonts and the Agg renderer that a kernel's
    first plot would otherwise load. No pyplot state, backend or rcParams is touched."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure()
        axes = figure.add_subplot()
        axes.plot([0, 1], [0, 1], label="x")
        axes.set_title("warm")
        axes.legend()
        FigureCanvasAgg(figure).draw()
    except Exception as error:
        print(f"could not warm matplotlib: {error}", file=sys.stderr)


def _kill_strays() -> None:
    """Kill every process left in this box but the box's init and this zygote: what earlier
    kernels started (daemons included) must not live on into the next submission."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, os.getpid()):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _become_kernel(argv: list[str], cwd: str, env: dict, launcher: socket.socket, memory: int) -> None:
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        bound(memory)
        _obey(launcher)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    finally:
        os._exit(0)


def _obey(launcher: socket.socket) -> None:
    """Take the signals the launcher passes down the connection (a signal number a line),
    and end this kernel as soon as the launcher, its stand-in towards jupyter_client, is gone."""
    import threading

    def listen():
        buffer = b""
        while True:
            try:
                block = launcher.recv(64)
            except OSError:
                block = b""
            if not block:
                os._exit(1)
            buffer += block
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip().isdigit():
                    os.kill(os.getpid(), int(line))

    launcher.settimeout(None)
    threading.Thread(target=listen, daemon=True).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "box", sys.argv[5:])
