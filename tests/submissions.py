"""Build test submissions from a lesson: the solution, the untouched student version, and
the answer fixtures of ``tests/answers/`` (see :mod:`platformlab_instructor.answers`).

Answers share a submission where they cannot affect each other's test (:func:`packed`),
so the grading tests run a dozen notebooks per lesson instead of one per fixture.
"""

from __future__ import annotations

import ast
import builtins
from functools import cache
from pathlib import Path

import nbformat

from platformlab_instructor.answers import Answer, load
from platformlab_instructor.grading.identify import grade_id


def wrong_answers(stem: str) -> list[Answer]:
    return load(stem, "wrong")


def correct_answers(stem: str) -> list[Answer]:
    return load(stem, "correct")


def with_answers(solution: Path, answers: list[Answer], target: Path) -> Path:
    """Write the solution notebook with each answer's cell replaced by the fixture's ``source``."""
    notebook = nbformat.read(solution, as_version=4)
    for answer in answers:
        cells = [cell for cell in notebook.cells if grade_id(cell) == answer.cell]
        if len(cells) != 1:
            raise LookupError(
                f"{answer.lesson}: answer fixture {answer.student} names cell {answer.cell!r}, found {len(cells)} such cells"
            )
        cells[0].source = answer.source
    nbformat.write(notebook, target)
    return target


#: Builtins are names every cell reads; an answer that rebinds one touches shared state (below).
_BUILTINS = set(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _scan(node: ast.AST, loaded: set[str], stored: set[str], functions: dict[str, set[str]]) -> None:
    """Names ``node`` reads (``loaded``) and binds (``stored``) in the module's scope. A function's
    or comprehension's own names stay inside it; the globals it reads count as read (``functions``:
    each function's name -> the globals it reads when called)."""
    if isinstance(node, _SCOPES):
        inner_loaded, inner_stored = set(), set()
        for child in ast.iter_child_nodes(node):
            _scan(child, inner_loaded, inner_stored, functions)
        params = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)} if hasattr(node, "args") else set()
        free = inner_loaded - inner_stored - params
        loaded |= free
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stored.add(node.name)
            functions[node.name] = free
        return
    if isinstance(node, ast.Name):
        (stored if isinstance(node.ctx, (ast.Store, ast.Del)) else loaded).add(node.id)
    elif isinstance(node, ast.alias):
        stored.add((node.asname or node.name).split(".")[0])
    elif isinstance(node, ast.ClassDef):
        stored.add(node.name)
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        loaded.add(node.target.id)  # x += 1 reads x
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
        lambda_loaded: set[str] = set()
        _scan(node.value, lambda_loaded, set(), functions)
        functions.update({t.id: lambda_loaded for t in node.targets if isinstance(t, ast.Name)})
    for child in ast.iter_child_nodes(node):
        _scan(child, loaded, stored, functions)


class _Cell:
    """What one code cell reads from earlier cells and what it binds, in the module's scope."""

    def __init__(self, source: str):
        self.reads, self.binds, self.functions = set(), set(), {}
        try:
            tree = ast.parse(source)
        except SyntaxError:
            self.reads = {"<unparsable>"}  # fails at once; a name no cell binds
            return
        for statement in tree.body:  # a name bound by an earlier statement of the cell is not read from before
            loaded, stored = set(), set()
            _scan(statement, loaded, stored, self.functions)
            self.reads |= loaded - self.binds
            self.binds |= stored


@cache
def _cell(source: str) -> _Cell:
    """The :class:`_Cell` of ``source``, parsed once: packing asks about the same cells for every pair."""
    return _Cell(source)


@cache
def _touches_shared_state(source: str) -> bool:
    """Could ``source`` change state that is not a name: an attribute or module set, an import,
    a ``global``, a builtin rebound, or NumPy's or Python's global random state?"""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False  # it fails at once and changes nothing
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.id in _BUILTINS:
            return True
        if isinstance(node, ast.Attribute) and (isinstance(node.ctx, (ast.Store, ast.Del)) or node.attr in ("random", "seed")):
            return True
    return False


class Lesson:
    """The solution notebook's code cells in order, to tell which answers cannot affect each other."""

    def __init__(self, solution: Path):
        cells = [c for c in nbformat.read(solution, as_version=4).cells if c.cell_type == "code"]
        self.order = {grade_id(c): i for i, c in enumerate(cells) if grade_id(c)}
        self.sources = [c.source for c in cells]
        # names the notebook's imports bind (np, pd, data, ...): answers that change a module are shared state
        self.modules = {
            (alias.asname or alias.name).split(".")[0]
            for source in self.sources
            for node in ast.walk(_parsed(source))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }

    def affects(self, a: Answer, b: Answer) -> bool:
        """Could ``a`` change what ``b``'s answer cell or test sees? Follows the names cell by cell, from
        ``a``'s cell to ``b``'s test with both answers in place: a cell that reads a name ``a`` could have
        changed (calling a function counts as reading the globals it reads) may change every name it reads
        or binds, and anything at all if it also changes state that is not a name; a cell that reads none
        of them binds its names afresh."""
        replaced = {self.order[a.cell]: a.source, self.order[b.cell]: b.source}
        functions: dict[str, set[str]] = {}
        for source in (replaced.get(i, s) for i, s in enumerate(self.sources)):
            functions.update(_cell(source).functions)
        ignored = self.modules | _BUILTINS

        def used(cell: _Cell) -> set[str]:
            names, todo = set(), set(cell.reads)
            while todo:  # a called function reads its globals, and those it calls theirs
                name = todo.pop()
                names.add(name)
                todo |= functions.get(name, set()) - names
            return names - ignored

        first = [_cell(a.source), _cell(self.sources[self.order[a.cell]])]
        tainted = set().union(*(cell.reads | cell.binds for cell in first)) - ignored
        for i in range(self.order[a.cell] + 1, self.order[b.test] + 1):
            source = replaced.get(i, self.sources[i])
            cell = _cell(source)
            if used(cell) & tainted:
                if i in (self.order[b.cell], self.order[b.test]) or _touches_shared_state(source):
                    return True
                tainted |= used(cell) | cell.binds
            else:
                tainted -= cell.binds
        return False

    def independent(self, a: Answer, b: Answer) -> bool:
        """Can neither answer change what the other's test sees (different cells, no name flowing
        from one to the other, no state that is not a name)?"""
        if a.cell == b.cell or any(_touches_shared_state(x.source) for x in (a, b)):
            return False
        return not (self.affects(a, b) or self.affects(b, a))


def _parsed(source: str) -> ast.AST:
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def packed(solution: Path, answers: list[Answer]) -> list[list[Answer]]:
    """``answers`` in groups whose members are pairwise :meth:`Lesson.independent`: one submission each.

    Correct answers need only different cells from each other: each leaves the notebook as a correct
    answer does, and a test that rejects one in company fails just as it would alone. A wrong answer
    changes what later cells see, so it shares a submission only with answers, wrong or correct, that
    cannot reach its test, nor it theirs.
    """
    lesson = Lesson(solution)

    def fits(answer: Answer, other: Answer) -> bool:
        if answer.kind == other.kind == "correct":
            return answer.cell != other.cell
        return lesson.independent(answer, other)

    groups: list[list[Answer]] = []
    for answer in answers:
        group = next((g for g in groups if all(fits(answer, other) for other in g)), None)
        if group is None:
            groups.append([answer])
        else:
            group.append(answer)
    return groups
