"""Read a submitted notebook, tell which lesson it is, and put its graded cells back in order.

Students rename files (``01-platform-economics (1).ipynb``, ``Copy of ...``), so the
lesson is told from the content: the nbgrader cell ids and the text of the locked
cells of each lesson's student version. Only marks that belong to one lesson count,
so cells that every lesson shares (``setup``, ``md_01``) decide nothing.

:func:`restore` makes nbgrader's job safe: the nbgrader metadata of every known cell
is reset to the student version's (tampered flags, points and ids cannot change the
grading), locked cells get their text back, a deleted test or written-answer
cell is put back where it was, so that it is scored and not silently dropped, and the
cell tags that change how nbclient runs a cell are removed from every cell.

:func:`read` turns any file into a notebook or :class:`NotANotebook`: JSON that Python's
parser refuses (nesting past the recursion limit, integers past the int-string limit)
or that nests deeper than :data:`MAX_DEPTH` is refused here, so no later step meets it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils

#: JSON nesting a notebook may have (a real one nests about 6 deep; deeper values would
#: reach the recursion limit in nbformat, deepcopy or the feedback templates).
MAX_DEPTH = 64
#: Cell tags nbclient acts on (``skip-execution`` skips the cell; ``raises-exception`` lets it
#: fail without stopping the notebook): a submission must not choose how its cells run.
EXECUTION_TAGS = ("skip-execution", "raises-exception")


class NotANotebook(ValueError):
    """The file cannot be read as a Jupyter notebook."""


def _depth(value) -> int:
    """How deeply lists and dicts nest in ``value`` (iterative: no recursion limit to reach)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, or raise :class:`NotANotebook` saying why not."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotANotebook(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotANotebook(f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise NotANotebook("malformed JSON: nested too deeply to read") from None
    except (ValueError, MemoryError) as error:  # e.g. an integer past Python's int-string limit
        raise NotANotebook(f"malformed JSON: {str(error).split(':')[0][:200]}") from None
    if _depth(content) > MAX_DEPTH:
        raise NotANotebook(f"not a valid notebook: JSON nested more than {MAX_DEPTH} deep")
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise NotANotebook("JSON but not a notebook (no list of cells)")
    try:
        with warnings.catch_warnings():  # e.g. "missing cell ids": nbformat adds them, nothing to tell
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many kinds; any of them means unreadable
        raise NotANotebook(f"not a valid notebook: {str(error).splitlines()[0][:200]}") from None
    for cell in notebook.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(cell.get("source"), str):
            raise NotANotebook("not a valid notebook: a cell without a type or text")
    return notebook


def grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _locked(cell) -> bool:
    return isinstance(cell.get("metadata", {}).get("nbgrader"), dict) and utils.is_locked(cell)


def _text_mark(source: str) -> str:
    return "text:" + hashlib.sha256(" ".join(source.split()).encode("utf-8")).hexdigest()


def _marks(notebook) -> set[str]:
    marks = set()
    for cell in notebook.cells:
        gid = grade_id(cell)
        if gid:
            marks.add("id:" + gid)
        if len(cell.source.strip()) >= 40:  # short cells ("plots.theme()") say nothing about the lesson
            marks.add(_text_mark(cell.source))
    return marks


@dataclass
class LessonKey:
    """What identifies one lesson: its student version and the marks unique to it."""

    stem: str
    release: nbformat.NotebookNode
    marks: set[str] = field(default_factory=set)
    #: grade id -> the instructor's text of a locked cell (hidden tests included): not an edit either
    source_text: dict[str, str] = field(default_factory=dict)

    @property
    def graded_ids(self) -> list[str]:
        return [grade_id(c) for c in self.release.cells if utils.is_grade(c)]


class Catalogue:
    """The lessons being graded, keyed by their student versions (what nbgrader generated)."""

    def __init__(self, releases: dict[str, Path], sources: dict[str, Path] | None = None):
        self.lessons = {stem: LessonKey(stem, nbformat.read(path, as_version=4)) for stem, path in releases.items()}
        for stem, path in (sources or {}).items():
            source = nbformat.read(path, as_version=4)
            self.lessons[stem].source_text = {grade_id(c): c.source for c in source.cells if grade_id(c) and _locked(c)}
        all_marks = {stem: _marks(key.release) for stem, key in self.lessons.items()}
        for stem, key in self.lessons.items():
            others = set().union(*(m for s, m in all_marks.items() if s != stem)) if len(all_marks) > 1 else set()
            key.marks = all_marks[stem] - others

    def identify(self, notebook) -> tuple[str | None, str]:
        """Return ``(stem, "")`` for the lesson this notebook is, or ``(None, why not)``."""
        found = _marks(notebook)
        scores = {stem: len(key.marks & found) for stem, key in self.lessons.items()}
        best = max(scores.values(), default=0)
        if best == 0:
            known = ", ".join(self.lessons) or "none"
            return None, f"unknown lesson: no cell of any lesson being graded ({known})"
        winners = [stem for stem, score in scores.items() if score == best]
        if len(winners) > 1:
            return None, f"unknown lesson: matches {' and '.join(winners)} equally"
        return winners[0], ""

    def guess_from_name(self, name: str) -> str | None:
        """The lesson a file name points to (for unreadable files), if exactly one does."""
        lowered = name.lower()
        hits = [stem for stem in self.lessons if stem in lowered or stem.split("-", 1)[-1] in lowered]
        if not hits:
            hits = [stem for stem in self.lessons if lowered.startswith(stem[:3])]
        if len(hits) == 1:
            return hits[0]
        if len(self.lessons) == 1:
            return next(iter(self.lessons))
        return None


def restore(notebook, lesson: LessonKey) -> tuple[nbformat.NotebookNode, list[str]]:
    """Reset nbgrader metadata and locked text from the student version; put back missing graded cells;
    drop :data:`EXECUTION_TAGS` from every cell.

    Returns the repaired notebook and notes such as ``test_hhi: deleted, restored``.
    Hidden tests are not added here: nbgrader's own OverwriteCells step does that from
    the gradebook, as for every submission. Its ``add_missing_cells`` option is not used for
    the deleted cells: it puts a missing cell after the previous *graded or solution* cell
    of the source and fails (KeyError) when that one is missing too or is a locked cell
    that is neither, as the lessons' excerpt cells are (jupyter/nbgrader#1770); here a cell
    goes back after the nearest earlier cell that is present, whatever its kind.
    """
    notebook = copy.deepcopy(notebook)
    release = {grade_id(c): c for c in lesson.release.cells if grade_id(c)}
    notes = []
    seen = set()
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if not isinstance(tags, list) or any(tag in EXECUTION_TAGS for tag in tags):  # a string tests by substring
            kept = [tag for tag in tags if isinstance(tag, str) and tag not in EXECUTION_TAGS] if isinstance(tags, list) else []
            cell.metadata["tags"] = kept
            notes.append(f"{grade_id(cell) or 'a cell'}: execution tags removed")
        gid = grade_id(cell)
        if gid is None:
            cell.metadata.pop("nbgrader", None)  # e.g. {"grade": true} without an id: not the lesson's
            continue
        original = release.get(gid)
        if original is None:
            del cell.metadata["nbgrader"]  # an id the lesson does not have cannot be graded
            continue
        seen.add(gid)
        cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
        if _locked(original) and cell.source != original.source:
            if utils.is_grade(original) and cell.source != lesson.source_text.get(gid):
                notes.append(f"{gid}: edited, restored")
            cell.source = original.source
    # put back graded cells that are missing, after the nearest earlier cell that is present
    order = [grade_id(c) for c in lesson.release.cells]
    for index, original in enumerate(lesson.release.cells):
        gid = grade_id(original)
        if not gid or gid in seen or not utils.is_grade(original):
            continue
        position = 0
        for earlier in reversed(order[:index]):
            if earlier in seen:
                position = 1 + max(i for i, c in enumerate(notebook.cells) if grade_id(c) == earlier)
                break
        restored = copy.deepcopy(original)
        notebook.cells.insert(position, restored)
        seen.add(gid)
        notes.append(f"{gid}: deleted, restored")
    return notebook, notes
