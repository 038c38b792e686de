"""``platformlab grade``: from an LMS download to grades, feedback and an item analysis.

The steps, each in its own module: unpack and name the files (:mod:`.intake`),
tell each notebook's lesson (:mod:`.identify`), keep the latest submission per
student and lesson, grade in parallel with nbgrader (:mod:`.pool`,
:mod:`.worker`), write everything into one nbgrader course and gradebook, and
export the tables (:mod:`.report`).

Statuses: ``graded``; ``timeout`` (a cell ran past the time limit and was stopped; the
rest still ran and scored); ``memory`` (a cell ran out of memory; the rest still
scored); ``crashed`` (a cell killed its kernel: a new one re-ran the cells before it,
and the rest still scored); ``invalid`` (not a readable notebook: score 0); ``error`` (grading itself
broke on this submission, with the message; no score, tried again on the next run).

Output folder (default ``grades/``)::

    grades.csv  items.csv  skipped.csv  item_analysis.csv  item_analysis.png  canvas.csv
    feedback/<student>/<lesson>.html
    course/     an nbgrader course: gradebook.db, source/, release/, submitted/, autograded/
                (``cd grades/course && nbgrader formgrader`` grades the written answers)
    .work/      journal.jsonl (what is finished), manifest.json (the last intake), scratch
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import nbformat

from .. import lessons as catalogue_of_lessons
from .. import logs
from ..course import NbgraderFailed
from ..errors import PlatformlabError
from . import cluster, identify, intake, pool, report, rubrics, worker
from .progress import Progress
from .records import Journal, Manifest, Record, Result, Skipped, Submission, Task, sha256

log = logging.getLogger(__name__)


class GradingError(PlatformlabError):
    """Grading itself could not run (no lessons, unreadable input, nbgrader failing)."""


@dataclass
class Summary:
    """What a run did: counts per status, skipped files, and where the outputs are."""

    out: Path
    statuses: Counter = field(default_factory=Counter)
    skipped: int = 0
    graded_now: int = 0
    reused: int = 0
    files: dict = field(default_factory=dict)
    fallbacks: list = field(default_factory=list)  # why each kernel that did not come from a zygote started afresh

    def text(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items())) or "none"
        lines = [
            f"{sum(self.statuses.values())} submissions: {counts}; {self.skipped} files skipped.",
            f"Graded now: {self.graded_now}; already graded in an earlier run: {self.reused}.",
        ]
        lines += [f"  {label:<16} {path}" for label, path in self.files.items()]
        return "\n".join(lines)


def _sources(sources: dict[str, Path] | None) -> dict[str, Path]:
    if sources:
        return {stem: Path(path) for stem, path in sources.items()}
    found = catalogue_of_lessons.find()
    if not found:
        raise GradingError(f"no lessons to grade against: no NN-slug.ipynb in {catalogue_of_lessons.root() / 'solutions'}")
    return {lesson.stem: lesson.solution for lesson in found}


def _course(out: Path, sources: dict[str, Path], timeout: int, generate: bool = True) -> worker.GradingCourse:
    course = worker.GradingCourse(out / "course", sources, timeout=timeout)
    (out / "course" / "nbgrader_config.py").write_text(
        "# Written by platformlab grade: run `nbgrader formgrader` here to grade the written answers.\n"
        "c = get_config()  # noqa\n",
        encoding="utf-8",
    )
    if generate:
        # nbgrader's generate step is skipped for a lesson whose source is byte for byte what
        # the last run generated from (a re-run after a crash, or --export-only)
        stamp_file = out / ".work" / "generated.json"
        stamps = json.loads(stamp_file.read_text(encoding="utf-8")) if stamp_file.exists() else {}
        for stem, source in sources.items():
            digest = sha256(Path(source))
            release = out / "course" / "release" / stem / f"{stem}.ipynb"
            if stamps.get(stem) != digest or not release.exists() or not (out / "course" / "gradebook.db").exists():
                stamps.pop(stem, None)
                stamp_file.write_text(json.dumps(stamps), encoding="utf-8")
                course.generate(stem)
                stamps[stem] = digest
        stamp_file.write_text(json.dumps(stamps), encoding="utf-8")
    return course


def grade(
    submissions,
    out="grades",
    jobs: int | None = None,
    timeout: int = 60,
    force: bool = False,
    roster=None,
    sources: dict[str, Path] | None = None,
    memory: int = 2048,
    progress: bool = True,
    fork: bool = True,
    isolation: str = "auto",
    figures: bool = True,
    scheduler: str | None = None,
) -> Summary:
    """Grade every notebook in ``submissions`` (a zip or a folder) against the lessons.

    Args:
        submissions: a Canvas or Moodle zip, a folder of per-student folders, or an
            nbgrader ``submitted/`` tree.
        out: the output folder (created; kept between runs so a re-run resumes).
        jobs: submissions graded at once (default: the number of CPUs).
        timeout: seconds a cell may run before it is interrupted (the rest still runs).
        force: grade again submissions an earlier run already finished.
        roster: a CSV with columns ``lms_id`` and ``student_id``.
        sources: lesson stem -> nbgrader source notebook (default: ``solutions/``).
        memory: address-space limit of each kernel in MiB (0: none).
        progress: draw a progress bar on stderr.
        fork: start kernels by forking a process that has the lessons' libraries imported
            (:mod:`.zygote`); ``False`` starts each kernel afresh, as stock nbgrader does.
        isolation: ``"box"`` runs student code in boxes (:mod:`.isolation`), ``"none"`` does
            not, ``"auto"`` does where the machine can and says loudly when it cannot.
        scheduler: grade on the Dask cluster at this scheduler address (:mod:`.cluster`), or on a
            LocalCluster of ``jobs`` processes for ``"local"``; ``None``: the local process pool.
        figures: draw the notebooks' figures; ``False`` shows each as its text (``<Figure size ...>``),
            about a quarter of the time on this course's lessons. The figures are still made (the tests see
            them as before), only not drawn: the feedback and formgrader then show none.

    Returns a :class:`Summary`. Raises :class:`GradingError` only when grading itself
    cannot run; a student's broken file is a row with a status, never an exception.
    Does not upload anything or email students.
    """
    out, submissions = Path(out).resolve(), Path(submissions)
    if not submissions.exists():
        raise GradingError(f"{submissions} does not exist")
    sources = _sources(sources)
    # a cluster that cannot be used is an error before anything is written to out
    connection = cluster.connect(scheduler, jobs or os.cpu_count() or 1) if scheduler else None
    try:
        return _grade(
            submissions, out, sources, jobs, timeout, force, roster, memory, progress, fork, isolation, figures, connection
        )
    finally:
        if connection:
            connection.close()


def _grade(
    submissions: Path,
    out: Path,
    sources: dict[str, Path],
    jobs,
    timeout,
    force,
    roster,
    memory,
    progress,
    fork,
    isolation,
    figures,
    connection: cluster.Connection | None,
) -> Summary:
    work = out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    worker.quiet()
    try:
        course = _course(out, sources, timeout)
    except NbgraderFailed as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise GradingError(f"nbgrader could not set up the course in {out / 'course'}: {lines[-1] if lines else error}") from None
    releases = {stem: out / "course" / "release" / stem / f"{stem}.ipynb" for stem in sources}
    template = work / "template"
    shutil.rmtree(template, ignore_errors=True)
    shutil.copytree(out / "course" / "source", template / "source")
    shutil.copyfile(out / "course" / "gradebook.db", template / "gradebook.db")
    catalogue = identify.Catalogue(releases, sources)

    try:
        entries = intake.unpack(submissions, work / "inbox", exclude=out)
    except (ValueError, OSError) as error:
        raise GradingError(str(error)) from None
    intake.nbgrader_timestamps(entries)
    intake.assign_students(entries, intake.read_roster(Path(roster)) if roster else None)
    rows, skipped = _choose(entries, catalogue)

    journal = Journal(work / "journal.jsonl")
    done = journal.finished()
    tasks, summary = [], Summary(out)
    for row in rows:
        if row.key in done and not force:
            summary.reused += 1
        elif row.invalid:
            _finish(journal, course, out, row, Result(row.key, "invalid", row.message))
        else:
            tasks.append(Task(row.key, row.lesson, row.path, str(work / "staging" / row.key)))
    Manifest(work / "manifest.json").write(rows, skipped)
    log.info(
        "%d submissions, %d to grade now, %d already graded, %d files skipped",
        len(rows),
        len(tasks),
        summary.reused,
        len(skipped),
    )

    fallbacks = work / "fallbacks.log"
    fallbacks.unlink(missing_ok=True)
    settings = worker.Settings(
        template=str(template),
        releases={stem: str(path) for stem, path in releases.items()},
        timeout=timeout,
        memory=memory,
        fork=fork,
        figures=figures,
        boxed=_boxed(isolation, connection),
        fallback_log=str(fallbacks),
        verbose=logs.verbosity(),
    )
    by_key = {row.key: row for row in rows}
    bar = Progress(len(tasks), enabled=progress)
    cpus = jobs or os.cpu_count() or 1
    scratch = work / "workers"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    grader = functools.partial(cluster.run, connection=connection) if connection else pool.run
    try:
        grader(tasks, settings, scratch, cpus, lambda task, result: _finish(journal, course, out, by_key[task.key], result), bar)
    finally:
        summary.fallbacks = fallbacks.read_text().splitlines() if fallbacks.exists() else []
        if summary.fallbacks and fork:
            log.warning(
                "%d kernel(s) started afresh instead of from a zygote (slower); first: %s",
                len(summary.fallbacks),
                summary.fallbacks[0],
            )
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(work / "staging", ignore_errors=True)
    summary.graded_now = len(tasks)
    return _export(out, sources, summary, rows, skipped)


def _boxed(isolation: str, connection: cluster.Connection | None = None) -> bool:
    """Whether kernels run in boxes: ``box`` insists, ``none`` declines, ``auto`` boxes where it can
    (on a Dask cluster: where every worker can)."""
    from .isolation import unavailable

    if isolation == "none":
        log.warning("student code is not isolated (--isolation none): it can read and write what you can")
        return False
    why = connection.unavailable() if connection else unavailable()
    if why and isolation == "box":
        raise GradingError(f"cannot isolate student code: {why}")
    if why:
        log.warning(
            "student code is NOT isolated: %s. It can read the answer key and change other results; see README, 'Grading safely'",
            why,
        )
    return not why


def _choose(entries: list[intake.Entry], catalogue: identify.Catalogue) -> tuple[list[Submission], list[Skipped]]:
    """Identify each notebook's lesson and keep the latest one per student and lesson."""
    candidates, skipped = [], []
    for entry in entries:
        if entry.reason:
            skipped.append(Skipped(entry.source, entry.student, "", entry.reason))
            continue
        suffix = PurePosixPath(entry.source).suffix.lower()
        if suffix != ".ipynb":
            skipped.append(Skipped(entry.source, entry.student, "", f"not a notebook ({suffix or 'no extension'})"))
            continue
        row = Submission(
            entry.student,
            "",
            entry.source,
            str(entry.path),
            entry.time,
            bool(entry.lms.get("late")),
            entry.lms.get("name", ""),
            entry.lms.get("canvas_id", ""),
            entry.lms.get("login", ""),
        )
        try:
            notebook = identify.read(entry.path)
        except identify.NotANotebook as error:
            stem = catalogue.guess_from_name(entry.source)
            if stem is None:
                skipped.append(
                    Skipped(entry.source, entry.student, "", f"invalid: {error}; the file name does not say which lesson")
                )
                continue
            row.lesson, row.invalid, row.message = stem, True, f"{error} (lesson told from the file name)"
        else:
            stem, why = catalogue.identify(notebook)
            if stem is None:
                skipped.append(Skipped(entry.source, entry.student, "", why))
                continue
            row.lesson = stem
        candidates.append(row)
    latest: dict[tuple, Submission] = {}
    for row in sorted(candidates, key=lambda r: (r.time or 0, r.source_file)):
        earlier = latest.get((row.student, row.lesson))
        if earlier:
            skipped.append(
                Skipped(
                    earlier.source_file,
                    row.student,
                    row.lesson,
                    f"superseded by a later submission of the same lesson: {row.source_file}",
                )
            )
        latest[(row.student, row.lesson)] = row
    rows = sorted(latest.values(), key=lambda r: (r.student, r.lesson))
    return [row.keyed() for row in rows], skipped


def _finish(journal: Journal, course: worker.GradingCourse, out: Path, row: Submission, result: Result) -> None:
    """Write one result into the gradebook and the course folders, then commit it to the journal."""
    student, stem = row.student, row.lesson
    staging = out / ".work" / "staging" / row.key
    if result.status in report.SCORED:
        _into_gradebook(course, row, result)
        submitted, autograded = (
            out / "course" / folder / student / stem / f"{stem}.ipynb" for folder in ("submitted", "autograded")
        )
        for target in (submitted, autograded):
            target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / "submitted.ipynb", submitted)
        source = out / "course" / "source" / stem / f"{stem}.ipynb"  # formgrader's copy gets the grader's notes
        nbformat.write(rubrics.add(nbformat.read(staging / "autograded.ipynb", as_version=4), source), autograded)
        stamp = datetime.fromtimestamp(row.time or 0, UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        (out / "course" / "submitted" / student / stem / "timestamp.txt").write_text(stamp, encoding="utf-8")
        if (staging / "feedback.html").exists():
            target = out / "feedback" / student / f"{stem}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging / "feedback.html", target)
    if result.status == "error":
        log.warning("%s: %s", row.key, result.message)
        log.debug("%s", result.detail)
    journal.append(
        Record(
            row.key,
            student,
            stem,
            result.status,
            result.message,
            result.notes,
            row.source_file,
            result.seconds,
            result.detail,
            result.flags,
            result.phases,
        )
    )
    shutil.rmtree(staging, ignore_errors=True)


def _into_gradebook(course: worker.GradingCourse, row: Submission, result: Result) -> None:
    # The single writer. Same rules as nbgrader's SaveAutoGrades: the autograder's score
    # goes in auto_score; a manual score a grader already gave is kept, and flagged for review.
    from nbgrader.api import Gradebook

    student, stem = row.student, row.lesson
    when = datetime.fromtimestamp(row.time, UTC).replace(tzinfo=None) if row.time else None
    with Gradebook(course.gradebook_url) as gradebook:
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(stem, student, timestamp=when)
        for cell in result.cells:
            grade = gradebook.find_grade(cell.grade_id, stem, stem, student)
            grade.auto_score = cell.auto_score
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for name, text in result.comments.items():
            gradebook.find_comment(name, stem, stem, student).auto_comment = text
        gradebook.db.commit()


def export(out="grades", sources: dict[str, Path] | None = None, feedback: bool = True) -> Summary:
    """Write the tables again from the gradebook, e.g. after grading written answers in formgrader.

    With ``feedback``, the feedback pages are made again too, so they show the manual scores.
    Grades nothing and reads no submissions: it uses the last run's manifest and journal.
    """
    out = Path(out).resolve()
    manifest = out / ".work" / "manifest.json"
    if not manifest.exists():
        raise GradingError(f"nothing to export: {out} holds no earlier `platformlab grade` run")
    rows, skipped = Manifest(manifest).read()
    course_root = out / "course"
    stems = sorted(p.name for p in (course_root / "source").iterdir())
    sources = sources or {stem: course_root / "source" / stem / f"{stem}.ipynb" for stem in stems}
    worker.quiet()
    summary = _export(out, sources, Summary(out), rows, skipped, feedback_again=feedback)
    return summary


def _export(
    out: Path,
    sources: dict[str, Path],
    summary: Summary,
    rows: list[Submission],
    skipped: list[Skipped],
    feedback_again: bool = False,
) -> Summary:
    records = Journal(out / ".work" / "journal.jsonl").load()
    course = worker.GradingCourse.existing(out / "course", list(sources))
    order = list(sources)
    grades, items = report.tables(rows, records, course.gradebook_url, order)
    if feedback_again:
        api = course.api()
        for line in grades:
            if line["status"] in report.SCORED:
                result = api.generate_feedback(line["lesson"], line["student_id"], force=True)
                made = out / "course" / "feedback" / line["student_id"] / line["lesson"] / f"{line['lesson']}.html"
                if result["success"] and made.exists():
                    target = out / "feedback" / line["student_id"] / f"{line['lesson']}.html"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(made, target)
    analysis = report.item_analysis(items)
    files = {
        "grades": out / "grades.csv",
        "items": out / "items.csv",
        "skipped": out / "skipped.csv",
        "review": out / "review.csv",
        "item analysis": out / "item_analysis.csv",
        "figure": out / "item_analysis.png",
        "Canvas import": out / "canvas.csv",
        "feedback": out / "feedback",
        "gradebook": out / "course" / "gradebook.db",
    }
    report.write_csv(files["grades"], report.GRADES_COLUMNS, grades)
    report.write_csv(files["items"], report.ITEM_COLUMNS, items)
    report.write_csv(files["skipped"], report.SKIPPED_COLUMNS, [vars(s) for s in skipped])
    report.write_csv(files["review"], report.REVIEW_COLUMNS, report.review(grades))
    report.write_csv(files["item analysis"], report.ANALYSIS_COLUMNS, analysis)
    if report.figure(analysis, files["figure"]) is None:
        files.pop("figure")
    report.canvas(grades, rows, order, files["Canvas import"])
    summary.statuses = Counter(line["status"] for line in grades)
    summary.skipped = len(skipped)
    summary.files = {label: str(path) for label, path in files.items()}
    return summary
