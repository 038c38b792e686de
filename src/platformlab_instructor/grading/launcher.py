"""The kernel command of a grading kernel: bound it, then become it (stdlib only: it must start fast).

How one grading kernel starts (one module per process)::

    worker process (worker.py, nbgrader's Autograde with kernels.BoundedExecute)
      │  starts its own zygote (zygote.py): a process that has imported the lessons'
      │  libraries, inside the worker's box (isolation.py) when boxes are on
      └─ kernels.BoundedKernelManager puts this module in front of the kernel command:
         python -m platformlab_instructor.grading.launcher --memory MB --zygote NAME
                [--box FOLDER --readable PATHS] --fallback-log FILE --parent PID -- KERNEL-ARGV
           │  first of all, this process is set to be killed when the worker ends (end_with)
           ├─ zygote given and reachable: ask it for a kernel (request_kernel); the zygote
           │  forks a child, bound() and ipykernel, in the kernel's folder of the box; this
           │  process stands in for the child towards jupyter_client (stand_in): it
           │  forwards signals and exits when the child does
           └─ otherwise (no zygote, another Python, it failed): bound() this process and
              exec the ordinary kernel command, in a box of its own when boxes are on.
              Each such fallback is logged (--fallback-log), and the run reports the count.

The zygote listens on an abstract Unix socket of the grader's network namespace: a kernel
in a box has a network namespace of its own and cannot reach it.

Why not a jupyter_client ``KernelProvisioner``: provisioners are found through entry
points and kernel specs, and the stand-in would still be needed because the forked kernel
is the zygote's child, not the kernel manager's; the wrapper keeps nbgrader's own
``Execute`` unchanged and is one small process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys

#: How long a request to the zygote may take before the kernel starts afresh instead.
ZYGOTE_TIMEOUT = 30
#: The largest file a kernel may write (RLIMIT_FSIZE), MiB.
FILE_LIMIT = 256


def bound(memory: int) -> None:
    """Make this process a grading kernel's: address space capped at ``memory`` MiB (0: no
    cap), files capped at :data:`FILE_LIMIT` MiB, and its own standard streams on /dev/null.

    Both ways of starting a kernel (``exec`` here, a fork in :mod:`.zygote`) go through it.
    The kernel's own log ("running over TCP without encryption") would otherwise land in
    the middle of the progress bar; what cells print travels over Jupyter's messages.
    """
    import resource

    if memory > 0:
        limit = memory * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT << 20, FILE_LIMIT << 20))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def receive(connection) -> str:
    """One newline-terminated message from a Unix socket."""
    data = b""
    while not data.endswith(b"\n"):
        block = connection.recv(65536)
        if not block:
            break
        data += block
    return data.decode()


def address(name: str) -> str:
    """The abstract Unix socket address of zygote ``name`` (no file: only its network namespace sees it)."""
    return "\0" + name


def request_kernel(name: str, argv: list[str]) -> socket.socket:
    """Ask zygote ``name`` for a kernel; return the connection, which stays open as long as the
    kernel lives (the kernel may be in a box, whose pids mean nothing here)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.settimeout(ZYGOTE_TIMEOUT)
        client.connect(address(name))
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
        client.sendall(json.dumps(request).encode() + b"\n")
        json.loads(receive(client))["pid"]
    except BaseException:
        client.close()
        raise
    return client


def stand_in(kernel: socket.socket) -> None:
    """Be the kernel process for jupyter_client: pass the signals it sends (interrupts,
    shutdown) down the connection to the kernel; exit when the kernel closes it.

    If this process's parent (the grading worker) dies, the connection closes, and the
    kernel, which watches it, ends too.
    """
    import select

    def forward(signum, frame):
        try:
            kernel.sendall(f"{signum}\n".encode())
        except OSError:
            os._exit(0)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)
    parent = os.getppid()
    while os.getppid() == parent:
        if select.select([kernel], [], [], 0.5)[0]:
            try:
                if not kernel.recv(64):
                    break  # the kernel is gone
            except OSError:
                break
    os._exit(0)


def end_with(parent: int) -> None:
    """Be killed when the grading process ``parent`` ends, even after ``exec`` (into bwrap, or the kernel);
    exit at once if it has already ended.

    bwrap's ``--die-with-parent`` asks for the same signal, but only once bwrap runs: a worker killed
    between starting this process and that moment left its box, kernel included, running for ever,
    the child of init. (The signal stays across ``exec`` of a program that is not set-user-ID.)
    """
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:
        os._exit(1)


def note_fallback(path: str, why: str) -> None:
    """Add a line to the run's fallback log (``path``): a kernel started afresh, and why."""
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"kernel started afresh ({why})\n")
    except OSError:
        pass  # the run's folder is gone: the run is ending


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platformlab_instructor.grading.launcher")
    parser.add_argument("--memory", type=int, default=0, help="address-space limit in MiB (0: none)")
    parser.add_argument("--zygote", default="", help="name of a zygote to fork the kernel from (see zygote.py)")
    parser.add_argument("--box", default="", help="run the kernel in a box (isolation.py) whose folder is this")
    parser.add_argument("--readable", default="", help="what the box may read, separated by os.pathsep")
    parser.add_argument("--fallback-log", default="", help="file to note a kernel that starts afresh in")
    parser.add_argument("--parent", type=int, default=0, help="pid of the grading process: end with it (0: no check)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command after --")
    if args.parent:
        end_with(args.parent)
    if args.zygote:
        if command[1:3] == ["-m", "ipykernel_launcher"]:
            try:
                stand_in(request_kernel(args.zygote, command[3:]))  # never returns
            except (OSError, ValueError, KeyError) as error:
                why = f"{type(error).__name__}: {error}"
        else:
            why = f"not an ipykernel command: {command[:3]}"
        note_fallback(args.fallback_log, why)
    if args.box:
        from .isolation import command as box

        command = box(args.box, args.readable.split(os.pathsep), dict(os.environ)) + command
    bound(args.memory)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
