"""Do the graders grade? Every lesson is autograded with real nbgrader (in two runs of the course's
parallel grader, see the ``graded`` fixture in conftest.py): the solution and the untouched student
version as an instructor grades them, each known wrong answer and each alternative correct answer
without drawing figures (answers that cannot affect each other's tests share a notebook:
``submissions.packed``)."""

from __future__ import annotations

import nbformat

from submissions import correct_answers, grade_id, wrong_answers


def autograded_tests(grades):
    return {name: grade for name, grade in grades.items() if grade.autograded}


def test_solution_scores_full_marks(stem, graded):
    """Does the solution notebook earn every autograded point?"""
    grades = autograded_tests(graded(stem).grades("solution"))
    assert grades, f"{stem} has no autograded test cells"
    short = {name: (g.score, g.max_score) for name, g in grades.items() if g.score != g.max_score}
    assert not short, f"the solution of {stem} loses points in {short}"


def test_untouched_lesson_scores_zero(stem, graded):
    """Does a student who submits the lesson untouched get nothing, in every graded cell?"""
    grades = graded(stem).grades("untouched")
    scored = {name: g.score for name, g in grades.items() if g.score != 0}
    assert not scored, f"the untouched {stem} scores points in {scored}: those tests pass without an answer"


def test_solution_runs_cleanly(stem, graded):
    """Does the solution run top to bottom without errors, warnings or anything on stderr?"""
    problems = []
    for cell in graded(stem).autograded("solution").cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr"):
                text = output.get("text") or f"{output.get('ename')}: {output.get('evalue')}"
                problems.append(f"cell {grade_id(cell) or cell.get('id')}: {text.strip()[:300]}")
    assert not problems, f"{stem} solution wrote errors or warnings:\n" + "\n".join(problems)


def _figures(notebook) -> list[list[str]]:
    """The kinds of data (``image/png``, ``text/plain``) of each figure a graded notebook shows."""
    return [
        sorted(output.data)
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "display_data" and output.data.get("text/plain", "").startswith("<Figure")
    ]


def test_figures_are_drawn_unless_turned_off(stem, graded):
    """Does grading draw each of the solution's figures (the feedback and formgrader show them), and does
    ``figures=False`` (the answer sets' run) show each figure as its text, drawing none?"""
    result = graded(stem)
    drawn = _figures(result.autograded("solution"))
    assert drawn and all("image/png" in kinds for kinds in drawn), f"{stem}: figures graded without an image: {drawn}"
    shown = _figures(result.autograded(min(result.holder.values())))
    assert shown and all(kinds == ["text/plain"] for kinds in shown), f"{stem}: with figures off, the grader drew {shown}"


def test_no_honest_submission_is_flagged(stem, graded):
    """Does the grader's check of the kernel flag none of the lesson's honest submissions (the solution, the
    untouched lesson, every answer fixture)? A flag sends a notebook to be reviewed by hand."""
    result = graded(stem)
    missing = {"solution", "untouched", *result.holder.values()} - set(result.flags)
    assert not missing, f"{stem}: no row in grades.csv for {sorted(missing)}"
    flagged = {student: flags for student, flags in result.flags.items() if flags}
    assert not flagged, f"{stem}: honest submissions flagged for review: {flagged}"


def test_wrong_answer_is_marked_wrong(wrong, graded):
    """Does the exercise's test cell reject this plausible wrong answer (and not merely crash on it)?"""
    result = graded(wrong.lesson)
    notebook = result.autograded(result.holder[wrong])
    replaced = [cell for cell in notebook.cells if grade_id(cell) == wrong.cell][0]
    assert replaced.source == wrong.source
    errors = [o for o in replaced.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"wrong answer {wrong.number} ({wrong.why}) itself fails to run: {errors[0].ename}: {errors[0].evalue}"
    grade = result.grades(result.holder[wrong])[wrong.fails]
    assert grade.max_score > 0
    assert grade.score == 0, f"{wrong.fails} gives {grade.score}/{grade.max_score} to a wrong answer: {wrong.why}"


def test_alternative_correct_answer_scores_full_marks(correct, graded):
    """Does the exercise's test cell accept this other correct method (a test strengthened too far rejects it)?"""
    result = graded(correct.lesson)
    grade = result.grades(result.holder[correct])[correct.test]
    assert grade.max_score > 0
    assert grade.score == grade.max_score, (
        f"{correct.test} gives {grade.score}/{grade.max_score} to a correct answer: {correct.why}"
    )


def test_every_test_cell_has_an_alternative_correct_answer(stem, graded):
    """Is every autograded test cell checked against at least one other correct method?"""
    tests = autograded_tests(graded(stem).grades("solution"))
    covered = {answer.test for answer in correct_answers(stem)}
    unknown = covered - set(tests)
    assert not unknown, f"{stem}: tests/answers/{stem}.correct.yaml names unknown test cells {sorted(unknown)}"
    missing = sorted(set(tests) - covered)
    assert not missing, f"{stem}: test cells with no alternative correct answer in tests/answers/{stem}.correct.yaml: {missing}"


def test_every_test_cell_has_two_wrong_answers(stem, graded):
    """Is every autograded test cell checked against at least two known wrong answers?"""
    tests = autograded_tests(graded(stem).grades("solution"))
    counts = {name: 0 for name in tests}
    for wrong in wrong_answers(stem):
        assert wrong.fails in counts, f"wrong answer {wrong.number} of {stem} names unknown test cell {wrong.fails!r}"
        counts[wrong.fails] += 1
    thin = {name: n for name, n in counts.items() if n < 2}
    assert not thin, f"{stem}: test cells with fewer than two wrong answers in tests/answers/{stem}.wrong.yaml: {thin}"


def test_written_answers_await_manual_grading(stem, graded):
    """Are the written answers graded by hand, and do they exist (one or two per lesson)?"""
    manual = {name: g for name, g in graded(stem).grades("solution").items() if not g.autograded}
    assert 1 <= len(manual) <= 2, f"{stem} should have one or two written answers, has {sorted(manual)}"
    assert all(g.max_score > 0 for g in manual.values())


def test_wrong_answer_fixtures_name_answer_cells(stem):
    """Does every answer fixture replace a real solution cell of the lesson?"""
    from platformlab_instructor.lessons import get

    notebook = nbformat.read(get(stem).solution, as_version=4)
    answer_cells = {grade_id(c) for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for wrong in wrong_answers(stem) + correct_answers(stem):
        assert wrong.cell in answer_cells, (
            f"answer fixture {wrong.student} of {stem} replaces {wrong.cell!r}, not a solution cell"
        )
