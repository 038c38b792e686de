"""Benchmark grading on a two-worker Dask LocalCluster against the local process pool (run by hand, not a test).

Builds the benchmark class of N submissions (benchmarks/grade_benchmark.py's builder), then in the
same run grades it with ``platformlab grade --jobs 2`` (the local pool) and with ``platformlab grade
--scheduler ADDRESS`` on a LocalCluster of two one-thread worker processes on 127.0.0.1, started
beforehand (as an existing cluster would be; its start time is printed apart). Checks both give
every student the same score in every graded cell, and prints both times and their ratio (the
target: the cluster path costs at most 15% more).

    .venv/bin/python benchmarks/dask_benchmark.py --n 80
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grade_benchmark import build_class, cr  # noqa: E402  (and tests/ on sys.path)

from platformlab_instructor.course import tool_environment  # noqa: E402


def grade(work: Path, submissions, timeout: int, *where: str) -> tuple[float, dict]:
    """Wall time of one `platformlab grade` of the class, and its score per student, lesson and graded cell."""
    work.mkdir()
    archive = cr.write_zip(
        work / "class.zip", [(cr.canvas_name(s, 1000 + i, stem), data) for i, (s, stem, data) in enumerate(submissions)]
    )
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "platformlab_instructor",
            "grade",
            str(archive),
            "--out",
            str(work / "grades"),
            "--timeout",
            str(timeout),
            *where,
        ],
        env=tool_environment(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - start
    cells = {
        (r["student_id"], r["lesson"], r["grade_id"]): float(r["score"] or 0)
        for r in cr.read_csv(work / "grades" / "items.csv")
        if r["kind"] == "auto"
    }
    statuses = Counter(row["status"] for row in cr.read_csv(work / "grades" / "grades.csv"))
    print("  statuses: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    return elapsed, cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80, help="submissions in the class (default 80)")
    parser.add_argument("--timeout", type=int, default=60, help="per-cell timeout")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    submissions = build_class(args.n)
    work = Path(tempfile.mkdtemp(prefix="dask-benchmark-"))
    try:
        print(
            f"class: {len(submissions)} submissions of {len({s[1] for s in submissions})} lessons; "
            f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        pool, pool_cells = grade(work / "pool", submissions, args.timeout, "--jobs", "2")
        print(f"local pool (--jobs 2):             {pool:7.1f} s", flush=True)
        start = time.monotonic()
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster,
            Client(cluster),
        ):
            started = time.monotonic() - start
            print(f"LocalCluster of 2 workers started in {started:.1f} s (not in the time below)", flush=True)
            dask, dask_cells = grade(work / "dask", submissions, args.timeout, "--scheduler", cluster.scheduler_address)
        print(f"Dask cluster (--scheduler):        {dask:7.1f} s", flush=True)
        same = pool_cells == dask_cells
        print(f"same scores in every graded cell: {'yes' if same else 'NO'} ({len(pool_cells)} cells compared)")
        print(
            f"ratio cluster / pool: {dask / pool:.3f} ({(dask / pool - 1) * 100:+.1f}%; target at most +15%); "
            f"with the cluster's start: {(dask + started) / pool:.3f}; load average now {os.getloadavg()[0]:.1f}"
        )
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
