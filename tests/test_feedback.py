"""Does the students' feedback hide the hidden tests: their code, and tracebacks that quote it? (No kernels.)"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from platformlab_instructor import lessons
from platformlab_instructor.grading.feedback import HIDDEN_NOTE, HideTests, hide_hidden_tests

TEST_CELL = """assert share(1, 2) == 0.5, "share(1, 2) should be a half"
### BEGIN HIDDEN TESTS
assert share(3, 4) == 0.75
assert share(0, 4) == 0
### END HIDDEN TESTS
print("visible again")"""


def test_the_hidden_region_becomes_one_note():
    """Is each hidden region replaced by one comment line, and everything outside it kept as it was?"""
    assert hide_hidden_tests(TEST_CELL).split("\n") == [
        'assert share(1, 2) == 0.5, "share(1, 2) should be a half"',
        HIDDEN_NOTE,
        'print("visible again")',
    ]


def test_every_region_is_hidden():
    """Are two hidden regions in one cell both hidden, with what lies between them kept?"""
    source = (
        "a = 1\n### BEGIN HIDDEN TESTS\nsecret_one()\n### END HIDDEN TESTS\nb = 2\n"
        "    ### BEGIN HIDDEN TESTS\n    secret_two()\n    ### END HIDDEN TESTS"
    )
    hidden = hide_hidden_tests(source)
    assert "secret" not in hidden and "HIDDEN TESTS" not in hidden
    assert hidden.split("\n") == ["a = 1", HIDDEN_NOTE, "b = 2", HIDDEN_NOTE]


def test_an_unterminated_region_hides_to_the_end():
    """Does a region with no END marker hide everything after BEGIN (fail closed, never leak)?"""
    assert hide_hidden_tests("x = 1\n### BEGIN HIDDEN TESTS\nsecret()\nmore_secret()") == f"x = 1\n{HIDDEN_NOTE}"


def test_a_cell_without_hidden_tests_is_unchanged():
    source = 'assert f(2) == 4, "f doubles"\n'
    assert hide_hidden_tests(source) == source


def grade_cell(source: str, outputs=()) -> nbformat.NotebookNode:
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_share",
        "locked": True,
        "points": 2,
        "solution": False,
        "schema_version": 3,
    }
    return cell


def test_a_test_cell_error_keeps_only_its_message():
    """Is a failing test cell's traceback (which quotes the failing hidden line) cut to its one-line message,
    colour codes removed, and its source hidden?"""
    error = new_output(
        "error",
        ename="AssertionError",
        evalue="\x1b[0;31mshare(3, 4) is wrong\x1b[0m",
        traceback=["\x1b[0;31m---------\x1b[0m", "----> 3 assert share(3, 4) == 0.75", "AssertionError"],
    )
    cell, _ = HideTests().preprocess_cell(grade_cell(TEST_CELL, [error]), {}, 0)
    assert cell.outputs[0].traceback == ["AssertionError: share(3, 4) is wrong"]
    assert "0.75" not in cell.source and HIDDEN_NOTE in cell.source


def test_an_error_without_a_message_keeps_its_name():
    error = new_output("error", ename="AssertionError", evalue="", traceback=["----> 4 assert share(0, 4) == 0"])
    cell, _ = HideTests().preprocess_cell(grade_cell(TEST_CELL, [error]), {}, 0)
    assert cell.outputs[0].traceback == ["AssertionError"]


@pytest.mark.parametrize(
    "cell",
    [
        new_code_cell("x = 1  # a student's own cell\n### BEGIN HIDDEN TESTS\nnot a real region\n### END HIDDEN TESTS"),
        new_markdown_cell("### BEGIN HIDDEN TESTS\nquoted in prose\n### END HIDDEN TESTS"),
    ],
    ids=["ungraded code", "markdown"],
)
def test_cells_other_than_tests_are_left_alone(cell):
    """Are a student's own cells and markdown left exactly as they are?"""
    before = nbformat.from_dict(cell)
    after, _ = HideTests().preprocess_cell(cell, {}, 0)
    assert after == before


def hidden_lines(source: str) -> list[str]:
    regions = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, re.S)
    return [line.strip() for region in regions for line in region.splitlines() if line.strip()]


def test_no_hidden_line_of_a_real_lesson_survives(stem):
    """In every test cell of the lesson's source, is every hidden line gone after hiding?"""
    notebook = nbformat.read(lessons.get(stem).solution, as_version=4)
    tests = [c for c in notebook.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert tests, f"{stem} has no hidden tests"
    for cell in tests:
        shown = HideTests().preprocess_cell(nbformat.from_dict(cell), {}, 0)[0].source
        kept = set(shown.splitlines()) - {HIDDEN_NOTE}
        leaked = [line for line in hidden_lines(cell.source) if any(line in k for k in kept) and len(line) > 12]
        assert not leaked, f"{stem}: {cell.metadata['nbgrader']['grade_id']} still shows {leaked[:3]}"


def test_hidden_lines_printed_anywhere_are_removed():
    """Is a hidden-test line a student printed (stdout, repr, HTML, markdown, JSON, an error) removed from every
    output of every cell, the rest of the output kept?"""

    leak = "assert share(3, 4) == 0.75"
    outputs = [
        new_output("stream", name="stdout", text=f"before\n{leak}\n{TEST_CELL!r}\nafter"),
        new_output(
            "display_data",
            data={
                "text/html": f"<pre>{leak.replace('==', '&#61;&#61;')}</pre>",
                "text/plain": f"x\n{leak}",
                "application/json": {"a": leak},
            },
        ),
        new_output("error", ename="ValueError", evalue=leak, traceback=[f"ValueError: {leak}"]),
    ]
    notebook = nbformat.v4.new_notebook(cells=[grade_cell(TEST_CELL), new_code_cell("print(In[-1])", outputs=outputs)])
    HideTests().preprocess(notebook, {})
    shown = nbformat.writes(notebook.cells[1])
    assert "share(3, 4)" not in shown and "0.75" not in shown
    assert "before" in shown and "after" in shown and notebook.cells[1].outputs[1].data["text/plain"] == "x"


def test_student_html_is_sanitised():
    """Does the feedback exporter drop a student's <script> and event handlers, in markdown cells and outputs,
    while keeping headings, tables and images?"""
    from platformlab_instructor.grading.feedback import exporter_class

    attack = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><a href="javascript:go()">l</a>'
    table = '<table class="dataframe"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    notebook = nbformat.v4.new_notebook(
        cells=[
            new_markdown_cell(f"# Title\n\n{attack}"),
            new_code_cell(
                "x",
                outputs=[
                    new_output("display_data", data={"text/html": attack + table}),
                    new_output("display_data", data={"application/javascript": "window.pwned = 3"}),
                ],
            ),
        ]
    )
    page, _ = exporter_class()().from_notebook_node(notebook)
    assert "window.pwned" not in page and "onerror" not in page and "javascript:" not in page
    assert "<th>a</th>" in page and "<h1" in page
