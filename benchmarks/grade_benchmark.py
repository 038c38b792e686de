"""Benchmark `platformlab grade` against stock, serial `nbgrader autograde` (run by hand, not a test).

Builds a class of N submissions from the lessons on disk (solutions, untouched
student versions, known wrong answers), then in the same run:

1. grades it with ``platformlab grade`` (a Canvas zip, ``--jobs`` workers);
2. grades the same notebooks with stock nbgrader: ``nbgrader generate_assignment``
   and ``nbgrader autograde`` per lesson, in an ordinary course folder;
3. executes the same notebooks with plain nbclient, one after another, no nbgrader;

checks that (1) and (2) give every student the same score in every graded cell,
and prints the wall times, the ratio, the per-submission overhead of each
grader over plain execution, where platformlab's worker time goes (mean seconds per
phase, from the journal), how many kernels started afresh instead of from a zygote,
and what the boxes cost (a second platformlab run with ``--isolation none``; the
guard's cost is its own phase). Plain execution runs twice: with jupyter_client's stock kernel
client, which can miss a reply and sleep out the cell time limit (see
``src/platformlab_instructor/kernelclient.py``), and with the watchful client that platformlab grade
uses, which cannot. Only the second is the cost of executing the notebooks, and the grader's worker
time is compared with it (with the first as well). On a shared machine the difference between two runs is
mostly the machine's: ``--rounds R`` runs boxed and unboxed R times each, in turn
(boxed, unboxed, boxed, ...), and gives the boxes' cost as the median of the R pairs.

    .venv/bin/python benchmarks/grade_benchmark.py --n 40
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from platformlab_instructor.course import tool_environment  # noqa: E402

from grading import classroom as cr  # noqa: E402  (tests/grading/classroom.py)


def build_class(n: int) -> list[tuple[str, str, bytes]]:
    """(student, lesson, notebook bytes): solutions, untouched versions and wrong answers in turn."""
    found = cr.available()
    if not found:
        sys.exit("no lessons in solutions/ and lessons/")
    submissions = []
    for number in range(n):
        lesson = found[number % len(found)]
        kind = (number // len(found)) % 3
        notebook = lesson.solution if kind == 0 else lesson.student if kind == 1 else cr.wrong_answer(lesson)[0]
        submissions.append((f"s{number:03d}", lesson.stem, cr.dumps(notebook)))
    return submissions


def env() -> dict:
    return tool_environment()


def run_platformlab(
    work: Path, submissions, jobs: int, timeout: int, fork: bool = True, isolation: str = "auto", out: str = "grades"
) -> tuple[float, dict]:
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
            str(work / out),
            "--jobs",
            str(jobs),
            "--timeout",
            str(timeout),
            "--isolation",
            isolation,
            *([] if fork else ["--no-fork"]),
        ],
        env=env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if isolation == "none" else None,
    )  # (its warning is expected there)
    elapsed = time.monotonic() - start
    import csv

    with open(work / out / "items.csv", newline="", encoding="utf-8") as handle:
        cells = {
            (r["student_id"], r["lesson"], r["grade_id"]): float(r["score"] or 0)
            for r in csv.DictReader(handle)
            if r["kind"] == "auto"
        }
    with open(work / out / "grades.csv", newline="", encoding="utf-8") as handle:
        statuses = Counter(row["status"] for row in csv.DictReader(handle))
    print("  statuses: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    return elapsed, cells


def phases(out: Path) -> tuple[dict[str, float], float, int]:
    """Mean seconds per phase over the run's submissions, mean seconds per submission, and the
    number of kernels that started afresh (the run's fallbacks.log)."""
    import json

    records = [json.loads(line) for line in (out / ".work" / "journal.jsonl").read_text().splitlines() if line.strip()]
    totals: Counter = Counter()
    for record in records:
        totals.update(record.get("phases") or {})
    n = max(1, len(records))
    log = out / ".work" / "fallbacks.log"
    fallbacks = len(log.read_text().splitlines()) if log.exists() else 0
    return {k: v / n for k, v in totals.most_common()}, sum(r.get("seconds") or 0 for r in records) / n, fallbacks


def print_phases(label: str, out: Path) -> float:
    means, seconds, fallbacks = phases(out)
    print(f"  {label}: {seconds:.2f} s of worker time per submission; kernels started afresh: {fallbacks}")
    print("    " + "; ".join(f"{name} {value:.3f}" for name, value in means.items()))
    return seconds


def run_stock(work: Path, submissions, timeout: int) -> tuple[float, dict]:
    course = work / "stock"
    stems = sorted({stem for _, stem, _ in submissions})
    for stem in stems:
        (course / "source" / stem).mkdir(parents=True)
        shutil.copyfile(ROOT / "solutions" / f"{stem}.ipynb", course / "source" / stem / f"{stem}.ipynb")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.db_assignments = {[{'name': s} for s in stems]!r}\nc.Execute.timeout = {timeout}\n"
    )
    for student, stem, data in submissions:
        target = course / "submitted" / student / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
    # timed like `platformlab grade`, which also starts from the sources: generate, then autograde
    start = time.monotonic()
    for stem in stems:
        subprocess.run(
            ["nbgrader", "generate_assignment", stem, "--force"], cwd=course, env=env(), check=True, capture_output=True
        )
    generated = time.monotonic()
    for stem in stems:
        subprocess.run(["nbgrader", "autograde", stem], cwd=course, env=env(), check=True, capture_output=True)
    elapsed = time.monotonic() - start
    print(f"  (of which generate_assignment {generated - start:.1f} s, autograde {elapsed - (generated - start):.1f} s)")
    query = """select student.id, assignment.name, base_cell.name, grade.auto_score
               from grade join submitted_notebook on grade.notebook_id = submitted_notebook.id
               join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id
               join student on submitted_assignment.student_id = student.id
               join assignment on submitted_assignment.assignment_id = assignment.id
               join base_cell on grade.cell_id = base_cell.id
               join grade_cells on grade_cells.id = base_cell.id
               where grade_cells.cell_type = 'code'"""
    with sqlite3.connect(course / "gradebook.db") as db:
        cells = {(s, a, c): float(score or 0) for s, a, c, score in db.execute(query)}
    return elapsed, cells


def run_plain(work: Path, submissions, timeout: int, watchful: bool = False) -> float:
    """Seconds to execute every submission with nbclient, a fresh kernel each, one after another, in a
    folder of its own (``plain`` or ``plain-watchful``); ``watchful``: with platformlab's kernel client
    (no lost wake-ups) instead of jupyter_client's, configured as platformlab's courses do (``client_class``:
    the script checks that the kernel manager makes that client)."""
    client = "platformlab_instructor.kernelclient.WatchfulKernelClient" if watchful else ""
    expected = client.rsplit(".", 1)[-1] if client else "AsyncKernelClient"  # jupyter_client's default
    script = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "from traitlets.config import Config\n"
        "config = Config()\n"
        f"if {client!r}:\n"
        f"    config.AsyncKernelManager.client_class = {client!r}\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        f"    run = NotebookClient(nb, timeout={timeout}, allow_errors=True, config=config, "
        f"resources={{'metadata': {{'path': '{work}'}}}})\n"
        f"    assert run.create_kernel_manager().client_factory.__name__ == {expected!r}\n"
        "    run.execute()\n"
        "    nbformat.write(nb, path)\n"  # executed, with the kernel's timing of each cell
    )
    folder = work / ("plain-watchful" if watchful else "plain")
    folder.mkdir()
    paths = []
    for student, _lesson, data in submissions:
        path = folder / f"{student}.ipynb"
        path.write_bytes(data)
        paths.append(str(path))
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", script, *paths], env=env(), check=True, capture_output=True)
    return time.monotonic() - start


def kernel_seconds(notebooks: list[Path]) -> float:
    """Mean seconds per notebook that the kernel spent in its cells, test cells left out (platformlab runs
    those in the grader), from the timing nbclient records in each executed cell (from the kernel's
    ``execute_input`` to its ``execute_reply``): what any grader that runs a student's code pays."""
    from datetime import datetime

    import nbformat
    from nbgrader.utils import is_grade, is_solution

    total = 0.0
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            timing = cell.get("metadata", {}).get("execution", {})
            if cell.cell_type != "code" or (is_grade(cell) and not is_solution(cell)):
                continue
            if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
                began, ended = (datetime.fromisoformat(timing[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
                total += (ended - began).total_seconds()
    return total / max(1, len(notebooks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="submissions in the class (default 40)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="platformlab grade --jobs (default: CPUs)")
    parser.add_argument("--timeout", type=int, default=60, help="per-cell timeout for both graders")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print where it is")
    parser.add_argument("--no-fork", action="store_true", help="pass --no-fork to platformlab grade")
    parser.add_argument("--no-unboxed", action="store_true", help="skip the second platformlab run, --isolation none")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="boxed and unboxed runs, in turn, this many times each (the boxes' cost: median of the pairs)",
    )
    args = parser.parse_args()
    submissions = build_class(args.n)
    work = Path(tempfile.mkdtemp(prefix="grade-benchmark-"))
    try:
        print(
            f"class: {len(submissions)} submissions of {len({s[1] for s in submissions})} lessons; "
            f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        ours, our_cells = run_platformlab(work, submissions, args.jobs, args.timeout, not args.no_fork)
        print(f"platformlab grade --jobs {args.jobs}: {ours:7.1f} s", flush=True)
        worker_time = print_phases("boxes on, guard on", work / "grades")
        if not args.no_unboxed:
            costs = []
            for round_ in range(max(1, args.rounds)):
                if round_:
                    boxed, _ = run_platformlab(
                        work, submissions, args.jobs, args.timeout, not args.no_fork, out=f"grades-{round_}"
                    )
                    print(f"platformlab grade --jobs {args.jobs} (round {round_ + 1}): {boxed:7.1f} s", flush=True)
                    boxed_time = print_phases("boxes on, guard on", work / f"grades-{round_}")
                else:
                    boxed, boxed_time = ours, worker_time
                unboxed, _ = run_platformlab(
                    work, submissions, args.jobs, args.timeout, not args.no_fork, "none", f"unboxed-{round_}"
                )
                print(f"platformlab grade --jobs {args.jobs} --isolation none: {unboxed:7.1f} s", flush=True)
                bare = print_phases("no boxes, guard on", work / f"unboxed-{round_}")
                costs.append((boxed_time - bare, boxed - unboxed))
                print(
                    f"  the boxes cost {boxed_time - bare:+.2f} s of worker time per submission, "
                    f"{boxed - unboxed:+.1f} s of the run; the guard costs its phase above",
                    flush=True,
                )
            if len(costs) > 1:
                from statistics import median

                print(
                    f"the boxes' cost, median of {len(costs)} pairs: {median(c[0] for c in costs):+.2f} s of worker "
                    f"time per submission (pairs: {', '.join(f'{c[0]:+.2f}' for c in costs)}), "
                    f"{median(c[1] for c in costs):+.1f} s of the run",
                    flush=True,
                )
        stock, stock_cells = run_stock(work, submissions, args.timeout)
        print(f"stock nbgrader (generate + autograde): {stock:7.1f} s", flush=True)
        plain = run_plain(work, submissions, args.timeout)
        print(f"plain nbclient execution:      {plain:7.1f} s", flush=True)
        watchful = run_plain(work, submissions, args.timeout, watchful=True)
        print(f"plain nbclient execution, watchful client: {watchful:7.1f} s", flush=True)
        differ = {
            k: (our_cells.get(k), stock_cells.get(k))
            for k in set(our_cells) | set(stock_cells)
            if our_cells.get(k) != stock_cells.get(k)
        }
        n = len(submissions)
        print(f"same scores in every graded cell: {'yes' if not differ else 'NO'} ({len(stock_cells)} cells compared)")
        for key, pair in sorted(differ.items())[:10]:
            print(f"  {key}: platformlab {pair[0]}, stock {pair[1]}")
        print(f"speed-up over stock: {stock / ours:.2f}x")
        print(
            f"per submission: plain {plain / n:.2f} s; stock {stock / n:.2f} s (+{(stock - plain) / n:.2f} s over plain); "
            f"platformlab {ours / n:.2f} s wall, {ours * args.jobs / n:.2f} s of the run's CPU slots "
            f"(includes course set-up, worker start and the tables), {worker_time:.2f} s of worker time "
            f"= {worker_time / (watchful / n):.0%} of plain execution with the watchful client ({watchful / n:.2f} s), "
            f"{worker_time / (plain / n):.0%} of plain with the stock client"
        )
        ours_cells = kernel_seconds(sorted((work / "grades" / "course" / "autograded").glob("*/*/*.ipynb")))
        plain_cells = kernel_seconds(sorted((work / "plain-watchful").glob("*.ipynb")))
        print(
            f"the students' cells (tests left out), timed by the kernel: {ours_cells:.2f} s per submission in "
            f"platformlab's kernels, {plain_cells:.2f} s in plain execution's (the watchful run). What is not the "
            f"cells: platformlab {worker_time - ours_cells:.2f} s of worker time (kernel start, tests, nbgrader, "
            f"feedback, guard); plain {watchful / n - plain_cells:.2f} s (kernel start, imports, the client). "
            f"Worker time at 60% of plain would leave {0.6 * watchful / n - ours_cells:.2f} s for all of platformlab's own work"
        )
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 0 if not differ else 1
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
