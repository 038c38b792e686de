"""Run a notebook's test cells in the grader, on answers read from the student's kernel.

Why: a test that runs in the student's kernel can be undone there (a hook that clears its
error, a transformer that deletes its ``assert``, an object equal to anything, a patched
``numpy.allclose``), and reveals its hidden lines to code that reads the running cell. Here
the test's code never reaches the kernel. :class:`TrustedTests` runs it in the worker, with the
grader's own builtins, NumPy and pandas; each name the test reads that the notebook defines is
fetched as plain data (:mod:`.wire`), and each notebook function the test calls runs in the
kernel on encoded arguments and answers with data. What the student's code controls is the
values of its answers, nothing of how they are checked.

A cell's outputs are built as the kernel would have made them (streams, a result of its last
expression, an error with a traceback quoting the test's lines), so nbgrader scores them as
usual and :mod:`.feedback` hides the hidden lines. Names the test cells assign persist
from one test cell to the next, as in a kernel; builtins always mean the grader's builtins.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import json
import linecache
import traceback
import warnings

from nbformat import from_dict

from . import wire

#: Libraries a notebook's name may stand for (``np``, ``pd``, ``data``...): the grader imports its own copy.
LIBRARIES = frozenset(
    {
        "numpy",
        "pandas",
        "scipy",
        "math",
        "cmath",
        "statistics",
        "datetime",
        "collections",
        "itertools",
        "functools",
        "operator",
        "re",
        "json",
        "random",
        "decimal",
        "fractions",
        "matplotlib",
        "seaborn",
        "statsmodels",
        "sklearn",
        "platformlab",
    }
)
#: The file name test code runs under (its tracebacks quote the cell's lines).
FILENAME = "<test cell>"
WIRE = f"__import__('sys').modules[{wire.NAME!r}]"


class KernelLost(BaseException):
    """The student's kernel died or stuck while answering (BaseException: test code cannot catch it)."""

    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause


class AnswerError(Exception):
    """The notebook's function raised an exception of a class the grader does not have."""


def _loaded_names(tree: ast.AST) -> list[str]:
    return sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)})


def _library(name: str):
    """The grader's own copy of the module ``name``, if it is one of :data:`LIBRARIES`."""
    if not isinstance(name, str) or name.split(".")[0] not in LIBRARIES:
        return None
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _python_default_filters() -> None:
    """Python's own warning filters (PEP 565), as a fresh kernel starts with them."""
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


class TrustedTests:
    """The test cells of one notebook run; ``ask(expression, deadline)`` evaluates an expression in the
    kernel (silently) and returns its string value, raising :class:`KernelLost` if the kernel cannot answer."""

    def __init__(self, ask, output_limit: int = 200_000):
        self.ask = ask
        self.output_limit = output_limit
        self.assigned: dict = {}  # what earlier test cells assigned
        self.deadline = 0.0
        self.raised: list[str] = []  # exception names the notebook's functions raised (MemoryError counts)

    # -- the kernel, as data ---------------------------------------------------------------------

    def _fetch(self, names: list[str]) -> dict:
        wanted = [n for n in names if n not in self.assigned and not hasattr(builtins, n)]
        if not wanted:
            return {}
        described = json.loads(self.ask(f"{WIRE}.lookup({wanted!r})", self.deadline))
        found = {}
        for name in wanted:
            item = described.get(name) if isinstance(described, dict) else None
            if not isinstance(item, dict):
                continue
            kind, value = item.get("t"), item.get("v")
            if kind == "value":
                try:
                    found[name] = wire.decode(json.dumps(value))
                except wire.WireError as error:
                    found[name] = wire.Unreadable(name, str(error))
            elif kind == "module":
                found[name] = _library(value) or wire.Unreadable(name, f"module {value!s:.80}")
            elif kind == "function":
                found[name] = self._library_function(value) or wire.Remote(name, self._call)
            else:
                found[name] = wire.Unreadable(name, str(value)[:200])
        return found

    @staticmethod
    def _library_function(where):
        """A function the notebook imported from a library (``from math import isclose``): the grader's copy."""
        if not (isinstance(where, list) and len(where) == 2 and all(isinstance(x, str) for x in where)):
            return None
        value = _library(where[0])
        for part in where[1].split("."):
            value = getattr(value, part, None)
        return value if callable(value) else None

    def _call(self, name: str, args: tuple, kwargs: dict):
        try:
            payload = wire.encode([list(args), dict(kwargs)])
        except wire.WireError as error:
            raise TypeError(f"the grader cannot pass {error} to the notebook's {name}") from None
        answer = json.loads(self.ask(f"{WIRE}.call({name!r}, {payload!r})", self.deadline))
        if not isinstance(answer, dict):
            raise wire.WireError("a malformed answer")
        if answer.get("t") == "value":
            return wire.decode(json.dumps(answer.get("v")))
        if answer.get("t") == "raised":
            ename, evalue = str(answer.get("ename"))[:100], str(answer.get("evalue"))[:2000]
            self.raised.append(ename)
            kind = getattr(builtins, ename, None)
            message = f"{evalue}\n\nin the notebook's {name}:\n{str(answer.get('traceback', ''))[-4000:]}"
            same = None
            if isinstance(kind, type) and issubclass(kind, Exception):  # the test may expect it (``except ValueError``)
                with contextlib.suppress(Exception):
                    same = kind(message)
            raise same or AnswerError(f"{ename}: {message}")
        raise TypeError(
            f"{name} returned {str(answer.get('v'))[:200]}: the grader checks answers that are numbers, "
            "text, lists, dicts, tuples, sets, NumPy arrays or pandas objects"
        )

    # -- running a cell --------------------------------------------------------------------------

    def run(self, source: str, deadline: float) -> list:
        """The outputs of test cell ``source``, run in the grader against the kernel's answers by ``deadline``
        (``time.monotonic()``); raises :class:`KernelLost` when the kernel died or stuck."""
        self.deadline = deadline
        streams, outputs = {"stdout": io.StringIO(), "stderr": io.StringIO()}, []
        linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
        namespace: dict = {"__builtins__": builtins, "__name__": "__main__"}
        fetched: dict = {}
        try:
            tree = ast.parse(source, FILENAME)
            fetched = self._fetch(_loaded_names(tree))
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            namespace.update(fetched)
            namespace.update(self.assigned)
            # warnings go to stderr afresh in each run, as in a new kernel (nbgrader scores a cell with stderr 0)
            with (
                contextlib.redirect_stdout(streams["stdout"]),
                contextlib.redirect_stderr(streams["stderr"]),
                warnings.catch_warnings(record=True) as caught,
            ):
                _python_default_filters()
                try:
                    exec(compile(tree, FILENAME, "exec"), namespace)
                    value = eval(compile(ast.Expression(last.value), FILENAME, "eval"), namespace) if last else None
                finally:
                    for w in caught:
                        streams["stderr"].write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
            if value is not None:
                outputs.append(
                    {
                        "output_type": "execute_result",
                        "execution_count": None,
                        "metadata": {},
                        "data": {"text/plain": repr(value)[: self.output_limit]},
                    }
                )
        except KernelLost:
            raise
        except Exception as error:
            outputs.append(self._error(error))
        finally:
            self._keep(namespace, fetched)
        for name in ("stderr", "stdout"):
            if text := streams[name].getvalue():
                outputs.insert(0, {"output_type": "stream", "name": name, "text": text[: self.output_limit]})
        return [from_dict(output) for output in outputs]

    def _keep(self, namespace: dict, fetched: dict) -> None:
        for key, value in namespace.items():
            if key not in ("__builtins__", "__name__") and not (key in fetched and fetched[key] is value):
                self.assigned[key] = value

    @staticmethod
    def _error(error: Exception) -> dict:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == FILENAME]
        ename = type(error).__name__
        if isinstance(error, AnswerError):
            ename, _, evalue = str(error).partition(": ")
        else:
            evalue = str(error)
        lines = ["Traceback (most recent call last)"]
        lines += [f"  test line {frame.lineno}: {frame.line}" for frame in frames]
        lines.append(f"{ename}: {evalue}")
        return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines}
