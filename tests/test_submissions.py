"""Which answer fixtures may share a test notebook (``submissions.packed``)? Each case is a small
notebook where one answer can or cannot change what another answer's test sees."""

from __future__ import annotations

import nbformat
import pytest

from platformlab_instructor.answers import Answer

from submissions import Lesson, packed, with_answers


def notebook(tmp_path, cells: dict[str, str]):
    """A solution notebook of code cells, ``grade_id -> source`` in order; returns (path, Lesson)."""
    nb = nbformat.v4.new_notebook()
    for name, source in cells.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": name, "solution": name.startswith("ex_"), "grade": name.startswith("test_")}
        nb.cells.append(cell)
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    return path, Lesson(path)


def wrong(exercise: str, source: str, number: int = 1) -> Answer:
    return Answer("lesson", "wrong", number, f"ex_{exercise}", f"test_{exercise}", "", source)


BASE = {
    "setup": "import numpy as np\nrows = [1, 2, 3]\ncols = [4, 5]",
    "ex_a": "def total(xs):\n    return sum(xs)\na = total(rows)",
    "test_a": "_toy = [1]\nassert total(_toy) == 1\nassert a == 6",
    "use_a": "doubled = 2 * a",
    "ex_b": "def largest(xs):\n    return max(xs)\nb = largest(cols)",
    "test_b": "_toy = [4, 5]\nassert largest(_toy) == 5\nassert b == 5",
}


@pytest.mark.parametrize(
    "later, shares",
    [
        ({}, True),  # b never uses what a changes; the tests' own _toy is rebound before it is read
        ({"ex_b": "def largest(xs):\n    return max(xs)\nb = largest(cols) + 0 * a"}, False),  # b's cell reads a
        ({"test_b": "assert b == 5 and doubled == 12"}, False),  # through a cell in between
        ({"ex_b": "def largest(xs):\n    return max(xs) + 0 * a\nb = largest(cols)"}, False),  # a global a function reads
        ({"ex_b": "def largest(xs):\n    return max(xs)\nb = largest(rows)"}, False),  # b reads rows, which a's cell may change
        ({"use_a": "doubled = 2 * a\ncols.append(0)"}, False),  # a cell that uses a changes cols in place
        ({"use_a": "doubled = 2 * a\nnp.random.seed(int(a))"}, False),  # and shared state
        ({"use_a": "doubled = 2 * a\ncols = [4, 5]"}, False),  # rebinding cols after reading a taints it
        (
            {"use_a": "rows = [1, 2, 3]", "ex_b": "def largest(xs):\n    return max(xs)\nb = largest(rows)"},
            True,
        ),  # rebinding rows without reading a cleans it
    ],
)
def test_answers_share_only_when_neither_reaches_the_other(tmp_path, later, shares):
    """``later``: cells changed after a's; a new ``ex_b`` is b's wrong answer."""
    _, lesson = notebook(tmp_path, {**BASE, **later})
    a = wrong("a", "def total(xs):\n    return len(xs)\na = total(rows)")
    b = wrong("b", later.get("ex_b", "def largest(xs):\n    return min(xs)\nb = largest(cols)"))
    assert lesson.independent(a, b) is shares and lesson.independent(b, a) is shares


@pytest.mark.parametrize(
    "source",
    [
        "import math\ndef total(xs):\n    return math.fsum(xs)\na = total(rows)",  # an import
        "def total(xs):\n    return int(np.random.choice(xs))\na = total(rows)",  # NumPy's global random state
        "np.pi = 3\ndef total(xs):\n    return sum(xs)\na = total(rows)",  # a module's attribute
        "sum = len\ndef total(xs):\n    return sum(xs)\na = total(rows)",  # a builtin rebound
        "def total(xs):\n    global rows\n    rows = []\n    return 0\na = total(rows)",  # a global
        "cols.append(4)\na = sum(rows)",  # the list b reads, changed in place
    ],
)
def test_an_answer_that_changes_shared_state_shares_with_none(tmp_path, source):
    _, lesson = notebook(tmp_path, BASE)
    b = wrong("b", "def largest(xs):\n    return min(xs)\nb = largest(cols)")
    assert not lesson.independent(wrong("a", source), b)


def test_answers_of_one_cell_never_share_and_correct_answers_pack_by_cell(tmp_path):
    path, _ = notebook(tmp_path, BASE)
    a1, a2 = wrong("a", "a = 0", 1), wrong("a", "a = 1", 2)
    b1 = wrong("b", "def largest(xs):\n    return min(xs)\nb = largest(cols)", 3)
    assert packed(path, [a1, a2, b1]) == [[a1, b1], [a2]]
    right = [Answer("lesson", "correct", n, f"ex_{x}", f"test_{x}", "", "pass") for n, x in enumerate("aab", 1)]
    assert packed(path, right) == [[right[0], right[2]], [right[1]]]
    assert packed(path, [a1, right[0], right[2]]) == [[a1, right[2]], [right[0]]]  # a wrong and a correct answer share
    target = with_answers(path, [a1, b1], tmp_path / "packed.ipynb")
    assert [c.source for c in nbformat.read(target, as_version=4).cells][1::3] == ["a = 0", "b = largest(rows)"][:1] + [
        "def largest(xs):\n    return min(xs)\nb = largest(cols)"
    ]


def test_a_correct_answer_never_shares_with_a_wrong_answer_its_test_can_see(tmp_path):
    path, _ = notebook(tmp_path, {**BASE, "test_b": "assert b == 5 and doubled == 12"})
    a = wrong("a", "def total(xs):\n    return len(xs)\na = total(rows)")
    b = Answer("lesson", "correct", 2, "ex_b", "test_b", "", "def largest(xs):\n    return sorted(xs)[-1]\nb = largest(cols)")
    assert packed(path, [a, b]) == [[a], [b]]
