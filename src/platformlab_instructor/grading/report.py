"""The tables and figure an instructor takes away, read from the gradebook and the journal.

Scores come from nbgrader's gradebook, so that manual grades given in formgrader
show up when the tables are exported again (:func:`platformlab_instructor.grading.export`).
Statuses, messages and file names come from the journal and the intake manifest.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .records import Record, Submission

GRADES_COLUMNS = [
    "student_id",
    "lesson",
    "status",
    "score",
    "max_score",
    "source_file",
    "needs_manual_grading",
    "late",
    "message",
    "flags",
]
#: review.csv: the submissions whose kernel the grader's check found changed (see kernels.BoundedExecute.flags)
REVIEW_COLUMNS = ["student_id", "lesson", "status", "score", "max_score", "source_file", "flags"]
ITEM_COLUMNS = ["student_id", "lesson", "grade_id", "kind", "score", "max_score", "needs_manual_grading"]
SKIPPED_COLUMNS = ["source_file", "student_id", "lesson", "reason"]
ANALYSIS_COLUMNS = ["lesson", "grade_id", "kind", "max_score", "n", "mean_score", "mean_share", "share_full_marks"]
#: statuses whose notebook ran and was scored cell by cell
SCORED = ("graded", "timeout", "memory", "crashed")


def _number(value):
    if value is None or value == "":
        return ""
    value = float(value)
    return int(value) if value.is_integer() else round(value, 4)


def _cell_score(grade):
    # nbgrader's Grade.score reads 0 for a written answer nobody has graded yet; here it stays empty.
    value = grade.manual_score if grade.manual_score is not None else grade.auto_score
    return "" if value is None else _number(value + (grade.extra_credit or 0))


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def tables(rows: list[Submission], records: dict[str, Record], gradebook_url: str, lesson_order: list[str]):
    """Build the grades and item rows for the manifest ``rows`` (one per student and lesson)."""
    from nbgrader.api import Gradebook, MissingEntry

    grades, items = [], []
    with Gradebook(gradebook_url) as gradebook:
        max_scores = {stem: float(gradebook.find_notebook(stem, stem).max_score) for stem in lesson_order}
        order = {stem: [c.name for c in gradebook.find_notebook(stem, stem).grade_cells] for stem in lesson_order}
        for row in rows:
            record = records.get(row.key) or Record(
                row.key, row.student, row.lesson, "error", "not graded (the run stopped before it)"
            )
            status = record.status
            line = {
                "student_id": row.student,
                "lesson": row.lesson,
                "status": status,
                "max_score": _number(max_scores[row.lesson]),
                "source_file": row.source_file,
                "late": "yes" if row.late else "",
                "needs_manual_grading": "",
                "message": "; ".join(filter(None, [record.message, *record.notes])),
                "flags": "; ".join(record.flags),
            }
            if status in SCORED:
                try:
                    notebook = gradebook.find_submission_notebook(row.lesson, row.lesson, row.student)
                except MissingEntry:
                    line.update(status="error", score="", message="graded, but missing from the gradebook")
                    grades.append(line)
                    continue
                cells = {g.name: g for g in notebook.grades}
                line["score"] = _number(notebook.score)
                line["needs_manual_grading"] = "yes" if notebook.needs_manual_grade else "no"
                for name in order[row.lesson]:
                    grade = cells.get(name)
                    if grade is None:
                        continue
                    items.append(
                        {
                            "student_id": row.student,
                            "lesson": row.lesson,
                            "grade_id": name,
                            "kind": "auto" if grade.cell_type == "code" else "manual",
                            "score": _cell_score(grade),
                            "max_score": _number(grade.max_score),
                            "needs_manual_grading": "yes" if grade.needs_manual_grade else "no",
                        }
                    )
            elif status == "invalid":
                line["score"] = 0
            else:
                line["score"] = ""
            grades.append(line)
    return grades, items


def review(grades: list[dict]) -> list[dict]:
    """The rows of ``grades`` with flags: submissions an instructor should look at by hand."""
    return [line for line in grades if line.get("flags")]


def item_analysis(items: list[dict]) -> list[dict]:
    """Mean score and share of full marks per graded cell, over the submissions that have a score for it."""
    groups: dict[tuple, list[dict]] = {}
    for item in items:
        groups.setdefault((item["lesson"], item["grade_id"]), []).append(item)
    rows = []
    for (lesson, grade_id), members in groups.items():
        scored = [m for m in members if m["score"] != ""]
        max_score = float(members[0]["max_score"])
        n = len(scored)
        mean = sum(float(m["score"]) for m in scored) / n if n else None
        rows.append(
            {
                "lesson": lesson,
                "grade_id": grade_id,
                "kind": members[0]["kind"],
                "max_score": _number(max_score),
                "n": n,
                "mean_score": _number(mean) if n else "",
                "mean_share": _number(mean / max_score) if n and max_score else "",
                "share_full_marks": _number(sum(float(m["score"]) >= max_score for m in scored) / n) if n else "",
            }
        )
    return rows


def figure(analysis: list[dict], path: Path) -> Path | None:
    """A bar chart per lesson: mean share of the points and share of full marks per exercise.
    Plain matplotlib, off pyplot: the instructor's command need not import seaborn or pandas for it."""
    rows = [r for r in analysis if r["n"]]
    if not rows:
        return None
    from matplotlib.figure import Figure

    lessons = list(dict.fromkeys(r["lesson"] for r in rows))
    height = max(2.5, 0.35 * len(rows) + 1.2 * len(lessons))
    fig = Figure(figsize=(8, height))
    measures = {"mean_share": "mean score (share of points)", "share_full_marks": "share with full marks"}
    for ax, lesson in zip(fig.subplots(len(lessons), 1, squeeze=False)[:, 0], lessons):
        part = sorted((r for r in rows if r["lesson"] == lesson), key=lambda r: float(r["mean_share"]), reverse=True)
        places = range(len(part))
        for offset, (key, label) in zip((-0.2, 0.2), measures.items()):
            ax.barh([p + offset for p in places], [float(r[key]) for r in part], height=0.4, label=label)
        ax.set(yticks=list(places), yticklabels=[r["grade_id"] for r in part], xlim=(0, 1), xlabel="share")
        ax.set_title(f"{lesson}: hardest first")
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def canvas(grades: list[dict], rows: list[Submission], lesson_order: list[str], path: Path) -> None:
    """A Canvas gradebook import file: one row per student, one column per lesson.

    Canvas matches rows on ``ID`` (its user id, read from Canvas file names or the
    roster) or ``SIS Login ID``; rows without either must be matched by hand.
    Scores of submissions that could not be graded (``error``) are left blank.
    """
    people: dict[str, dict] = {}
    for row in rows:
        person = people.setdefault(
            row.student, {"Student": row.name or row.student, "ID": "", "SIS User ID": "", "SIS Login ID": "", "Section": ""}
        )
        person["ID"] = person["ID"] or row.canvas_id
        person["SIS Login ID"] = person["SIS Login ID"] or row.login
    for line in grades:
        people[line["student_id"]][line["lesson"]] = line["score"]
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *lesson_order]
    max_scores = {line["lesson"]: line["max_score"] for line in grades}
    points = {"Student": "    Points Possible", **{stem: max_scores.get(stem, "") for stem in lesson_order}}
    write_csv(path, header, [points, *[people[s] for s in sorted(people)]])
