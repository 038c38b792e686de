"""The ``platformlab`` command: a thin layer over the package's Python API."""

from __future__ import annotations

import argparse
import sys


def _lab(args: argparse.Namespace) -> int:
    from . import lab

    return lab.run(port=args.port, open_browser=not args.no_browser, extra=args.jupyter_args)


def _generate(args: argparse.Namespace) -> int:
    from .generate import generate
    from .lessons import ROOT

    differing = generate(check=args.check)
    names = [str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path) for path in differing]
    if args.check:
        if names:
            print("lessons/ is out of date with solutions/; run `platformlab generate`:", file=sys.stderr)
            for name in names:
                print(f"  {name}", file=sys.stderr)
            return 1
        print("lessons/ matches what solutions/ generates.")
        return 0
    for name in names:
        print(f"wrote {name}" if (ROOT / name).exists() else f"stale (no source): {name}")
    if not names:
        print("lessons/ was already up to date.")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from . import simulate

    for name in args.names or simulate.names():
        simulate.write(name)
        print(f"wrote data/{name}.csv")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="platformlab", description=__doc__.splitlines()[0] + " Run a verb with --help for more.")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    lab = verbs.add_parser("lab", help="start JupyterLab on the student lessons", description="Start JupyterLab on lessons/. "
                           "Arguments after -- go to jupyter lab unchanged.")
    lab.add_argument("--port", type=int, help="port to serve on (default: JupyterLab's choice)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    lab.set_defaults(run=_lab)

    generate = verbs.add_parser("generate", help="regenerate lessons/ from solutions/ with nbgrader",
                                description="Regenerate the student lessons (lessons/) from the nbgrader source (solutions/).")
    generate.add_argument("--check", action="store_true",
                          help="change nothing; exit 1 and name the notebooks when lessons/ differs from what solutions/ generates")
    generate.set_defaults(run=_generate)

    simulate = verbs.add_parser("simulate", help="rebuild the simulated data sets in data/",
                                description="Rebuild simulated data sets from their generators (fixed seeds: same bytes every time).")
    simulate.add_argument("names", nargs="*", help="data sets to rebuild (default: all)")
    simulate.set_defaults(run=_simulate)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (KeyError, ValueError, RuntimeError) as error:
        print(f"platformlab {args.verb}: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
