"""The grader's notes in formgrader: each written answer's model answer and rubric.

formgrader shows a grader the autograded notebook, which holds the student's answer but
not the instructor's. When the main process files an autograded notebook into the course
(:func:`.pipeline._finish`), it puts after each written answer a cell with the model answer
and rubric from the solution notebook (the written answer's solution region), marked
:data:`GRADER_ONLY`. Feedback pages drop such cells (:mod:`.feedback`): students never see them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nbformat
from nbgrader import utils

from ..regions import SOLUTION, regions

#: Cell metadata key of a cell only graders see.
GRADER_ONLY = "platformlab_grader_only"
HEADING = "**For the grader** (model answer and rubric from the solution notebook; never shown to the student):\n\n"


def is_grader_only(cell) -> bool:
    return bool(cell.get("metadata", {}).get(GRADER_ONLY))


@lru_cache(maxsize=16)
def notes(source: Path, modified: float = 0.0) -> dict[str, str]:
    """Grade id -> model answer and rubric of each written answer of the solution notebook ``source``
    (``modified``, its modification time, keeps the cache honest)."""
    found = {}
    for cell in nbformat.read(source, as_version=4).cells:
        if cell.cell_type == "markdown" and utils.is_grade(cell) and utils.is_solution(cell):
            text = "\n".join(line for region, line in regions(cell.source) if region == SOLUTION).strip()
            if text:
                found[cell.metadata["nbgrader"]["grade_id"]] = text
    return found


def add(notebook: nbformat.NotebookNode, source: Path) -> nbformat.NotebookNode:
    """``notebook`` with a grader-only cell after each written answer that has notes in ``source``."""
    written = notes(Path(source), Path(source).stat().st_mtime)
    cells = []
    for cell in notebook.cells:
        if is_grader_only(cell):
            continue  # a student's copy of such a cell (they can read this module) is never trusted
        cells.append(cell)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in written:
            cells.append(nbformat.v4.new_markdown_cell(HEADING + written[grade_id], metadata={GRADER_ONLY: True}))
    notebook.cells = cells
    return notebook
