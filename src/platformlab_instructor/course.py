"""A throwaway nbgrader course directory, driven through nbgrader's Python API.

nbgrader works on a course layout (``source/<lesson>/``, ``release/``,
``submitted/<student>/<lesson>/``, ``autograded/`` and a SQLite gradebook).
This module builds one from ``solutions/`` so that generating the student
versions and autograding submissions both run the real nbgrader steps.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from .errors import PlatformlabError


class NbgraderFailed(PlatformlabError):
    """An nbgrader step reported failure; the message carries its log."""


@dataclass(frozen=True)
class CellGrade:
    """The score nbgrader gave one graded cell of one submission."""

    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool
    autograded: bool  # a test cell (code), not a written answer
    auto_score: float | None = None  # the autograder's part of ``score`` (None: not autograded yet)


def tool_environment(environ=None) -> dict:
    """The environment for the processes the tools start: as given (default: this process's), with
    this Python's bin folder on ``PATH`` (nbgrader runs ``alembic``; a virtual environment nobody
    activated is not on it) and this checkout's packages importable (``PYTHONPATH``), so that
    kernels and ``python -m platformlab_instructor`` find the same code as this process."""
    environ = dict(os.environ if environ is None else environ)
    for name, folder in (("PATH", str(Path(sys.executable).parent)), ("PYTHONPATH", str(Path(__file__).resolve().parents[1]))):
        entries = [entry for entry in environ.get(name, "").split(os.pathsep) if entry]
        if folder not in entries:
            environ[name] = os.pathsep.join([folder, *entries])
    return environ


def _ensure_tools_on_path() -> None:
    os.environ.update(tool_environment())


@functools.cache
def schema_version() -> str:
    """The gradebook schema version nbgrader stamps on each new gradebook: its newest migration.

    nbgrader 0.9 (``nbgrader.api.get_alembic_version``) finds it by running ``alembic heads`` in a new
    process, 1.5 s or more for every new gradebook (each ``platformlab grade`` or ``generate`` in a
    fresh folder). This reads the same migration scripts here, once per process.
    """
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    return ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()


class Course:
    """An nbgrader course rooted at ``root`` whose lessons are ``sources``: each lesson's
    stem (the nbgrader assignment id) and its source notebook, copied into the course."""

    def __init__(self, root: Path, sources: dict[str, Path], timeout: int = 60):
        self.root = Path(root)
        self.stems = list(sources)
        self.timeout = timeout
        for stem, source in sources.items():
            target = self.root / "source" / stem / f"{stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        (self.root / "exchange").mkdir(parents=True, exist_ok=True)  # nbgrader's API insists on one
        _ensure_tools_on_path()

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def config(self) -> Config:
        config = Config()
        config.CourseDirectory.root = str(self.root)
        config.Exchange.root = str(self.root / "exchange")  # nbgrader checks it; the course exchanges nothing
        config.CourseDirectory.db_url = self.gradebook_url
        config.Execute.timeout = self.timeout
        config.AsyncKernelManager.client_class = "platformlab_instructor.kernelclient.WatchfulKernelClient"  # see that module
        config.Application.log_level = "WARN"
        return config

    def api(self):
        import nbgrader.api
        from nbgrader.apps import NbGraderAPI

        nbgrader.api.get_alembic_version = schema_version  # see there
        return NbGraderAPI(config=self.config())

    def generate(self, stem: str) -> Path:
        """Run nbgrader's generate step for one lesson; return the student notebook it wrote."""
        result = self.api().generate_assignment(stem, force=True)
        if not result["success"]:
            raise NbgraderFailed(f"nbgrader could not generate {stem}:\n{result.get('log', '')}{result.get('error', '')}")
        return self.root / "release" / stem / f"{stem}.ipynb"

    def submit(self, student: str, stem: str, notebook: Path) -> Path:
        """Place ``notebook`` as ``student``'s submission of lesson ``stem``."""
        target = self.root / "submitted" / student / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
        return target

    def autograde(self, stem: str, student: str) -> Path:
        """Autograde one submission with nbgrader; return the autograded notebook."""
        result = self.api().autograde(stem, student, force=True, create=True)
        if not result["success"]:
            raise NbgraderFailed(
                f"nbgrader could not autograde {student}/{stem}:\n{result.get('log', '')}{result.get('error', '')}"
            )
        return self.root / "autograded" / student / stem / f"{stem}.ipynb"

    def grades(self, stem: str, student: str) -> dict[str, CellGrade]:
        """The per-cell grades of a submission, read from the gradebook (the one place that does)."""
        return self.grades_and_comments(stem, student)[0]

    def grades_and_comments(self, stem: str, student: str) -> tuple[dict[str, CellGrade], dict[str, str]]:
        """The per-cell grades of a submission, and the autograder's comment per cell."""
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook_url) as gradebook:
            submission = gradebook.find_submission_notebook(stem, stem, student)
            grades = {
                grade.name: CellGrade(
                    grade.name,
                    float(grade.score),
                    float(grade.max_score),
                    bool(grade.needs_manual_grade),
                    grade.cell_type == "code",
                    grade.auto_score,
                )
                for grade in submission.grades
            }
            return grades, {comment.name: comment.auto_comment for comment in submission.comments}
