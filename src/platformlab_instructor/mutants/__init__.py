"""Mutation analysis of every autograded exercise: do the tests reject plausible wrong answers?

For each exercise (a test cell and its solution cells), mutants of the code between the
solution markers model student mistakes (:mod:`.operators`); each runs against the test
cell, hidden tests included, in the notebook state grading would give it (:mod:`.runner`);
a mutant the tests do not reject survives, unless recorded as equivalent
(:mod:`.equivalents`). ``platformlab mutants`` wires :func:`add_arguments` and :func:`run`.
"""

from .analysis import Analysis, analyse
from .command import add_arguments, run

__all__ = ["Analysis", "add_arguments", "analyse", "run"]
