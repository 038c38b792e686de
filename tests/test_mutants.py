"""Mutation analysis (``platformlab mutants``): operators, the fork runner, equivalents, and the bar.

Operators are checked on small code; the runner on a tiny nbgrader notebook built in
``tmp_path`` (real IPython, real forks, no mocks); the last test holds every exercise of
the real lessons to the bar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from platformlab_instructor.mutants import analyse
from platformlab_instructor.mutants.equivalents import FormatError
from platformlab_instructor.mutants.exercises import Cell, Exercise, Lesson, executable, read, solution_lines
from platformlab_instructor.mutants.mutant import Mutant, make, normalize
from platformlab_instructor.mutants.report import judge
from platformlab_instructor.mutants.runner import Limits, run

from grading import classroom as cr

ROOT = Path(__file__).resolve().parents[1]
BAR = 90.0


# -- operators -------------------------------------------------------------------------------------


def solution(body: str, before: str = "", after: str = "") -> str:
    """A solution cell: ``body`` between the markers, ``before``/``after`` outside them."""
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"def f(a, b, x, s, df, n, xs):\n{before}    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION\n{after}"


def mutants_of(source: str) -> list[Mutant]:
    exercise = Exercise("00-toy", "test_f", (0,), 1)
    cells = (Cell(0, "ex_f", source), Cell(1, "test_f", "assert True\n"))
    return make(Lesson("00-toy", Path("00-toy.ipynb"), cells, (exercise,)), exercise)


def mutated(body: str, operator: str) -> set[str]:
    """The changed lines of every mutant ``operator`` makes of ``body``, normalised."""
    return {normalize(m.mutated) for m in mutants_of(solution(body)) if m.operator == operator}


CASES = [
    ("arithmetic", "return a + b", "return a - b"),
    ("arithmetic", "return a / b", "return a * b"),
    ("arithmetic", "x *= 2", "x /= 2"),
    ("arithmetic", "return -a", "return a"),
    ("comparison", "return a < b", "return a <= b"),
    ("comparison", "return a >= b", "return a > b"),
    ("comparison", "return a == b", "return a != b"),
    ("comparison", "return a in b", "return a not in b"),
    ("off-by-one", "return list(range(n))", "return list(range(n + 1))"),
    ("off-by-one", "return list(range(n))", "return list(range(n - 1))"),
    ("off-by-one", "return s[n:]", "return s[n + 1:]"),
    ("off-by-one", "return s.shift(1)", "return s.shift(-1)"),
    ("off-by-one", "return s.diff()", "return s.diff(2)"),
    ("off-by-one", "return df.iloc[n]", "return df.iloc[n - 1]"),
    ("off-by-one", "return a / len(xs)", "return a / (len(xs) - 1)"),
    ("constant", "return 100 * a", "return 1 * a"),
    ("constant", "return a * 1", "return a * 100"),
    ("constant", "return a * 1_000", "return a * 1"),
    ("constant", "return 2019 - 2015", "return 2019 - 2014"),
    ("constant", "return a[1]", "return a[0]"),
    ("constant", "return a * 0.1", "return a * 10.0"),
    ("constant", "return s.reset_index(drop=True)", "return s.reset_index(drop=False)"),
    ("condition", "return df[df['a'] > 0]", "return df"),
    ("condition", "return df[df['a'] > 0]", "return df[~(df['a'] > 0)]"),
    ("condition", "return df.loc[df['a'].isin(xs), 'b']", "return df.loc[:, 'b']"),
    ("condition", "return df[(df['a'] > 0) & (df['b'] < 1)]", "return df[df['b'] < 1]"),
    ("condition", "return df[(df['a'] > 0) & (df['b'] < 1)]", "return df[(df['a'] > 0) | (df['b'] < 1)]"),
    ("condition", "return a and b", "return b"),
    ("condition", "if a > b:\n    return a\nreturn b", "if not (a > b):"),
    ("condition", "if a > b:\n    return a\nreturn b", "if True:"),
    ("condition", "return [v for v in xs if v > 0]", "return [v for v in xs if True]"),
    ("condition", "return df.query('a > 0')", "return df"),
    ("condition", "return s.where(s > 0)", "return s"),
    ("swap", "return max(a, b)", "return max(b, a)"),
    ("swap", "return (a - b) / b", "return b / (a - b)"),
    ("sort", "return df.sort_values('a')", "return df"),
    ("sort", "return df.sort_values('a')", "return df.sort_values('a', ascending=False)"),
    ("sort", "return df.sort_index()", "return df"),
    ("statistic", "return s.mean()", "return s.median()"),
    ("statistic", "return s.mean()", "return s.sum()"),
    ("statistic", "return s.median()", "return s.mean()"),
    ("statistic", "return s.max()", "return s.min()"),
    ("statistic", "return df.groupby('a')['b'].transform('mean')", "return df.groupby('a')['b'].transform('median')"),
    ("dropna", "return s.dropna()", "return s"),
    ("dropna", "return s.fillna(0)", "return s"),
    ("axis", "return df.sum(axis=1)", "return df.sum(axis=0)"),
    ("axis", "return df.div(s, axis='index')", "return df.div(s, axis='columns')"),
    ("return-intermediate", "y = a + 1\nz = y * 2\nreturn z + 1", "return y"),
    ("return-intermediate", "y = a + 1\nz = y * 2\nreturn z + 1", "return z"),
]


@pytest.mark.parametrize("operator, body, expected", CASES)
def test_operator_makes_the_mutant_it_claims(operator, body, expected):
    """Does each operator make the student mistake it models, and no syntax error?"""
    found = mutated(body, operator)
    assert any(expected in text.splitlines() or expected == text for text in found), (
        f"{operator} on {body!r}: expected {expected!r} among {sorted(found)}"
    )


def test_every_operator_is_exercised_above():
    """Is every registered operator covered by the table above?"""
    from platformlab_instructor.mutants.operators import ORDER

    assert {operator for operator, _, _ in CASES} == set(ORDER)


def test_code_outside_the_solution_markers_is_never_mutated():
    """Do mutants change only lines between ### BEGIN SOLUTION and ### END SOLUTION?"""
    source = solution("c = a * b\nreturn c - 1", before="    d = a + b - 1\n", after="\noutside = f(1, 2) - 1 < 3\n")
    region = solution_lines(source)
    lines = source.splitlines()
    mutants = mutants_of(source)
    assert mutants
    for mutant in mutants:
        changed = mutant.source.splitlines()
        assert len(changed) == len(lines), mutant.diff
        assert all(old == new for number, (old, new) in enumerate(zip(lines, changed), start=1) if number not in region), (
            mutant.diff
        )


def test_mutant_ids_survive_edits_elsewhere():
    """Does a mutant keep its id (and its key) when lines are added above it?"""
    body = "y = a * 100\nreturn y - b"
    first = {m.key: m.id for m in mutants_of(solution(body))}
    moved = {m.key: m.id for m in mutants_of(solution(body, before="    '''A docstring.'''\n    # and a comment\n"))}
    assert first == moved


def test_duplicate_mutants_are_made_once():
    """Is a mutation that gives the same code as another (or as the solution) dropped?"""
    mutants = mutants_of(solution("return df.sum(axis=1)"))
    assert len({m.source for m in mutants}) == len(mutants)
    assert [m.operator for m in mutants if "axis=0" in m.mutated] == ["axis"]


def test_marker_lines_are_stripped_from_what_runs():
    """Are nbgrader's delimiter lines, and only they, removed from the code that runs?"""
    assert executable("a = 1\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS\n") == "a = 1\nassert a\n"


# -- a tiny nbgrader course, run for real ----------------------------------------------------------


def _cell(source: str, grade_id: str, *, solution: bool = False, grade: bool = False):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n") + "\n")
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "solution": solution,
        "grade": grade,
        "locked": grade,
        "schema_version": 3,
        "task": False,
        **({"points": 1} if grade else {}),
    }
    return cell


TOY = [
    _cell("import math", "setup"),
    _cell(
        """
        def double(x):
            ### BEGIN SOLUTION
            return 2 * x
            ### END SOLUTION
        """,
        "ex_weak",
        solution=True,
    ),
    _cell(
        """
        assert double(0) == 0
        ### BEGIN HIDDEN TESTS
        assert isinstance(double(1), int)
        ### END HIDDEN TESTS
        """,
        "test_weak",
        grade=True,
    ),
    _cell(
        """
        def spread(xs):
            ### BEGIN SOLUTION
            ordered = sorted(xs)
            return ordered[-1] - ordered[0]
            ### END SOLUTION
        """,
        "ex_strong",
        solution=True,
    ),
    _cell(
        """
        assert spread([3, 1, 2]) == 2
        ### BEGIN HIDDEN TESTS
        assert spread([5]) == 0 and spread([4, -6, 0, 1]) == 10
        ### END HIDDEN TESTS
        """,
        "test_strong",
        grade=True,
    ),
    _cell(
        """
        def count_up(n):
            # counts from 0 up to n >= 0, one step at a time
            ### BEGIN SOLUTION
            i = 0
            while i < n:
                i += 1
            return i
            ### END SOLUTION
        """,
        "ex_loop",
        solution=True,
    ),
    _cell("assert count_up(3) == 3 and count_up(0) == 0", "test_loop", grade=True),
]

#: One true equivalent (for n >= 0 a count from -1 still ends at n) and three stale entries.
EQUIVALENTS = """\
- exercise: test_loop
  operator: constant
  original: i = 0
  mutated: i = -1
  why: for n >= 0 starting one lower adds a pass of the loop; count_up still returns n
- exercise: test_loop
  operator: comparison
  original: "while i < n:"
  mutated: "while i <= n:"
  why: a stale entry -- the test kills this mutant
- exercise: test_strong
  operator: arithmetic
  original: return ordered[-1] - ordered[0]
  mutated: return ordered[-1] ** ordered[0]
  why: a stale entry -- no operator makes this mutant
- exercise: test_gone
  operator: constant
  original: x = 1
  mutated: x = 2
  why: a stale entry -- the exercise no longer exists
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy-course")
    (root / "solutions").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=TOY), root / "solutions" / "01-toy.ipynb")
    (root / "tests" / "answers").mkdir(parents=True)
    (root / "tests" / "answers" / "01-toy.equivalent.yaml").write_text(EQUIVALENTS)
    return root


@pytest.fixture(scope="module")
def toy_analysis(toy):
    return analyse(toy, jobs=2, limits=Limits(timeout=3, memory_mib=256))


def _result(analysis, exercise):
    return next(result for result in analysis.results if result.exercise == exercise)


def test_exercises_are_found_from_nbgrader_metadata(toy):
    """Is each test cell paired with the solution cells since the previous test cell?"""
    lesson = read(toy / "solutions" / "01-toy.ipynb")
    assert [(e.grade_id, [lesson.cells[i].grade_id for i in e.solutions]) for e in lesson.exercises] == [
        ("test_weak", ["ex_weak"]),
        ("test_strong", ["ex_strong"]),
        ("test_loop", ["ex_loop"]),
    ]


def test_a_weak_test_lets_a_mutant_survive(toy_analysis):
    """Does a test that checks only double(0) let a wrong factor through, shown as a diff?"""
    weak = _result(toy_analysis, "test_weak")
    assert (weak.made, weak.killed, weak.survived) == (3, 1, 2) and weak.score < BAR
    assert {survivor["mutated"] for survivor in weak.survivors} == {"return 3 * x", "return 1 * x"}
    assert all("-    return 2 * x\n" in survivor["diff"] for survivor in weak.survivors)
    [killed] = [mutant for mutant in weak.mutants if mutant["status"] == "killed"]
    assert killed["reason"] == "test failed: ZeroDivisionError: division by zero"


def test_a_strong_test_kills_every_mutant(toy_analysis):
    """Do tests with other inputs kill every mutant of the spread of a list?"""
    strong = _result(toy_analysis, "test_strong")
    assert strong.made >= 5 and strong.survived == 0 and strong.killed == strong.made and strong.score == 100.0
    reasons = {mutant["reason"] for mutant in strong.mutants}
    assert all(reason.startswith("test failed: AssertionError") for reason in reasons), reasons


def test_a_hanging_mutant_is_killed_with_its_reason(toy_analysis):
    """Are ``i -= 1`` and ``i += 0`` (loops that never end) killed by the time limit, and does the run finish?"""
    loop = _result(toy_analysis, "test_loop")
    hung = [mutant for mutant in loop.mutants if mutant["description"] in ("`+=` -> `-=`", "off by one: `1` -> `0`")]
    assert len(hung) == 2 and all(mutant["status"] == "killed" for mutant in hung)
    assert all(mutant["reason"] == "timeout: still running after 3 s" for mutant in hung), hung


def by_hand(lesson: Lesson, name: str, first_line: str) -> Mutant:
    """A mutant of the weak exercise's solution cell that runs ``first_line`` before the rest of it."""
    exercise = lesson.exercises[0]
    source = f"{first_line}\n{lesson.cells[exercise.first].source}"
    return Mutant(name, exercise.grade_id, "ex_weak", exercise.first, "by-hand", name, 1, "", first_line, source, "")


def test_a_memory_eating_or_raising_mutant_is_killed_with_its_reason(toy):
    """Is a mutant that allocates 2 GiB killed by the memory limit (256 MiB), not left to pass the test;
    and is a mutant whose solution cell raises killed, saying so?"""
    lesson = read(toy / "solutions" / "01-toy.ipynb")
    hog = by_hand(lesson, "hog", "hog = [bytearray(2**24) for _ in range(128)]")
    raiser = by_hand(lesson, "raiser", "years = {}['year']")
    [lesson_run] = run([(lesson, {"test_weak": [hog, raiser]})], toy, Limits(timeout=60, memory_mib=256), jobs=2)
    reasons = {outcome.mutant: (outcome.killed, outcome.reason) for outcome in lesson_run.outcomes["test_weak"]}
    assert reasons == {
        "hog": (True, "memory: MemoryError in solution cell ex_weak (address space limit)"),
        "raiser": (True, "solution cell ex_weak raised KeyError: 'year'"),
    }


def test_a_hanging_notebook_cell_is_an_error_not_a_stuck_run(tmp_path):
    """Is a cell of the notebook itself that never ends stopped, reported, and the exercises after it still run?"""
    (tmp_path / "solutions").mkdir()
    cells = [_cell(cr.SLEEPING_LOOP, "hang"), *TOY[1:3]]  # the limit is wall-clock: a spin would only take a CPU
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "solutions" / "01-hang.ipynb")
    analysis = analyse(tmp_path, limits=Limits(timeout=1))
    assert analysis.problems == ["01-hang: cell hang raised TimeoutError: still running after 4 s"]
    assert [(result.exercise, result.made, result.error) for result in analysis.results] == [("test_weak", 3, None)]


def test_entries_of_operators_not_run_are_not_judged(toy):
    """With --operator, are equivalent entries of the other operators left alone rather than called stale?"""
    analysis = analyse(toy, only=["test_strong"], operators=["sort"])
    [strong] = analysis.results
    assert [mutant["operator"] for mutant in strong.mutants] == ["sort"] and strong.killed == 1
    assert analysis.stale == 0


def test_a_solution_that_fails_its_own_test_is_an_error(toy):
    """Is an exercise whose reference solution fails its test reported, not scored?"""
    lesson = read(toy / "solutions" / "01-toy.ipynb")
    cells = list(lesson.cells)
    cells[1] = Cell(1, "ex_weak", cells[1].source.replace("2 * x", "2 * x + 1"))
    broken = Lesson(lesson.stem, lesson.path, tuple(cells), lesson.exercises[:1])
    plan = {"test_weak": make(broken, broken.exercises[0])[:1]}
    [lesson_run] = run([(broken, plan)], toy, Limits(timeout=10))
    assert lesson_run.errors["test_weak"].startswith("the solution fails its own test: test failed: AssertionError")
    [result], _ = judge(broken, plan, lesson_run, [])
    assert result.error


def test_equivalent_entries_excuse_survivors_and_stale_ones_are_reported(toy_analysis):
    """Is a recorded survivor counted as equivalent, and is every entry that excuses nothing stale?"""
    loop = _result(toy_analysis, "test_loop")
    assert [e["why"] for e in loop.equivalents] == [
        "for n >= 0 starting one lower adds a pass of the loop; count_up still returns n"
    ]
    assert [mutant["status"] for mutant in loop.mutants if mutant["description"] == "off by one: `0` -> `-1`"] == ["equivalent"]
    assert [s["reason"] for s in loop.stale] == ["the tests kill this mutant: it is not needed"]
    assert [s["reason"] for s in _result(toy_analysis, "test_strong").stale] == ["matches no mutant of this exercise"]
    assert [s["reason"] for s in toy_analysis.orphans] == ["01-toy has no exercise 'test_gone'"]
    assert toy_analysis.stale == 3


def test_a_malformed_equivalent_file_is_refused(toy, tmp_path):
    """Is an entry without a reason refused before anything runs, naming the file and the entry?"""
    (tmp_path / "01-toy.equivalent.yaml").write_text(
        "- exercise: test_loop\n  operator: constant\n  original: i = 0\n  mutated: i = -1\n"
    )
    with pytest.raises(FormatError, match=r"01-toy.equivalent.yaml#1: needs exactly the fields"):
        analyse(toy, equivalents_folder=tmp_path)


def test_the_command_prints_the_table_and_writes_the_report(toy, tmp_path):
    """Does ``python -m platformlab_instructor.mutants`` exit 1 below the bar and write the JSON report?"""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "platformlab_instructor.mutants",
            "--root",
            str(toy),
            "01",
            "--exercise",
            "test_weak",
            "--exercise",
            "test_strong",
            "--jobs",
            "2",
            "--report",
            str(report),
            "--equivalents",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "test_weak" in done.stdout and "< 90%" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("2 exercises, ")
    rows = json.loads(report.read_text())
    assert [row["exercise"] for row in rows] == ["test_weak", "test_strong"]
    for row in rows:
        assert {"lesson", "exercise", "killed", "survived", "equivalent", "seconds", "survivors"} <= set(row)
    assert all(survivor["diff"].startswith("--- ex_weak") for survivor in rows[0]["survivors"])


# -- the bar, on the real lessons ------------------------------------------------------------------


@pytest.mark.slow
def test_every_exercise_kills_at_least_90_percent_of_its_mutants():
    """Does every autograded exercise of every lesson kill >= 90% of its non-equivalent mutants?"""
    analysis = analyse(ROOT, jobs=os.cpu_count() or 1)
    failures = []
    for result in analysis.results:
        if result.error:
            failures.append(f"{result.lesson} {result.exercise}: {result.error}")
        elif result.below(BAR):
            survivor = result.survivors[0]
            failures.append(
                f"{result.lesson} {result.exercise} kills {result.score:.1f}% "
                f"({result.survived} of {result.made} survive), e.g. [{survivor['id']}] "
                f"{survivor['description']}:\n{survivor['diff']}"
            )
    failures += [
        f"stale equivalent entry {entry['where']}: {entry['reason']}"
        for entry in [s for r in analysis.results for s in r.stale] + analysis.orphans
    ]
    failures += analysis.problems
    assert not failures, "\n\n".join(failures)
