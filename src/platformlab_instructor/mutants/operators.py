"""The mutation operators: mistakes students make, as small edits of solution code.

Each operator is a function ``(node, code) -> edits`` registered in :data:`OPERATORS`
under its name; it looks at one ``ast`` node and proposes text edits of the cell
source (start, end, replacement, description). Edits are made on the source text, not
by re-printing the tree, so a mutant differs from the solution only where it changed
and its diff is one or two lines. Operators do not know about solution markers:
:mod:`.mutant` keeps only the edits that lie inside them.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` with ``text``; ``description`` says what the mistake is."""

    operator: str
    start: int
    end: int
    text: str
    description: str


class Code:
    """A cell's source, parsed: char offsets of nodes, their text, parents and operator tokens."""

    def __init__(self, source: str):
        self.source = source
        self.tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        self._lines = lines
        self._starts = [0]
        for line in lines:
            self._starts.append(self._starts[-1] + len(line))
        self.parent = {child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}
        self._tokens = [
            (self._at(*token.start), self._at(*token.end), token.string)
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type in (tokenize.OP, tokenize.NAME)
        ]

    def _at(self, lineno: int, col: int) -> int:
        return self._starts[lineno - 1] + col

    def _byte_col(self, lineno: int, col: int) -> int:
        line = self._lines[lineno - 1] if lineno <= len(self._lines) else ""
        return self._starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def start(self, node: ast.AST) -> int:
        return self._byte_col(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self._byte_col(node.end_lineno, node.end_col_offset)

    def text(self, node: ast.AST) -> str:
        return self.source[self.start(node) : self.end(node)]

    def outer(self, node: ast.AST) -> tuple[int, int]:
        """The span of ``node`` with the grouping parentheses around it: ``(a - b)``, not ``a - b``."""
        start, end = self.start(node), self.end(node)
        while True:
            before, after = self.source[:start].rstrip(), self.source[end:].lstrip()
            if not (before.endswith("(") and after.startswith(")")):
                return start, end
            start, end = len(before) - 1, len(self.source) - len(after) + 1

    def line(self, offset: int) -> int:
        """The 1-based line number of a char offset."""
        return min(bisect.bisect_right(self._starts, offset), len(self._lines))

    def operator_span(self, before: ast.AST, after: ast.AST) -> tuple[int, int]:
        """The span of the operator tokens between two operands (``+``, ``not in``, ``and``), parentheses left out."""
        low, high = self.end(before), self.start(after)
        inside = [(start, end) for start, end, string in self._tokens if low <= start and end <= high and string not in "()"]
        return inside[0][0], inside[-1][1]

    def fit(self, node: ast.AST, text: str) -> str:
        """``text`` to stand where ``node`` stands, in parentheses unless it binds tightly or the place is free."""
        return text if self._free(node) else _grouped(text)

    def _free(self, node: ast.AST) -> bool:
        parent = self.parent.get(node)
        if isinstance(parent, ast.Call):
            return node in parent.args
        if isinstance(parent, ast.Subscript):
            return node is parent.slice
        if isinstance(parent, (ast.Return, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)):
            return node is parent.value
        return isinstance(parent, (ast.keyword, ast.Slice, ast.List, ast.Set, ast.Dict, ast.If, ast.While))


def _atomic(text: str) -> bool:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (int, float)) or node.value >= 0
    return isinstance(
        node,
        (
            ast.Name,
            ast.Attribute,
            ast.Call,
            ast.Subscript,
            ast.List,
            ast.Dict,
            ast.Set,
            ast.ListComp,
            ast.DictComp,
            ast.SetComp,
            ast.JoinedStr,
        ),
    )


Operator = Callable[[ast.AST, Code], Iterator[tuple[int, int, str, str]]]
#: Name -> operator, in the order their mutants are made (the first name wins a duplicate).
OPERATORS: dict[str, Operator] = {}


def operator(name: str) -> Callable[[Operator], Operator]:
    def register(function: Operator) -> Operator:
        OPERATORS[name] = function
        return function

    return register


def edits(code: Code, names: list[str] | None = None) -> Iterator[Edit]:
    """Every edit every operator (or those in ``names``) proposes for the cell."""
    for name, function in OPERATORS.items():
        if names and name not in names:
            continue
        for node in ast.walk(code.tree):
            for start, end, text, description in function(node, code):
                yield Edit(name, start, end, text, _one_line(description))


def _one_line(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _replace(code: Code, node: ast.AST, text: str, description: str):
    return code.start(node), code.end(node), code.fit(node, text), description


def _method(node: ast.AST, names) -> str | None:
    """The method name if ``node`` is a call ``x.name(...)`` with ``name`` in ``names``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names:
        return node.func.attr
    return None


def _receiver(code: Code, call: ast.Call, description: str):
    """The call replaced by the object it was called on: ``x.dropna()`` -> ``x``."""
    return _replace(code, call, code.text(call.func.value), description)


_MODULES = {"np", "numpy", "pd", "pandas", "math"}


# -- the operators ---------------------------------------------------------------------------------

_ARITHMETIC = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"),
    ast.Pow: ("**", "*"),
}


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) and isinstance(node.value, str)


@operator("arithmetic")
def arithmetic(node, code):
    """An arithmetic operator swapped (``+``/``-``, ``*``/``/``, ``**``/``*``, ``//``/``/``), a sign dropped."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC and not (_is_text(node.left) or _is_text(node.right)):
        old, new = _ARITHMETIC[type(node.op)]
        start, end = code.operator_span(node.left, node.right)
        yield start, end, new, f"`{old}` -> `{new}`"
    elif isinstance(node, ast.AugAssign) and type(node.op) in _ARITHMETIC:
        old, new = _ARITHMETIC[type(node.op)]
        start, end = code.operator_span(node.target, node.value)
        yield start, end, f"{new}=", f"`{old}=` -> `{new}=`"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield _replace(code, node, code.text(node.operand), "sign dropped (`-x` -> `x`)")


_COMPARISON = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
}


@operator("comparison")
def comparison(node, code):
    """A boundary moved (``<``/``<=``, ``>``/``>=``) or a test reversed (``==``/``!=``, ``in``/``not in``)."""
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            old, new = _COMPARISON[type(op)]
            start, end = code.operator_span(operands[index], operands[index + 1])
            yield start, end, new, f"`{old}` -> `{new}`"


_COUNTED = {"range", "arange", "head", "tail", "nlargest", "nsmallest", "rolling", "shift", "diff", "pct_change"}
_LAGS = {"shift", "diff", "pct_change"}


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    return None


def _plus_minus(code: Code, node: ast.AST, what: str):
    text = code.text(node)
    for sign in "+-":
        yield _replace(code, node, f"{text} {sign} 1", f"off by one: {what} `{text}` -> `{text} {sign} 1`")


@operator("off-by-one")
def off_by_one(node, code):
    """Off by one in a range, a slice, ``iloc``, ``len``, a window, a count; a lag's direction reversed.

    Whole-number literals are left to the ``constant`` operator, which moves them by one too.
    """
    name = _called(node)
    if name in _COUNTED:
        arguments = node.args if name in ("range", "arange") else node.args[:1]
        for argument in arguments:
            if not isinstance(argument, (ast.Constant, ast.Starred)):
                yield from _plus_minus(code, argument, f"{name}()")
        if name in _LAGS and isinstance(node.func, ast.Attribute):
            if not node.args and not node.keywords:
                call = code.text(node.func)
                yield _replace(code, node, f"{call}(2)", f"`.{name}()` -> `.{name}(2)`: two periods back")
                yield _replace(code, node, f"{call}(-1)", f"`.{name}()` -> `.{name}(-1)`: lead instead of lag")
            elif node.args:
                period = code.text(node.args[0])
                flipped = period[1:] if period.startswith("-") else f"-{code.fit(node.args[0], period)}"
                yield (
                    code.start(node.args[0]),
                    code.end(node.args[0]),
                    flipped,
                    f"`.{name}({period})` -> `.{name}({flipped})`: direction of the lag reversed",
                )
    elif name == "len":
        yield from _plus_minus(code, node, "count")
    elif isinstance(node, ast.Slice):
        for bound in (node.lower, node.upper):
            if bound is not None and not isinstance(bound, ast.Constant):
                yield from _plus_minus(code, bound, "slice bound")
    elif (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "iloc"
        and not isinstance(node.slice, (ast.Slice, ast.Tuple, ast.Constant))
    ):
        yield from _plus_minus(code, node.slice, "position")


def _number(value: float) -> str:
    return repr(float(f"{value:.12g}")) if isinstance(value, float) else repr(value)


@operator("constant")
def constant(node, code):
    """A number changed: ``n`` -> ``n +- 1``, 100 <-> 1 (percent vs share), a unit factor dropped,
    0 <-> 1 for floats, a float scaled by 100 either way; ``True`` <-> ``False``."""
    if not isinstance(node, ast.Constant):
        return
    value = node.value
    if isinstance(value, bool):
        yield _replace(code, node, repr(not value), f"`{value}` -> `{not value}`")
        return
    if not isinstance(value, (int, float)):
        return
    parent = code.parent.get(node)
    scaling = isinstance(parent, ast.BinOp) and isinstance(parent.op, (ast.Mult, ast.Div))
    if isinstance(value, int):
        changes = {value + 1: "off by one", value - 1: "off by one"}
        if value == 100:
            changes[1] = "share instead of percent"
        if value == 1 and scaling:
            changes[100] = "percent instead of share"
        if value >= 1000 and str(value).rstrip("0") == "1":
            changes[1] = "unit conversion dropped"
    else:
        changes = (
            {1.0: "zero -> one"}
            if value == 0
            else {0.0: "one -> zero"}
            if value == 1
            else {value * 100: "a share written as a percent", value / 100: "a percent read as a share"}
        )
    original = code.text(node)
    for new, why in changes.items():
        text = _number(new)
        yield _replace(code, node, text, f"{why}: `{original}` -> `{text}`")


_MASK_METHODS = {
    "isin",
    "between",
    "notna",
    "isna",
    "notnull",
    "isnull",
    "startswith",
    "endswith",
    "contains",
    "duplicated",
    "any",
    "all",
}


def _is_mask(node: ast.AST) -> bool:
    """Whether an index expression looks like a boolean filter (a comparison, ``&``, ``~``, ``.isin()``...)."""
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
        return True
    return _method(node, _MASK_METHODS) is not None


def _grouped(text: str) -> str:
    """``text`` in parentheses unless it binds tightly on its own."""
    return text if _atomic(text) else f"({text})"


def _negated(code: Code, node: ast.AST, sign: str) -> str:
    return sign + _grouped(code.text(node))


@operator("condition")
def condition(node, code):
    """A filter or condition dropped or negated: a boolean mask, one side of ``&``/``and``,
    an ``if``, a comprehension's ``if``, ``.where``/``.mask``/``.query``, a ``not``."""
    if isinstance(node, ast.Subscript):
        mask = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) and node.slice.elts else node.slice
        if _is_mask(mask):
            if mask is node.slice:
                yield _replace(code, node, code.text(node.value), f"filter dropped: `{code.text(node)}` -> all rows")
            else:
                yield code.start(mask), code.end(mask), ":", "filter dropped: all rows"
            yield code.start(mask), code.end(mask), _negated(code, mask, "~"), "filter negated"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            yield _replace(code, node, code.text(kept), f"condition dropped: `{code.text(dropped)}`")
        old, new = ("&", "|") if isinstance(node.op, ast.BitAnd) else ("|", "&")
        start, end = code.operator_span(node.left, node.right)
        yield start, end, new, f"`{old}` -> `{new}`"
    elif isinstance(node, ast.BoolOp):
        word, other = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        texts = [_grouped(code.text(value)) for value in node.values]
        for index, value in enumerate(node.values):
            rest = [text for position, text in enumerate(texts) if position != index]
            yield _replace(code, node, f" {word} ".join(rest), f"condition dropped: `{code.text(value)}`")
        yield _replace(code, node, f" {other} ".join(texts), f"`{word}` -> `{other}`")
    elif isinstance(node, (ast.If, ast.IfExp, ast.While)):
        test = node.test
        yield code.start(test), code.end(test), _negated(code, test, "not "), "condition negated"
        if not isinstance(node, ast.While):
            yield code.start(test), code.end(test), "True", "condition dropped: always true"
            yield code.start(test), code.end(test), "False", "condition dropped: always false"
    elif isinstance(node, ast.comprehension):
        for test in node.ifs:
            yield code.start(test), code.end(test), "True", f"filter dropped: `if {code.text(test)}`"
            yield code.start(test), code.end(test), _negated(code, test, "not "), "filter negated"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        yield _replace(code, node, code.text(node.operand), "negation dropped")
    elif (name := _method(node, {"where", "mask", "query"})) and _receiver_is_data(node):
        yield _receiver(code, node, f"`.{name}(...)` removed")


def _receiver_is_data(call: ast.Call) -> bool:
    value = call.func.value
    return not (isinstance(value, ast.Name) and value.id in _MODULES)


_NONCOMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Pow, ast.Mod)


@operator("swap")
def swap(node, code):
    """Arguments swapped (``f(a, b)`` -> ``f(b, a)``), operands of ``-``, ``/``, ``**`` swapped."""
    if isinstance(node, ast.Call) and not any(isinstance(arg, ast.Starred) for arg in node.args):
        for first, second in zip(node.args, node.args[1:]):
            a, b = code.text(first), code.text(second)
            if a != b:
                gap = code.source[code.end(first) : code.start(second)]
                yield code.start(first), code.end(second), f"{b}{gap}{a}", f"arguments swapped: `{a}` and `{b}`"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _NONCOMMUTATIVE) and not _is_text(node.left):
        (start, left_end), (right_start, end) = code.outer(node.left), code.outer(node.right)
        a, b = code.text(node.left), code.text(node.right)
        if a != b:
            gap = code.source[left_end:right_start]
            yield start, end, f"{_grouped(b)}{gap}{_grouped(a)}", f"operands swapped: `{a}` and `{b}`"


@operator("sort")
def sort(node, code):
    """``sort_values``/``sort_index``/``sorted`` removed, or the order reversed."""
    name = _method(node, {"sort_values", "sort_index"})
    if name:
        yield _receiver(code, node, f"`.{name}(...)` removed")
        if not any(keyword.arg == "ascending" for keyword in node.keywords):
            end = code.end(node) - 1
            comma = ", " if node.args or node.keywords else ""
            yield end, end, f"{comma}ascending=False", f"`.{name}(...)` sorts in descending order"
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "sorted" and len(node.args) == 1:
        yield _replace(code, node, code.text(node.args[0]), "`sorted(...)` removed")


_STATISTICS = {
    "mean": ("median", "sum"),
    "median": ("mean",),
    "sum": ("mean",),
    "max": ("min",),
    "min": ("max",),
    "idxmax": ("idxmin",),
    "idxmin": ("idxmax",),
    "nunique": ("count",),
    "count": ("nunique",),
}


@operator("statistic")
def statistic(node, code):
    """A statistic swapped: ``mean``/``median``/``sum``, ``max``/``min``, ``nunique``/``count``, as a method,
    a numpy function or a name given to ``agg``/``transform``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _STATISTICS:
        old = node.func.attr
        end = code.end(node.func)
        for new in _STATISTICS[old]:
            yield end - len(old), end, new, f"`{old}` -> `{new}`"
    elif isinstance(node, ast.Call):
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            if isinstance(argument, ast.Constant) and argument.value in _STATISTICS:
                for new in _STATISTICS[argument.value]:
                    yield _replace(code, argument, repr(new), f"`{argument.value!r}` -> `{new!r}`")


@operator("dropna")
def dropna(node, code):
    """Missing values or duplicates not handled: ``.dropna()``, ``.fillna()``, ``.drop_duplicates()``, ``.unique()`` removed."""
    name = _method(node, {"dropna", "fillna", "drop_duplicates", "unique"})
    if name and _receiver_is_data(node):
        yield _receiver(code, node, f"`.{name}(...)` removed")


_AXES = {0: 1, 1: 0, "index": "columns", "columns": "index", "rows": "columns"}


@operator("axis")
def axis(node, code):
    """The wrong axis: ``axis=0`` <-> ``axis=1``, ``"index"`` <-> ``"columns"``."""
    if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant):
        if node.value.value in _AXES and not isinstance(node.value.value, bool):
            new = repr(_AXES[node.value.value])
            yield _replace(code, node.value, new, f"`axis={node.value.value!r}` -> `axis={new}`")


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _assigned(body: list[ast.stmt]) -> list[tuple[ast.AST, str]]:
    """(node, name) for every name a function body binds, outside nested scopes (functions, comprehensions)."""
    found, stack = [], list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append((node, node.id))
        stack.extend(ast.iter_child_nodes(node))
    return found


def _returns(body: list[ast.stmt]) -> list[ast.Return]:
    found, stack = [], list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


@operator("return-intermediate")
def return_intermediate(node, code):
    """A function returns an intermediate result: a name it assigned before the ``return``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        bound = _assigned(node.body)
        for returned in _returns(node.body):
            names = {
                name: None
                for target, name in sorted(bound, key=lambda pair: code.start(pair[0]))
                if code.end(target) <= code.start(returned) and name != code.text(returned.value)
            }
            for name in names:
                yield _replace(code, returned.value, name, f"returns the intermediate `{name}`")


#: The order in which mutants are made: where two operators make the same mutant, the first names it.
ORDER = (
    "return-intermediate",
    "sort",
    "statistic",
    "dropna",
    "axis",
    "condition",
    "swap",
    "off-by-one",
    "comparison",
    "arithmetic",
    "constant",
)
OPERATORS = {name: OPERATORS[name] for name in ORDER}
