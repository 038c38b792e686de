"""Do test cells run in the grader on answers that cross as plain data (grading/wire.py, grading/testcells.py)?

The kernel's side is a real IPython shell in this process, with the wire's text run in it as
a grading kernel gets it; the end-to-end runs are in test_hostile.py and test_grading.py.
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from platformlab_instructor.grading import wire
from platformlab_instructor.grading.kernels import WIRE_SOURCE, installing
from platformlab_instructor.grading.testcells import TrustedTests

VALUES = [
    1,
    2**80,
    -0.0,
    math.inf,
    True,
    None,
    "text",
    [1, (2, 3)],
    {1: "a", ("t", 2): [1.5]},
    {1, 2},
    1 + 2j,
    np.float64(0.1),
    np.int32(7),
    np.bool_(True),
    np.array([[1, 2], [3, 4]]),
    np.datetime64("2024-01-01"),
    pd.Timestamp("2024-01-02 03:04"),
    pd.Timestamp("2024-01-02", tz="Asia/Shanghai"),
    pd.Timedelta("3 days"),
    pd.Period("2024-03", freq="M"),
    datetime.date(2020, 1, 1),
    datetime.timedelta(days=2),
    pd.Series([1.0, np.nan], index=["a", "b"], name="s"),
    pd.Series(["a", None]),
    pd.Series([1, None], dtype="Int64"),
    pd.Series(pd.to_datetime(["2020-01-01", None])),
    pd.Series(pd.Categorical(["x", "y", "x"], ordered=True)),
    pd.Series(pd.date_range("2020", periods=3, tz="UTC")),
    pd.Series(pd.period_range("2020-01", periods=3, freq="M")),
    pd.Series([1.0], index=pd.MultiIndex.from_tuples([("x", 2020)], names=["k", "y"])),
    pd.Series([], dtype=float),
    pd.DataFrame(
        {"a": [1, 2], "b": ["x", "y"], "c": pd.to_datetime(["2020-01-01", "2020-02-01"])}, index=pd.Index([10, 20], name="k")
    ),
    pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])),
    pd.DataFrame(),
    pd.Index([2020, 2021]),
    pd.RangeIndex(3),
]


def same(a, b) -> bool:
    if isinstance(a, (pd.Series, pd.DataFrame, pd.Index)):
        dtypes = (lambda x: list(x.dtypes)) if isinstance(a, pd.DataFrame) else (lambda x: [x.dtype])
        return (
            type(a) is type(b)
            and a.equals(b)
            and dtypes(a) == dtypes(b)
            and (isinstance(a, pd.Index) or (a.index.equals(b.index) and a.index.dtype == b.index.dtype))
        )
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool((a == b).all())
    if isinstance(a, float) and a == 0:
        return type(b) is float and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_answers_cross_with_type_dtype_and_index_kept(value):
    """Does every kind of answer a lesson gives come back as the same type, dtype, index and value?"""
    assert same(value, wire.decode(wire.encode(value)))


def test_a_clever_object_crosses_as_plain_data():
    """Does a float that says it equals anything arrive as a plain float, equal only to its value?"""

    class Anything(float):
        def __eq__(self, other):
            return True

    answer = wire.decode(wire.encode([Anything(3.0)]))[0]
    assert type(answer) is float and answer == 3.0 and answer != 4.0


@pytest.mark.parametrize(
    "text",
    [
        '{"t": "array", "dtype": "|O", "shape": [1], "b": "gAJ9cQAu"}',  # a pickled object array
        '{"t": "int", "v": "' + "9" * 5000 + '"}',
        "[" * 100_000,
        '{"t": "eval", "v": "1"}',
        '{"t": "array", "dtype": "<i8", "shape": [3], "b": "AA=="}',
        '{"t": "frame", "columns": {"t": "range", "start": 0, "stop": 1000000000, "step": 1},'
        ' "index": {"t": "range", "start": 0, "stop": 1, "step": 1}, "v": []}',
        '"a bare string is fine"',
    ],
)
def test_the_grader_refuses_what_encode_never_writes(text):
    """Are forged answers (pickles, huge integers, deep nesting, unknown kinds, bad shapes) refused, not run?"""
    if text.startswith('"'):
        assert wire.decode(text) == "a bare string is fine"
        return
    with pytest.raises(wire.WireError):
        wire.decode(text)


def test_an_unreadable_value_fails_every_use_saying_why():
    value = wire.Unreadable("answer", "a notebook.Thing")
    for use in (bool, float, len, lambda v: v == 1, lambda v: v < 1, lambda v: v.attribute, lambda v: v + 1):
        with pytest.raises(TypeError, match="cannot read answer"):
            use(value)


@pytest.fixture
def kernel():
    """A real IPython shell with the wire's text run in it, as :class:`.kernels.BoundedExecute` sends it."""
    shell = InteractiveShell.instance()
    shell.ex(installing(wire.NAME, WIRE_SOURCE))
    asked: list[str] = []

    def ask(expression, deadline):
        asked.append(expression)
        return shell.ev(expression)

    shell.asked = asked
    shell.tests = TrustedTests(ask)
    yield shell
    shell.reset(new_session=False)
    InteractiveShell.clear_instance()


def run(kernel, source):
    return kernel.tests.run(source, deadline=float("inf"))


def test_a_passing_test_has_no_output_and_its_code_never_reaches_the_kernel(kernel):
    kernel.run_cell("import numpy as np\ndef area(r):\n    return np.pi * r ** 2\nanswer = area(2.0)")
    source = (
        "assert abs(area(1.0) - np.pi) < 1e-12\n### BEGIN HIDDEN TESTS\n"
        "assert abs(answer - 4 * np.pi) < 1e-12, 'secret message'\n### END HIDDEN TESTS"
    )
    assert run(kernel, source) == []
    assert not any("secret" in expression or "assert" in expression for expression in kernel.asked)


def test_a_failing_test_reports_the_test_line(kernel):
    kernel.run_cell("def double(x):\n    return x + 2")
    [error] = run(kernel, "assert double(3) == 6, 'double(3) is 6'")
    assert (error.ename, error.evalue) == ("AssertionError", "double(3) is 6")
    assert "assert double(3) == 6" in "\n".join(error.traceback)


def test_the_kernel_cannot_change_how_a_test_checks(kernel):
    """Builtins named in the test are the grader's; an object equal to anything is refused."""
    kernel.run_cell(
        "def abs(x):\n    return 0\n"
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def rate():\n    return Anything()\nvalue = 10"
    )
    [error] = run(kernel, "assert abs(value - 1) < 1")
    assert error.ename == "AssertionError"
    [error] = run(kernel, "assert rate() == 0.05")
    assert error.ename == "TypeError" and "grader checks answers" in error.evalue


def test_errors_of_the_notebook_keep_their_kind(kernel):
    kernel.run_cell(
        "def strict(x):\n    raise ValueError('no negatives')\n"
        "class OwnError(Exception):\n    pass\ndef odd():\n    raise OwnError('mine')"
    )
    assert run(kernel, "try:\n    strict(-1)\nexcept ValueError as e:\n    assert 'no negatives' in str(e)") == []
    [error] = run(kernel, "odd()")
    assert error.ename == "OwnError" and "mine" in error.evalue


def test_names_the_tests_assign_persist_and_results_show(kernel):
    kernel.run_cell("import pandas as pd\nframe = pd.DataFrame({'a': [1, 2]})")
    assert run(kernel, "_total = int(frame['a'].sum())") == []
    [result] = run(kernel, "_total * 2")
    assert result.output_type == "execute_result" and result.data["text/plain"] == "6"


def test_the_grader_reads_tables_before_it_has_imported_pandas():
    """Does a worker that has not imported pandas yet (the first test of a notebook may read a table) decode one?"""
    import subprocess
    import sys

    text = wire.encode(pd.DataFrame({"year": [2020, 2021], "name": ["a", "b"]}))
    code = (
        "import sys\nfrom platformlab_instructor.grading import wire\nassert 'pandas' not in sys.modules\n"
        "print(type(wire.decode(sys.stdin.read())).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "DataFrame"


def test_a_warning_in_a_test_reaches_stderr_in_every_run(kernel):
    """Is a warning the test's code raises written to stderr (nbgrader scores such a cell 0) each time, as a
    fresh kernel would show it, not only the first time this grading process sees it?"""
    kernel.run_cell("value = 1")
    for _ in range(2):
        outputs = run(kernel, "import warnings\nwarnings.warn('careful')\nassert value == 1")
        assert [(o.output_type, o.name) for o in outputs] == [("stream", "stderr")] and "careful" in outputs[0].text
