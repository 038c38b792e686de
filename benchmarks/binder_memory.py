"""Peak memory of a Binder session in which a student runs every lesson.

mybinder.org guarantees each session 1 GB of memory and stops it above 2 GB.
JupyterLab keeps a kernel running for every notebook a student opened, so the
worst case of a class is one session that ran all the lessons: the Jupyter server
plus one kernel per lesson, all alive at once. This benchmark builds that case:

1. starts JupyterLab (``python -m jupyterlab``, the course's extensions loaded) on a
   free local port, and measures it idle;
2. runs each lesson's *solution* (a finished notebook: every figure drawn, every
   widget built) cell by cell in its own kernel, and keeps every kernel alive;
3. samples the resident memory (RSS) of the server and of every kernel's process
   tree every 50 ms, and reports each one's peak and the peak of their sum.

RSS sums count shared libraries once per process, so the total overstates what
the container is charged: it is a safe upper bound. It exits 1 when the total
peak exceeds ``--limit-mb`` (default: the 1 GB mybinder.org guarantees).

Run it in the pinned environment, from the repository's root::

    .venv/bin/python benchmarks/binder_memory.py            # or --json for machine-readable output
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
from jupyter_client.manager import start_new_kernel

from platformlab_instructor import lessons

MB = 1024 * 1024


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and its descendants (0 once it is gone)."""
    total = 0
    try:
        for member in [process, *process.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        return 0
    return total


class Sampler(threading.Thread):
    """Samples the RSS of named processes every ``interval`` seconds; keeps each peak and the peak total."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval, self.watched, self.peaks, self.peak_total = interval, {}, {}, 0
        self.lock, self.stopped = threading.Lock(), threading.Event()

    def watch(self, name: str, pid: int) -> None:
        with self.lock:
            self.watched[name] = psutil.Process(pid)
            self.peaks.setdefault(name, 0)

    def sample(self) -> None:
        with self.lock:
            sizes = {name: tree_rss(process) for name, process in self.watched.items()}
            for name, size in sizes.items():
                self.peaks[name] = max(self.peaks[name], size)
            self.peak_total = max(self.peak_total, sum(sizes.values()))

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    port, token = free_port(), "benchmark"
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5):
                return server, f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit("JupyterLab did not start") from None
            time.sleep(0.5)


def run_lesson(lesson: lessons.Lesson, sampler: Sampler):
    """Run a lesson's solution in a new kernel, cell by cell; return the kernel (still running) and any errors.
    The kernel starts in lessons/, where JupyterLab starts a student's."""
    manager, client = start_new_kernel(
        kernel_name="python3", cwd=str(lessons.root() / "lessons"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    sampler.watch(lesson.stem, manager.provisioner.process.pid)
    errors = []
    notebook = nbformat.read(lesson.solution, as_version=4)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        reply = client.execute_interactive(cell.source, timeout=600, output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            errors.append(f"cell {number}: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    sampler.sample()
    return manager, client, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mb", type=float, default=1024, help="fail above this total peak (default: 1024)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    found = lessons.find()
    sampler = Sampler()
    kernels, errors = [], {}
    server, _ = start_server(lessons.root() / "lessons")
    try:
        time.sleep(2)  # let the server finish loading its extensions before the idle reading
        sampler.watch("jupyter server (peak)", server.pid)
        sampler.sample()
        idle_server = sampler.peaks["jupyter server (peak)"]
        sampler.start()
        started = time.monotonic()
        for lesson in found:
            manager, client, failed = run_lesson(lesson, sampler)
            kernels.append((manager, client))
            if failed:
                errors[lesson.stem] = failed
        seconds = time.monotonic() - started
        sampler.stopped.set()
        sampler.join()
    finally:
        for manager, client in kernels:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        server.terminate()
        server.wait(timeout=30)

    result = {
        "lessons": [lesson.stem for lesson in found],
        "idle_server_mb": round(idle_server / MB, 1),
        "peak_mb": {name: round(size / MB, 1) for name, size in sampler.peaks.items()},
        "peak_total_mb": round(sampler.peak_total / MB, 1),
        "limit_mb": args.limit_mb,
        "seconds": round(seconds, 1),
        "errors": errors,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Peak resident memory, every lesson run in one session ({result['seconds']} s):")
        print(f"  {'jupyter server (idle)':<28}{result['idle_server_mb']:>9.1f} MB")
        for name, size in result["peak_mb"].items():
            print(f"  {name:<28}{size:>9.1f} MB")
        print(f"  {'all at once (peak)':<28}{result['peak_total_mb']:>9.1f} MB   limit {args.limit_mb:.0f} MB")
        for stem, failed in errors.items():
            print(f"  {stem}: {len(failed)} cell(s) failed, e.g. {failed[0]}")
    if errors:
        return 2
    return 0 if result["peak_total_mb"] <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
