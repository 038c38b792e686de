"""The ``platformlab`` command: a thin layer over the instructor's Python API.

Exit codes: 0 done; 1 a failure the message explains (:class:`.errors.PlatformlabError`);
2 a usage error (argparse). Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import logs
from .errors import PlatformlabError


def _lab(args: argparse.Namespace) -> int:
    from . import lab

    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    return lab.run(port=args.port, open_browser=not args.no_browser, extra=extra)


def _generate(args: argparse.Namespace) -> int:
    from .generate import generate
    from .lessons import root

    differing = generate(check=args.check, stems=args.lessons)
    here = root()
    names = [str(path.relative_to(here)) if path.is_relative_to(here) else str(path) for path in differing]
    if args.check:
        if names:
            print("lessons/ is out of date with solutions/; run `platformlab generate`:", file=sys.stderr)
            for name in names:
                print(f"  {name}", file=sys.stderr)
            return 1
        print("lessons/ matches what solutions/ generates.")
        return 0
    for name in names:
        print(f"wrote {name}" if (here / name).exists() else f"stale (no source): {name}")
    if not names:
        print("lessons/ was already up to date.")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from platformlab import simulate

    for name in args.names or simulate.names():
        simulate.write(name)
        print(f"wrote data/{name}.csv")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from .generate import generate
    from .publish import hub_links, publish

    if args.hub_repo and not args.hub:
        args.parser.error("--hub-repo needs --hub (the JupyterHub the links open)")
    if not args.skip_check and generate(check=True):
        raise PlatformlabError("lessons/ is out of date with solutions/; run `platformlab generate` first")
    written = publish(args.dest, repo=args.repo, ref=args.ref, hub=args.hub, hub_repo=args.hub_repo, hub_branch=args.hub_branch)
    print(f"wrote the student copy to {args.dest} ({len(written)} files); no leaks found. Commit and push it yourself.")
    if args.hub:
        print(f"nbgitpuller links that open each lesson in JupyterLab on {args.hub} (also in the copy's README):")
        for lesson, link in hub_links(args.dest, args.hub, args.hub_repo, args.hub_branch, args.repo).items():
            print(f"  {lesson}  {link}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grading.pipeline import export, grade

    if args.export_only:
        summary = export(args.out)
    elif args.submissions is None:
        args.parser.error("give SUBMISSIONS (a zip or a folder), or --export-only")
    else:
        summary = grade(
            args.submissions,
            out=args.out,
            jobs=args.jobs,
            timeout=args.timeout,
            force=args.force,
            roster=args.roster,
            memory=args.memory,
            fork=not args.no_fork,
            isolation=args.isolation,
            figures=not args.no_figures,
            scheduler=args.scheduler or args.cluster,
        )
    print(summary.text())
    return 0


def _mutants(args: argparse.Namespace) -> int:
    from .mutants import run

    return run(args)


def parser() -> argparse.ArgumentParser:
    from platformlab import __version__
    from platformlab.root import ENV

    top = argparse.ArgumentParser(
        prog="platformlab", description="The instructor's tools for the platformlab course. Run a verb with --help for more."
    )
    top.add_argument("--version", action="version", version=f"platformlab {__version__}")
    top.add_argument(
        "-v", "--verbose", action="count", default=0, help="say what happens (-vv: nbgrader's and kernels' logs too)"
    )
    top.add_argument(
        "--root",
        type=Path,
        help=f"the course folder, with solutions/, lessons/ and data/ (default: ${ENV}, "
        "else the working directory or a parent of it)",
    )
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    lab = verbs.add_parser(
        "lab",
        help="start JupyterLab on the student lessons",
        description="Start JupyterLab on lessons/. Arguments after -- go to jupyter lab unchanged.",
    )
    lab.add_argument("--port", type=int, help="port to serve on (default: JupyterLab's choice)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    lab.set_defaults(run=_lab)

    generate = verbs.add_parser(
        "generate",
        help="regenerate lessons/ from solutions/ with nbgrader",
        description="Regenerate the student lessons (lessons/) from the nbgrader source (solutions/).",
    )
    generate.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 and name the notebooks when lessons/ differs from what solutions/ generates",
    )
    generate.add_argument("lessons", nargs="*", help="lesson stems to generate, e.g. 01-platform-economics (default: all)")
    generate.set_defaults(run=_generate)

    simulate = verbs.add_parser(
        "simulate",
        help="rebuild the simulated data sets in data/",
        description="Rebuild simulated data sets from their generators (fixed seeds: same bytes every time).",
    )
    simulate.add_argument("names", nargs="*", help="data sets to rebuild (default: all)")
    simulate.set_defaults(run=_simulate)

    publish = verbs.add_parser(
        "publish",
        help="write the student-only copy that Binder builds",
        description="Write the student-only copy of the course to DEST (lessons, data, the package, "
        "binder/, a student README with Binder badges and, with --hub, nbgitpuller links; the licence; no solutions, no hidden tests), "
        "after checking that lessons/ matches solutions/, and refuse if anything would leak.",
    )
    publish.add_argument("dest", type=Path, help="an empty folder, a previous copy, or a clone of the public repository")
    publish.add_argument(
        "--repo", help="OWNER/NAME of the public GitHub repository the badges launch (default: DEST's git remote origin)"
    )
    publish.add_argument(
        "--ref", default="HEAD", help="branch, tag or commit the badges launch (default: HEAD, the default branch)"
    )
    publish.add_argument(
        "--hub",
        metavar="URL",
        help="the course's JupyterHub (https://hub.example.edu): also print, and put in "
        "the README, an nbgitpuller link per lesson that opens it in JupyterLab there",
    )
    publish.add_argument(
        "--hub-repo",
        metavar="URL",
        help="the git URL the hub pulls the copy from (default: https://github.com/OWNER/NAME, the public repository)",
    )
    publish.add_argument("--hub-branch", default="main", metavar="BRANCH", help="the branch the hub pulls (default: main)")
    publish.add_argument("--skip-check", action="store_true", help="do not check lessons/ against solutions/ first")
    publish.set_defaults(run=_publish, parser=publish)
    grade = verbs.add_parser(
        "grade",
        help="grade a class: an LMS zip or folder in; grades, feedback, item analysis out",
        description="Grade every notebook in SUBMISSIONS (a Canvas or Moodle zip, a folder of per-student "
        "folders, or an nbgrader submitted/ tree) with nbgrader, in parallel. Writes grades.csv, items.csv, "
        "skipped.csv, item_analysis.csv/.png, canvas.csv, feedback/ and an nbgrader course with its "
        "gradebook (for formgrader) to --out. A re-run resumes where the last one stopped.",
    )
    grade.add_argument("submissions", type=Path, nargs="?", help="the zip file or folder of submissions")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="output folder (default: grades/)")
    grade.add_argument("--jobs", type=int, help="submissions graded at once (default: the number of CPUs)")
    grade.add_argument("--timeout", type=int, default=60, help="seconds a cell may run before it is stopped (default: 60)")
    grade.add_argument("--memory", type=int, default=2048, help="memory limit per kernel in MiB, 0 for none (default: 2048)")
    grade.add_argument("--roster", type=Path, help="CSV with columns lms_id,student_id mapping LMS ids to student ids")
    grade.add_argument("--force", action="store_true", help="grade again submissions an earlier run already graded")
    grade.add_argument(
        "--no-fork",
        action="store_true",
        help="start every kernel afresh instead of forking one that has the lessons' libraries imported",
    )
    grade.add_argument(
        "--no-figures",
        action="store_true",
        help="show each figure as its text ('<Figure size ...>') instead of drawing it: faster; the tests see the "
        "same figures, but the feedback and formgrader have no images",
    )
    grade.add_argument(
        "--isolation",
        choices=("auto", "box", "none"),
        default="auto",
        help="run student code in boxes (bubblewrap: no network, no course files, no other student's; "
        "'box' insists, 'none' declines, default 'auto': where the machine can, with a warning where not)",
    )
    where = grade.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler is here, e.g. tcp://10.0.0.5:8786 (needs platformlab[dask])",
    )
    where.add_argument(
        "--cluster",
        choices=("local",),
        help="grade on a Dask LocalCluster of --jobs worker processes started here, to try --scheduler",
    )
    grade.add_argument(
        "--export-only",
        action="store_true",
        help="grade nothing: write the tables and feedback again from the gradebook (after manual grading)",
    )
    grade.set_defaults(run=_grade, parser=grade)

    from .mutants.command import add_arguments as mutant_arguments

    mutants = verbs.add_parser(
        "mutants",
        help="measure how strong each exercise's tests are (mutation analysis)",
        description="Mutate the reference solution of every autograded exercise (the mistakes "
        "students make), run the exercise's visible and hidden tests against each mutant, and "
        "report per exercise how many the tests reject; the survivors are printed as diffs. "
        "Exit 1 when an exercise rejects fewer than --min-score percent.",
    )
    mutant_arguments(mutants)
    mutants.set_defaults(run=_mutants)
    return top


def main(argv: list[str] | None = None) -> int:
    from platformlab.root import ENV, CourseNotFound

    args = parser().parse_args(argv)
    logs.to_stderr(args.verbose)
    if args.root:
        os.environ[ENV] = str(args.root.resolve())  # seen by everything this command starts, kernels included
    try:
        return args.run(args)
    except (PlatformlabError, CourseNotFound) as error:
        print(f"platformlab {args.verb}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
