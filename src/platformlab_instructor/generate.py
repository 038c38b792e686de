"""Make the student lessons (``lessons/``) from the instructor's source (``solutions/``).

Each ``lessons/NN-slug.ipynb`` is byte for byte what nbgrader's generate step
writes for ``solutions/NN-slug.ipynb``: solutions replaced by stubs, hidden
tests removed, outputs cleared, checksums recorded for locked cells.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import lessons as catalogue
from .course import Course


def generate(check: bool = False, target: Path | None = None, stems: list[str] | None = None) -> list[Path]:
    """Regenerate the student lessons, or with ``check`` only compare them.

    Returns the student notebooks that differ from what ``solutions/`` generates
    (with ``check=False`` they have been rewritten), plus any stale notebook in
    ``lessons/`` that no longer has a source. Nothing is ever deleted.
    ``target`` defaults to ``lessons/``; ``stems`` limits the work to those lessons.
    """
    found = [catalogue.get(stem) for stem in stems] if stems else catalogue.find()
    target = target or catalogue.root() / "lessons"
    differing = []
    with tempfile.TemporaryDirectory(prefix="platformlab-generate-") as tmp:
        course = Course(Path(tmp), {lesson.stem: lesson.solution for lesson in found})
        for lesson in found:
            made = course.generate(lesson.stem)
            current = target / lesson.filename
            if current.exists() and current.read_bytes() == made.read_bytes():
                continue
            differing.append(current)
            if not check:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(made, current)
    if stems:
        return differing
    sources = {lesson.filename for lesson in found}
    orphans = [path for path in sorted(target.glob("*.ipynb")) if path.name not in sources]
    return differing + orphans
