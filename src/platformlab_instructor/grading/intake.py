"""Turn an LMS download (a zip or a folder) into a list of files, each with its student.

Accepted layouts, told apart file by file from the names:

- Canvas "Download Submissions": flat ``login_userid_submissionid_name.ipynb``, with
  ``login_LATE_userid_...`` for late work;
- Moodle: ``Full Name_id_assignsubmission_file_/name.ipynb`` (or the same prefix on a
  flat file name);
- nbgrader's ``submitted/<student>/<assignment>/name.ipynb`` (``timestamp.txt`` gives the time);
- a folder per student: ``alice/name.ipynb`` (one shared top folder is ignored).

Zip members are never written under their own names: each is extracted to a
numbered file inside the work folder, so absolute paths and ``..`` cannot escape
it. Nothing is dropped here: every file comes back, either with a student or
with the reason it cannot be graded.
"""

from __future__ import annotations

import csv
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

#: Files larger than this are not read (a notebook of the course is well under 5 MB).
MAX_FILE_BYTES = 100 * 1024 * 1024

CANVAS = re.compile(r"^(?P<login>[^_/]+?)(?P<late>_LATE)?_(?P<userid>\d+)_(?P<subid>\d+)_(?P<name>.+)$")
MOODLE = re.compile(r"^(?P<fullname>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<name>.*)$")
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class Entry:
    """One input file: where it came from, where it is now, and whose it is."""

    source: str  # the name in the zip or the path under the folder, as the instructor sees it
    path: Path | None  # the file on disk, or None when it was not extracted
    student: str = ""
    lms: dict = field(default_factory=dict)  # what the LMS said: canvas_id, login, moodle_id, name, late
    time: float = 0.0  # when it was submitted, for "the later one wins" (seconds since the epoch)
    reason: str = ""  # why it cannot be graded ("" while it still can)


def clean_name(name: str) -> str:
    """A zip member or path name as POSIX parts, without drive, root or ``..``."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/"))
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".", "..", "/") and not re.match(r"^[A-Za-z]:$", p)]
    return "/".join(parts)


def student_id(text: str) -> str:
    """A student id that is safe as a folder name: letters (any script), digits, ``-``, ``_``, ``.``."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = re.sub(r"\s+", "-", text)
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_.")
    return text.strip(".-_") or "unknown"


def _decode_member(info: zipfile.ZipInfo) -> str:
    # Zips made without the UTF-8 flag carry names in the maker's code page; Python reads
    # them as cp437. Most such names are really UTF-8 (macOS, Linux), so try that first.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def unpack(submissions: Path, inbox: Path, exclude: Path | None = None) -> list[Entry]:
    """List every file of a zip (extracting it into ``inbox``) or of a folder (left in place).

    ``exclude`` is a folder not to list (the output folder, when it is inside ``submissions``).
    """
    submissions = Path(submissions)
    entries = []
    if submissions.is_dir():
        skip = Path(exclude).resolve() if exclude else None
        for path in sorted(submissions.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            if skip and path.resolve().is_relative_to(skip):
                continue
            name = clean_name(str(path.relative_to(submissions)))
            entry = Entry(name, path)
            if path.is_symlink():
                entry.path, entry.reason = None, "a symbolic link, not a submitted file"
            elif path.stat().st_size > MAX_FILE_BYTES:
                entry.path, entry.reason = None, f"too large ({path.stat().st_size:,} bytes)"
            else:
                entry.time = path.stat().st_mtime
            entries.append(entry)
        return entries
    if not zipfile.is_zipfile(submissions):
        raise ValueError(f"{submissions} is neither a folder nor a zip file")
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    with zipfile.ZipFile(submissions) as archive:
        for number, info in enumerate(archive.infolist()):
            if info.is_dir():
                continue
            name = clean_name(_decode_member(info))
            entry = Entry(name or f"(unnamed member {number})", None)
            if info.file_size > MAX_FILE_BYTES:
                entry.reason = f"too large ({info.file_size:,} bytes)"
            else:
                suffix = "".join(PurePosixPath(name).suffixes[-1:])[:16]
                target = inbox / f"{number:05d}{suffix}"
                try:
                    with archive.open(info) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                    entry.path = target
                    entry.time = datetime(*info.date_time, tzinfo=UTC).timestamp()
                except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
                    entry.reason = f"cannot be extracted from the zip: {error}"
            entries.append(entry)
    return entries


def _strip_wrapper(names: list[list[str]]) -> int:
    """How many leading folders all files share and can be ignored (a zip of one top folder)."""
    depth = 0
    while names and all(len(parts) > depth + 2 for parts in names) and len({parts[depth] for parts in names}) == 1:
        depth += 1
    return depth


def assign_students(entries: list[Entry], roster: dict[str, str] | None = None) -> None:
    """Fill in each entry's student (and LMS details), or its reason when there is none."""
    roster = roster or {}
    useful = [e for e in entries if not e.reason and not _is_junk(e.source)]
    wrapper = _strip_wrapper([e.source.split("/") for e in useful if not _special(e.source)])
    for entry in entries:
        if entry.reason:
            continue
        parts = entry.source.split("/")
        if _is_junk(entry.source):
            entry.reason = "operating-system metadata, not a submission"
            continue
        key, lms = _who(parts, wrapper)
        if key is None:
            entry.reason = "cannot tell whose submission this is (not in a student folder, not an LMS file name)"
            continue
        entry.lms = lms
        mapped = next((roster[k] for k in lms.get("keys", []) if k in roster), None)
        entry.student = student_id(mapped or key)
    _separate_namesakes(entries, roster)


def _is_junk(source: str) -> bool:
    parts = source.split("/")
    return any(p in JUNK or p.startswith("._") for p in parts) or ".ipynb_checkpoints" in parts


def _special(source: str) -> bool:
    parts = source.split("/")
    return "submitted" in parts[:-1] or any(MOODLE.match(p) for p in parts) or bool(CANVAS.match(parts[-1]))


def _who(parts: list[str], wrapper: int) -> tuple[str | None, dict]:
    if "submitted" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("submitted")
        if len(parts) - at >= 3:  # submitted/<student>/<assignment>/file (or submitted/<student>/file)
            name = parts[at + 1]
            return name, {"keys": [name], "folder": name}
    for part in parts:
        match = MOODLE.match(part)
        if match:
            full = match["fullname"]
            return full, {"keys": [match["id"], full], "moodle_id": match["id"], "name": full}
    match = CANVAS.match(parts[-1])
    if match:
        login = match["login"]
        return login, {
            "keys": [match["userid"], login],
            "canvas_id": match["userid"],
            "login": login,
            "late": bool(match["late"]),
            "submission_id": match["subid"],
        }
    if len(parts) - wrapper >= 2:
        name = parts[wrapper]
        return name, {"keys": [name], "folder": name}
    return None, {}


def _separate_namesakes(entries: list[Entry], roster: dict[str, str]) -> None:
    # Two different LMS users whose names give the same student id (two "smithj"s) keep
    # apart: both get their LMS id appended. Ids from the roster are taken as given.
    owners: dict[str, set[str]] = {}
    for e in entries:
        lms_id = e.lms.get("canvas_id") or e.lms.get("moodle_id")
        if e.student and lms_id and not any(k in roster for k in e.lms.get("keys", [])):
            owners.setdefault(e.student, set()).add(lms_id)
    for e in entries:
        lms_id = e.lms.get("canvas_id") or e.lms.get("moodle_id")
        if e.student in owners and len(owners[e.student]) > 1 and lms_id:
            e.student = f"{e.student}-{lms_id}"


def read_roster(path: Path) -> dict[str, str]:
    """Read a roster CSV with columns ``lms_id`` and ``student_id``.

    ``lms_id`` is whatever names the student in the download: a Canvas user id or
    login, a Moodle participant id or full name, or a folder name.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"lms_id", "student_id"} <= set(rows[0]):
        raise ValueError(f"roster {path} needs the columns lms_id and student_id")
    return {
        row["lms_id"].strip(): row["student_id"].strip() for row in rows if row["lms_id"].strip() and row["student_id"].strip()
    }


def nbgrader_timestamps(entries: list[Entry]) -> None:
    """Use nbgrader's ``timestamp.txt`` as the time of the notebooks next to it."""
    stamps = {}
    for e in entries:
        if e.path is not None and PurePosixPath(e.source).name == "timestamp.txt":
            try:
                from dateutil.parser import parse

                stamps[str(PurePosixPath(e.source).parent)] = parse(e.path.read_text(encoding="utf-8").strip()).timestamp()
                e.reason = "nbgrader timestamp file (used as the submission time)"
            except (ValueError, OSError, UnicodeDecodeError, OverflowError):
                e.reason = "nbgrader timestamp file, unreadable"
    for e in entries:
        folder = str(PurePosixPath(e.source).parent)
        if folder in stamps and not e.reason:
            e.time = stamps[folder]
