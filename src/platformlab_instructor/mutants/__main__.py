"""``python -m platformlab_instructor.mutants [LESSON...] [--jobs N] [--report FILE]``."""

import argparse
from pathlib import Path

from .command import add_arguments, run

parser = argparse.ArgumentParser(
    prog="python -m platformlab_instructor.mutants",
    description="Mutation analysis of every autograded exercise: how strong are the tests?",
)
parser.add_argument("--root", type=Path, help="the course folder, with solutions/ (default: found from here)")
add_arguments(parser)
raise SystemExit(run(parser.parse_args()))
