"""Does `platformlab grade` hold against a hostile class (issue 11, part A: the grading protocol and the data)?

One real run of the command on a zip of payloads built from lesson 01: each is the
untouched student version (honest score 0) or the solution (honest score: full) with a few
lines in its first unlocked cell. Each attacker scores at most its honest score or is flagged;
no feedback page shows a hidden-test line or runs a student's script; bad files become rows;
the honest corpus (solution, untouched, wrong answers) gets no flag.
"""

from __future__ import annotations

import copy
import re
import textwrap

import nbformat
import pytest

from test_grade import hidden_lines, visible_text

from grading import classroom as cr
from grading.classroom import read_csv, run_grade
from submissions import wrong_answers

pytestmark = pytest.mark.grading

#: payload -> (code in the first unlocked cell of the untouched notebook, must it be flagged)
CHEATS = {
    # a custom exception handler swallows the failing assert; a post_run_cell hook clears the error
    "custom_exc": (
        "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *a, **k: None)\n"
        "ip.events.register('post_run_cell', lambda result: setattr(result, 'error_in_exec', None))",
        True,
    ),
    "input_transformer": (
        "get_ipython().input_transformers_post.append(\n"
        "    lambda lines: [] if any('assert' in line for line in lines) else lines)",
        True,
    ),
    "ast_transformer": (
        "import ast\nclass Shield(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n"
        "        return ast.Try(body=[node], handlers=[ast.ExceptHandler(body=[ast.Pass()])], orelse=[], finalbody=[])\n"
        "get_ipython().ast_transformers.append(Shield())",
        True,
    ),
    # nbgrader reads a test cell's first execute_result as its score
    "result_hook": ("get_ipython().events.register('pre_run_cell', lambda info: get_ipython().displayhook(10**6))", True),
    "equal_to_all": (
        "import numpy as np\nclass Anything(float):\n"
        "    def __eq__(self, other): return True\n"
        "    def __lt__(self, other): return True\n"
        "    def __sub__(self, other): return Anything()\n    __rsub__ = __sub__\n"
        "    def __abs__(self): return Anything()\n    __hash__ = float.__hash__\n"
        "np.allclose = lambda *a, **k: True\n"
        "def take_rate(*a): return Anything()\ndef cagr(*a): return Anything()\n"
        "def hhi(*a): return Anything()\ndef per_minute(*a): return Anything()",
        True,
    ),
    "shadow_abs": ("def abs(x):\n    return 0", True),
    "builtins_abs": ("import builtins\nbuiltins.abs = lambda x: 0", True),
    # written by someone who read guard.py: its check made to find nothing, and the exception handler kept
    "guard_silenced": (
        "import json, sys\nip = get_ipython()\nip.set_custom_exc((Exception,), lambda *a, **k: None)\n"
        "def _silence():\n    guard = sys.modules.get('_platformlab_guard')\n"
        "    if guard:\n        guard.check = lambda nonce, names: json.dumps({'nonce': nonce, 'found': []})\n"
        "_silence()\nip.events.register('pre_execute', _silence)",
        False,
    ),
    # a thread that puts the handler back as fast as anything removes it
    "rehooking_thread": (
        "import threading, time\nip = get_ipython()\n"
        "def _again():\n    while True:\n        ip.custom_exceptions = (Exception,)\n"
        "        ip.CustomTB = lambda *a, **k: None\n        time.sleep(0.001)\n"
        "threading.Thread(target=_again, daemon=True).start()",
        True,
    ),
    # the kernel's side of the answers' wire rewritten: answers of types the grader must refuse, or crafted to crash it
    "forged_wire": (
        "import json, sys\nwire = sys.modules['_platformlab_wire']\n"
        "_bad = [{'t': 'array', 'dtype': '|O', 'shape': [1], 'b': 'gAJ9cQAu'}, {'t': 'int', 'v': '9' * 100000},\n"
        "        {'t': 'frame', 'columns': {'t': 'range', 'start': 0, 'stop': 10**9, 'step': 1}, 'index': {'t': 'range',\n"
        "         'start': 0, 'stop': 1, 'step': 1}, 'v': []}, {'t': 'eval', 'v': '__import__(\"os\").system(\"id\")'}]\n"
        "_n = [0]\ndef _next():\n    _n[0] += 1\n    return _bad[_n[0] % len(_bad)]\n"
        "wire.call = lambda name, payload: json.dumps({'t': 'value', 'v': _next()})\n"
        "wire.lookup = lambda names: json.dumps({n: {'t': 'value', 'v': _next()} for n in names})",
        False,
    ),
}
#: status spoofs: cells added to the solution (honest: graded, full marks)
SPOOFS = [
    "class KernelDied(Exception):\n    pass\nraise KernelDied('the kernel stopped while running this cell')",
    "class CellTimeoutError(Exception):\n    pass\nraise CellTimeoutError('No reply from kernel before timeout')",
    "print('... output truncated by the grader after 200,000 characters ...')",
    "raise MemoryError('pretend')",
]
#: a solution whose answer prints the running test cell (hidden tests included) every way it can
LEAK = """import inspect
from IPython.display import HTML, Markdown, display
def _leak():
    source = get_ipython().user_ns['In'][-1]
    print(source)
    print(repr(source))
    display(HTML('<pre>' + source + '</pre>'), Markdown(source))
    return source
_take_rate = take_rate
def take_rate(*args):
    _leak()
    return _take_rate(*args)
def cagr(*args):
    raise ValueError(_leak())
"""
SCRIPT = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
#: answers that misbehave only when a test calls them: (answer cell, code after it, status, the test that loses its points)
CALLED = {
    "slow": ("ex_cagr", "def cagr(*args):\n" + textwrap.indent(cr.SLEEPING_LOOP, "    "), "timeout", "test_cagr"),
    "deaf": ("ex_cagr", "def cagr(*args):\n" + textwrap.indent(cr.DEAF_LOOP, "    "), "timeout", "test_cagr"),
    "crash": ("ex_take_rate", "def take_rate(*args):\n    import os\n    os._exit(1)", "crashed", "test_take_rate"),
}


def with_code(notebook, code: str) -> nbformat.NotebookNode:
    """``notebook`` with ``code`` put first in its first unlocked (solution) cell."""
    notebook = copy.deepcopy(notebook)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and cr.meta(c).get("solution"))
    cell.source = code + "\n" + cell.source
    return notebook


def tagged_skip(lesson) -> nbformat.NotebookNode:
    """The untouched notebook with every test cell tagged ``skip-execution`` (no code at all)."""
    notebook = copy.deepcopy(lesson.student)
    for cell in notebook.cells:
        if cr.meta(cell).get("grade") and cell.cell_type == "code":
            cell.metadata["tags"] = ["skip-execution"]
    return notebook


def answer_with(lesson, cell_id: str, code: str) -> nbformat.NotebookNode:
    """The solution with ``code`` added to the end of answer cell ``cell_id``."""
    notebook = copy.deepcopy(lesson.solution)
    for cell in notebook.cells:
        if cr.grade_id(cell) == cell_id:
            cell.source += "\n" + code
    return notebook


def leaking(lesson) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(lesson.solution)
    for cell in notebook.cells:  # after the answer cells, so the wrappers wrap the real answers
        if cr.grade_id(cell) == "ex_cagr":
            cell.source += "\n" + LEAK
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(f"# Hello\n{SCRIPT}"))
    return cr._after_setup(notebook, cr.student_cell(f"from IPython.display import HTML\nHTML({SCRIPT!r})"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    lesson = next(lesson for lesson in cr.available() if lesson.stem.startswith("01"))
    members = [
        (cr.canvas_name(f"cheat-{name.replace('_', '-')}", 300 + n, lesson.stem), cr.dumps(with_code(lesson.student, code)))
        for n, (name, (code, _)) in enumerate(CHEATS.items())
    ]
    spoofed = lesson.solution
    for code in reversed(SPOOFS):
        spoofed = cr._after_setup(spoofed, cr.student_cell(code))
    members += [
        (cr.canvas_name("skiptags", 350, lesson.stem), cr.dumps(tagged_skip(lesson))),
        (cr.canvas_name("spoof", 351, lesson.stem), cr.dumps(spoofed)),
        (cr.canvas_name("leak", 352, lesson.stem), cr.dumps(leaking(lesson))),
        *[
            (cr.canvas_name(f"called-{name}", 360 + n, lesson.stem), cr.dumps(answer_with(lesson, cell_id, code)))
            for n, (name, (cell_id, code, _, _)) in enumerate(CALLED.items())
        ],
        (cr.canvas_name("nested", 353, lesson.stem), b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        (cr.canvas_name("bigint", 354, lesson.stem), b'{"cells": [], "n": ' + b"9" * 5000 + b"}"),
        (cr.canvas_name("nameless", 355, "homework"), b"[" * 100_000),
        (cr.canvas_name("honest-solution", 400, lesson.stem), cr.dumps(lesson.solution)),
        (cr.canvas_name("honest-untouched", 401, lesson.stem), cr.dumps(lesson.student)),
    ]
    for n, answer in enumerate(wrong_answers(lesson.stem)[:1]):  # (test_grading.py checks every fixture's flags)
        notebook = copy.deepcopy(lesson.solution)
        for cell in notebook.cells:
            if cr.grade_id(cell) == answer.cell:
                cell.source = answer.source
        members.append((cr.canvas_name(f"honest-wrong{n}", 410 + n, lesson.stem), cr.dumps(notebook)))
    root = tmp_path_factory.mktemp("hostile")
    out = root / "out"
    result = run_grade(cr.write_zip(root / "class.zip", members), "--out", out, "--jobs", 2, "--timeout", 10)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"out": out, "lesson": lesson, "rows": {r["student_id"]: r for r in read_csv(out / "grades.csv")}}


@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_gains_nothing(hostile, name):
    """Does each trick in an unlocked cell of a blank notebook score 0, its honest score (the tests run in the
    grader, not in the kernel the trick changed), graded as usual, and flagged where the grader's check sees it?"""
    row = hostile["rows"][f"cheat-{name.replace('_', '-')}"]
    assert (row["status"], float(row["score"])) == ("graded", 0), row
    assert bool(row["flags"]) == CHEATS[name][1], row["flags"]
    review = {r["student_id"] for r in read_csv(hostile["out"] / "review.csv")}
    assert (row["student_id"] in review) == bool(row["flags"])


def test_forged_answers_are_refused_with_a_reason(hostile):
    """Does a rewritten wire (object arrays, a 100,000-digit integer, a table of 10⁹ columns, unknown kinds) fail
    the tests with the grader's own refusal in the feedback, not crash or slow the grader?"""
    lesson = hostile["lesson"]
    autograded = hostile["out"] / "course" / "autograded" / "cheat-forged-wire" / lesson.stem / f"{lesson.stem}.ipynb"
    errors = [
        o
        for cell in nbformat.read(autograded, as_version=4).cells
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors and all("grader" in o["evalue"] for o in errors if o["ename"] in ("TypeError", "WireError")), errors[:2]


def test_skip_execution_tags_are_removed(hostile):
    """Does tagging every test cell skip-execution (no code) still score 0, the tags removed?"""
    row = hostile["rows"]["skiptags"]
    assert (row["status"], float(row["score"])) == ("graded", 0)
    assert "execution tags removed" in row["message"]


@pytest.mark.parametrize("name", list(CALLED))
def test_an_answer_that_hangs_or_crashes_when_a_test_calls_it_loses_only_that_test(hostile, name):
    """Does a solution whose function loops (interruptible or deaf) or ends Python when a test calls it get the
    grader's status and lose that test's points only (a new kernel runs the rest, which still scores)?"""
    _, _, status, test = CALLED[name]
    row, lesson = hostile["rows"][f"called-{name}"], hostile["lesson"]
    assert row["status"] == status, row
    assert float(row["score"]) == lesson.auto_points - lesson.points(test), row


def test_statuses_are_not_spoofed(hostile):
    """Do exceptions named KernelDied / CellTimeoutError and a printed truncation notice leave a solution graded,
    with full marks? (A raised MemoryError is the kernel's report: it may say memory, never more.)"""
    row = hostile["rows"]["spoof"]
    assert row["status"] in ("graded", "memory") and float(row["score"]) == hostile["lesson"].auto_points, row
    assert "died" not in row["message"] and "time limit" not in row["message"] and "truncated" not in row["message"]


def test_feedback_shows_no_hidden_test_and_runs_no_student_script(hostile):
    """Does a solution that prints the running cell (stdout, repr, HTML, markdown, an error) when a test calls it
    see no hidden line at all (the test's code never reaches the kernel), and is its <script> (markdown cell and
    HTML output) not in the feedback page?"""
    out, lesson = hostile["out"], hostile["lesson"]
    autograded = nbformat.read(out / "course" / "autograded" / "leak" / lesson.stem / f"{lesson.stem}.ipynb", as_version=4)
    outputs = nbformat.writes(
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(outputs=cell.outputs) for cell in autograded.cells if cell.cell_type == "code"]
        )
    )
    hidden = hidden_lines(lesson.solution)
    assert "ValueError" in outputs, "the payload should have run when the test called cagr"
    assert not [line for line in hidden if line in outputs]
    page = out / "feedback" / "leak" / f"{lesson.stem}.html"
    text, raw = visible_text(page), page.read_text(encoding="utf-8")
    leaked = [line for line in hidden if line in text or line in raw]
    assert not leaked, leaked[:3]
    assert not re.search(r"<script[^>]*>\s*window\.pwned", raw) and not re.search(r"<img[^>]*onerror", raw)


def test_bad_files_are_rows_or_skipped(hostile):
    """Are 100,000 nested arrays and a 5,000-digit integer rows with status invalid, and one with no lesson skipped?"""
    rows = hostile["rows"]
    for student in ("nested", "bigint"):
        assert (rows[student]["status"], rows[student]["score"]) == ("invalid", "0"), rows[student]
        assert "malformed JSON" in rows[student]["message"]
    skipped = {r["student_id"]: r["reason"] for r in read_csv(hostile["out"] / "skipped.csv")}
    assert "invalid" in skipped["nameless"]


def test_honest_notebooks_are_never_flagged(hostile):
    """Graded in the same run as the cheats, do the solution, the untouched notebook and a wrong answer get
    their usual score and no flag? (Alone, every lesson's honest submissions: test_grading.py.)"""
    rows, lesson = hostile["rows"], hostile["lesson"]
    honest = {student: row for student, row in rows.items() if student.startswith("honest")}
    assert len(honest) >= 3
    assert not {student: row["flags"] for student, row in honest.items() if row["flags"]}
    assert float(honest["honest-solution"]["score"]) == lesson.auto_points
    assert float(honest["honest-untouched"]["score"]) == 0
    assert all(row["status"] == "graded" for row in honest.values())
    assert not re.search(r"honest", (hostile["out"] / "review.csv").read_text(encoding="utf-8"))


#: unboxed, a kernel can find its grading process (an ancestor) and kill it
KILL_WORKER = """import os, signal
_pid = os.getpid()
while _pid > 1:
    with open(f"/proc/{_pid}/stat") as _f:
        _parent = int(_f.read().rsplit(")", 1)[1].split()[1])
    with open(f"/proc/{_parent}/cmdline", "rb") as _f:
        if b"multiprocessing" in _f.read():
            os.kill(_parent, signal.SIGKILL)
            break
    _pid = _parent
"""


def test_a_killed_grading_process_charges_only_the_killer(tiny_course, tmp_path):
    """Without boxes, a notebook that kills the process grading it: is it alone reported (``error``, after a
    second try on its own), while the classmates graded beside it keep their honest scores? (A tiny lesson:
    what is tested is the pool's handling of a dead worker.)"""
    lesson = cr.available(tiny_course)[0]
    members = [
        (cr.canvas_name("killer", 500, lesson.stem), cr.dumps(with_code(lesson.student, KILL_WORKER))),
        (cr.canvas_name("classmate-solution", 501, lesson.stem), cr.dumps(lesson.solution)),
        (cr.canvas_name("classmate-untouched", 502, lesson.stem), cr.dumps(lesson.student)),
    ]
    out = tmp_path / "out"
    archive = cr.write_zip(tmp_path / "class.zip", members)
    result = run_grade(archive, "--out", out, "--jobs", 2, "--isolation", "none", root=tiny_course)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {r["student_id"]: r for r in read_csv(out / "grades.csv")}
    assert (rows["killer"]["status"], rows["killer"]["message"]) == (
        "error",
        "the grading process crashed twice while grading this submission",
    ), rows["killer"]
    assert (rows["classmate-solution"]["status"], float(rows["classmate-solution"]["score"])) == ("graded", lesson.auto_points)
    assert (rows["classmate-untouched"]["status"], float(rows["classmate-untouched"]["score"])) == ("graded", 0)
