"""``platformlab mutants``: the command line over :func:`.analysis.analyse`.

Exit codes: 0 every exercise kills at least ``--min-score`` percent of its
non-equivalent mutants; 1 some exercise is below it, an exercise's own solution fails
its test, a cell could not run, or an equivalent entry is stale; 2 a usage error (an
unknown lesson, a malformed equivalent file, no course folder).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .analysis import analyse, stderr
from .equivalents import FormatError
from .operators import ORDER
from .report import closing, details, table, write_json
from .runner import Limits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The verb's arguments (the course folder comes from ``--root`` of the caller, or is found)."""
    parser.add_argument(
        "lessons",
        nargs="*",
        metavar="LESSON",
        help="lessons to analyse: 01-platform-economics, 01 or a notebook path (default: all)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="mutants run at once, across lessons (default: the number of CPUs)",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the JSON report here")
    parser.add_argument(
        "--min-score",
        type=float,
        default=90.0,
        metavar="PERCENT",
        help="the bar: each exercise must kill this share of its non-equivalent mutants (default 90)",
    )
    parser.add_argument(
        "--equivalents",
        type=Path,
        metavar="DIR",
        help="folder of NN-slug.equivalent.yaml files (default: tests/answers in the course)",
    )
    parser.add_argument(
        "--exercise", action="append", metavar="GRADE_ID", help="only this exercise (its test cell's grade_id); repeat for more"
    )
    parser.add_argument(
        "--operator",
        action="append",
        choices=ORDER,
        metavar="NAME",
        help=f"only this operator ({', '.join(ORDER)}); repeat for more",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=Limits.timeout,
        metavar="SECONDS",
        help=f"a mutant still running after this is killed (default {Limits.timeout:g})",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=Limits.memory_mib,
        metavar="MIB",
        help=f"memory a mutant may add to the notebook's before it is killed (default {Limits.memory_mib})",
    )


def _course(args: argparse.Namespace) -> Path:
    if getattr(args, "root", None):
        return Path(args.root)
    from platformlab.root import course_root

    return course_root("solutions")


def run(args: argparse.Namespace) -> int:
    """Analyse, print the table, survivors and closing line, write the report; return the exit code."""
    try:
        root = _course(args)
        analysis = analyse(
            root,
            args.lessons,
            jobs=max(1, args.jobs),
            limits=Limits(args.timeout, args.memory),
            equivalents_folder=args.equivalents,
            only=args.exercise,
            operators=args.operator,
            progress=stderr,
        )
    except (LookupError, FormatError) as error:
        stderr(f"platformlab mutants: {error}")
        return 2
    results, bar = analysis.results, args.min_score
    print(table(results, bar))
    folder = args.equivalents or Path(root) / "tests" / "answers"
    extra = details(results, analysis.orphans, folder)
    if extra:
        print(f"\n{extra}")
    for problem in analysis.problems:
        print(f"\nERROR {problem}")
    if args.report:
        write_json(results, args.report)
    print(f"\n{closing(results, bar, analysis.stale, len(analysis.problems))}")
    failed = any(result.below(bar) or result.error for result in results) or analysis.stale or analysis.problems
    return 1 if failed else 0
