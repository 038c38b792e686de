"""The kernel command of a grading kernel: bound it, then become it (stdlib only: it must start fast).

How one grading kernel starts (one module per process)::

    worker process (worker.py, nbgrader's Autograde with kernels.BoundedExecute)
      └─ kernels.BoundedKernelManager puts this module in front of the kernel command:
         python -m platformlab_instructor.grading.launcher --memory MB --zygote SOCKET -- KERNEL-ARGV
           ├─ zygote given and reachable: ask it for a kernel (request_kernel); the zygote
           │  (zygote.py, a process that has imported the lessons' libraries) forks a child,
           │  bound() and ipykernel; this process stands in for the child towards
           │  jupyter_client (stand_in): it forwards signals and exits when the child does
           └─ otherwise (no zygote, another Python, it failed): bound() this process and
              exec the ordinary kernel command. Each such fallback is logged to the
              zygote's folder, and the run reports how many kernels started afresh.

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
import time

#: How long a request to the zygote may take before the kernel starts afresh instead.
ZYGOTE_TIMEOUT = 30


def bound(memory: int) -> None:
    """Make this process a grading kernel's: address space capped at ``memory`` MiB (0: no
    cap), and its own standard streams on /dev/null.

    Both ways of starting a kernel (``exec`` here, a fork in :mod:`.zygote`) go through it.
    The kernel's own log ("running over TCP without encryption") would otherwise land in
    the middle of the progress bar; what cells print travels over Jupyter's messages.
    """
    if memory > 0:
        import resource

        limit = memory * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
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


def request_kernel(path: str, argv: list[str], memory: int) -> int:
    """Ask the zygote at ``path`` for a kernel; return the child's pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(ZYGOTE_TIMEOUT)
        client.connect(path)
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "memory": memory, "watch": os.getpid()}
        client.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(receive(client))["pid"]


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
    if not wait_for_exit(pid, give_up=lambda: os.getppid() != parent):
        try:  # the grader died (even kill -9): take the kernel with us
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(0)


def wait_for_exit(pid: int, give_up=lambda: False) -> bool:
    """Block until process ``pid`` ends (True) or ``give_up()`` says to stop waiting (False)."""
    import select

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


def fallback_log(zygote: str) -> str:
    """The file, beside the zygote's socket, where kernels that started afresh say why."""
    return os.path.join(os.path.dirname(zygote), "fallbacks.log")


def note_fallback(zygote: str, why: str) -> None:
    """Say in the zygote's folder that a kernel started afresh, and why (the run counts and logs these)."""
    try:
        with open(fallback_log(zygote), "a", encoding="utf-8") as log:
            log.write(f"kernel started afresh ({why})\n")
    except OSError:
        pass  # the zygote's folder is gone: the run is ending


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platformlab_instructor.grading.launcher")
    parser.add_argument("--memory", type=int, default=0, help="address-space limit in MiB (0: none)")
    parser.add_argument("--zygote", default="", help="socket of a zygote to fork the kernel from (see zygote.py)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command after --")
    if args.zygote:
        if command[1:3] == ["-m", "ipykernel_launcher"]:
            try:
                stand_in(request_kernel(args.zygote, command[3:], args.memory))  # never returns
            except (OSError, ValueError, KeyError) as error:
                why = f"{type(error).__name__}: {error}"
        else:
            why = f"not an ipykernel command: {command[:3]}"
        note_fallback(args.zygote, why)
    bound(args.memory)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
