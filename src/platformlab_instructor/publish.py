"""Publish the student-only copy of the course: the repository that Binder builds.

The instructor's repository holds solutions, hidden tests and wrong-answer
fixtures, so it is never what students launch. :func:`publish` writes a copy
with only what a student needs:

- ``lessons/`` (the student notebooks nbgrader generated), ``data/``, the
  student runtime (``src/platformlab``, never the instructor's tools in
  ``src/platformlab_instructor``) and ``binder/`` (pinned requirements,
  ``runtime.txt``, ``postBuild``);
- a ``pyproject.toml`` that declares only what is there (the runtime package; no
  instructor command, no test extras, no test configuration);
- a student ``README.md`` (Binder badge, running locally, checking work,
  downloading and submitting) and the licence. Given the course's JupyterHub
  (``hub``), the README also links each lesson through nbgitpuller
  (:func:`hub_url`): the link pulls the copy into the student's home on the hub
  and opens the lesson in JupyterLab.

:func:`leaks` scans a published copy for anything that must not reach a
student: nbgrader's solution, hidden-test and mark-scheme markers, any line that
occurs only in solution code, hidden tests or model answers of ``solutions/``,
any line of an answer fixture or a teaching note, and files that are not part of the copy.
:func:`publish` refuses to finish when it finds one. It does not run git: commit
and push the copy yourself.
"""

from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from . import answers
from . import lessons as catalogue
from .errors import PlatformlabError
from .regions import DELIMITER, MARKER, has_delimiters, regions

#: What a published copy holds at its top level; anything else there is refused.
CONTENTS = ("README.md", "LICENSE", "pyproject.toml", ".gitignore", "binder", "data", "lessons", "src")
TEMPLATE = Path(__file__).parent / "templates" / "student-README.md"
HUB_TEMPLATE = Path(__file__).parent / "templates" / "student-README-hub.md"
BINDER = "https://mybinder.org/v2/gh/{repo}/{ref}?urlpath={urlpath}"
BADGE = "https://mybinder.org/badge_logo.svg"
#: nbgitpuller's link: the hub sends a logged-in student to their server's git-pull page.
NBGITPULLER = "{hub}/hub/user-redirect/git-pull?{query}"
#: Secret lines this long are caught inside longer lines too; shorter ones only as whole lines.
LONG = 25
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")
GITIGNORE = "__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n.venv/\n"

_GITHUB = re.compile(r"github\.com[:/](?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")
_HUB = re.compile(r"https?://[^/?#\s]+(?:/[^?#\s]*)?")


class PublishError(PlatformlabError):
    """The copy cannot be published as asked; the message says why."""


@dataclass(frozen=True)
class Leak:
    """Something in a published copy that must not reach a student."""

    path: str
    where: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}{' ' + self.where if self.where else ''}: {self.kind}: {self.text[:120]}"


def binder_url(repo: str, lesson: str, ref: str = "HEAD") -> str:
    """The mybinder.org address that builds ``repo`` (``owner/name`` on GitHub) and
    opens ``lesson`` (``01-platform-economics.ipynb``) in JupyterLab."""
    return BINDER.format(repo=repo, ref=ref, urlpath=f"lab/tree/lessons/{lesson}")


def hub_folder(git_url: str) -> str:
    """The folder nbgitpuller clones ``git_url`` into, in the student's home: the URL's last part,
    as nbgitpuller names it (``https://github.com/o/name`` -> ``name``; a ``.git`` ending is kept)."""
    return git_url.rstrip("/").split("/")[-1]


def hub_url(hub: str, git_url: str, lesson: str, branch: str = "main") -> str:
    """The nbgitpuller link that makes JupyterHub ``hub`` (``https://hub.example.edu``) pull the git
    repository ``git_url`` (branch ``branch``) into the student's home and open ``lesson``
    (``01-platform-economics.ipynb``) in JupyterLab. Each value is query-encoded, as nbgitpuller's link
    generator does; the ``urlpath`` is relative to the server, so it names the clone's folder."""
    git_url = git_url.rstrip("/")  # nbgitpuller names the folder from the last part of the URL
    urlpath = f"lab/tree/{quote(hub_folder(git_url))}/lessons/{quote(lesson)}"
    return NBGITPULLER.format(hub=hub.rstrip("/"), query=urlencode({"repo": git_url, "branch": branch, "urlpath": urlpath}))


def hub_links(dest: Path, hub: str, hub_repo: str | None = None, branch: str = "main", repo: str | None = None) -> dict[str, str]:
    """Lesson file name -> nbgitpuller link, for each lesson of the published copy ``dest``. ``hub_repo``
    is the git URL the hub pulls from; by default the public GitHub repository ``repo`` (``owner/name``,
    by default that of ``dest``'s remote ``origin``)."""
    git_url = hub_repo or _github_url(_repo(dest, repo))
    return {path.name: hub_url(hub, git_url, path.name, branch) for path in sorted((Path(dest) / "lessons").glob("*.ipynb"))}


def _github_url(repo: str) -> str:
    return f"https://github.com/{repo}"


def _repo(dest: Path, repo: str | None) -> str:
    repo = repo or github_repo(dest)
    if not repo or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise PublishError(
            f"name the public GitHub repository for the Binder badge as OWNER/NAME (got {repo!r}), or publish into a clone of it"
        )
    return repo


def _check_hub(hub: str | None, hub_repo: str | None, hub_branch: str) -> None:
    if hub is None:
        if hub_repo is not None:
            raise PublishError("a repository for the hub (hub_repo) needs a hub URL (hub) to link to")
        return
    if not _HUB.fullmatch(hub):
        raise PublishError(f"the JupyterHub address should be an http(s) URL such as https://hub.example.edu (got {hub!r})")
    if hub_repo is not None and not hub_repo.rstrip("/"):
        raise PublishError("the repository the hub pulls from (hub_repo) is empty")
    if not hub_branch or hub_branch.strip() != hub_branch:
        raise PublishError(f"name the branch the hub pulls (got {hub_branch!r})")


def github_repo(folder: Path) -> str | None:
    """``owner/name`` of the GitHub remote ``origin`` of the git checkout ``folder``, if it has one."""
    if not (Path(folder) / ".git").exists():
        return None
    try:
        url = subprocess.run(
            ["git", "-C", str(folder), "config", "--get", "remote.origin.url"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except FileNotFoundError:
        return None
    match = _GITHUB.search(url)
    return match["repo"] if match else None


def publish(
    dest: Path,
    repo: str | None = None,
    ref: str = "HEAD",
    root: Path | None = None,
    hub: str | None = None,
    hub_repo: str | None = None,
    hub_branch: str = "main",
) -> list[Path]:
    """Write the student-only copy of the course at ``root`` to ``dest``; return the files written.

    ``repo`` (``owner/name``) is the public GitHub repository the Binder badge
    builds; by default, that of ``dest``'s git remote ``origin``. With ``hub``
    (the course's JupyterHub, ``https://hub.example.edu``), the README also links
    each lesson through nbgitpuller (:func:`hub_url`), pulling branch ``hub_branch``
    of ``hub_repo`` (a git URL; by default ``https://github.com/{repo}``). ``dest`` must
    be empty, missing, or a previous copy (what :data:`CONTENTS` names, and
    ``.git``): those entries are replaced, ``.git`` is kept. The copy is made
    and scanned beside ``dest`` first, so a leak leaves ``dest`` untouched.
    Does not regenerate ``lessons/`` (``platformlab generate`` does) and runs no git.
    """
    root, dest = Path(root or catalogue.root()).resolve(), Path(dest).resolve()
    if dest == root or root.is_relative_to(dest):
        raise PublishError(f"{dest} holds the instructor's repository; publish to another folder")
    repo = _repo(dest, repo)
    _check_hub(hub, hub_repo, hub_branch)
    if dest.exists():
        strangers = sorted(p.name for p in dest.iterdir() if p.name not in CONTENTS and p.name != ".git")
        if strangers:
            raise PublishError(f"{dest} is not empty and not a published copy: it holds {', '.join(strangers)}")
    found = _lessons(root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".platformlab-publish-", dir=dest.parent) as tmp:
        stage = Path(tmp)
        _write(stage, root, found, repo, ref, hub and (hub, hub_repo or _github_url(repo), hub_branch))
        problems = leaks(stage, root)
        if problems:
            raise PublishError("the student copy would leak:\n" + "\n".join(f"  {leak}" for leak in problems[:20]))
        dest.mkdir(exist_ok=True)
        for name in CONTENTS:
            old = dest / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
            shutil.move(stage / name, old)
    return sorted(path for path in dest.rglob("*") if path.is_file() and ".git" not in path.relative_to(dest).parts)


def _lessons(root: Path) -> list[catalogue.Lesson]:
    sources = catalogue.find(root / "solutions")
    students = {lesson.stem for lesson in catalogue.find(root / "lessons")}
    if not sources:
        raise PublishError(f"no lessons in {root / 'solutions'}")
    missing = [lesson.filename for lesson in sources if lesson.stem not in students]
    stale = sorted(students - {lesson.stem for lesson in sources})
    if missing or stale:
        raise PublishError(
            "lessons/ does not match solutions/ (run `platformlab generate`): "
            + "; ".join(
                filter(None, [missing and f"missing {', '.join(missing)}", stale and f"no source for {', '.join(stale)}"])
            )
        )
    return sources


def _write(
    stage: Path, root: Path, found: list[catalogue.Lesson], repo: str, ref: str, hub: tuple[str, str, str] | None = None
) -> None:
    (stage / "lessons").mkdir()
    for lesson in found:
        shutil.copyfile(root / "lessons" / lesson.filename, stage / "lessons" / lesson.filename)
    shutil.copytree(root / "data", stage / "data", ignore=IGNORED)
    shutil.copytree(root / "src" / "platformlab", stage / "src" / "platformlab", ignore=IGNORED)
    shutil.copytree(root / "binder", stage / "binder", ignore=IGNORED)
    shutil.copyfile(root / "LICENSE", stage / "LICENSE")
    (stage / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (stage / "pyproject.toml").write_text(student_pyproject(root / "pyproject.toml"), encoding="utf-8")
    (stage / "README.md").write_text(student_readme(root, found, repo, ref, hub), encoding="utf-8")


def student_readme(
    root: Path, found: list[catalogue.Lesson], repo: str, ref: str = "HEAD", hub: tuple[str, str, str] | None = None
) -> str:
    """The student README: the Binder badge opens the first lesson; a table links every lesson.
    With ``hub`` (its URL, the git URL it pulls and the branch), the table also has each lesson's
    nbgitpuller link, and a section says how to work on the hub."""
    head, rule = ["lesson", "launch"], ["---", "---"]
    if hub:
        head, rule = [*head, "on the course's JupyterHub"], [*rule, "---"]
    rows = []
    for lesson in found:
        title = lesson_title(root / "lessons" / lesson.filename) or lesson.stem
        cells = [f"[{title}](lessons/{lesson.filename})", f"[![Binder]({BADGE})]({binder_url(repo, lesson.filename, ref)})"]
        if hub:
            cells.append(f"[open on JupyterHub]({hub_url(hub[0], hub[1], lesson.filename, hub[2])})")
        rows.append(f"| {' | '.join(cells)} |")
    first = found[0]
    hub_section = ""
    if hub:
        hub_section = (
            string.Template(HUB_TEMPLATE.read_text(encoding="utf-8"))
            .substitute(hub=hub[0].rstrip("/"), hub_folder=hub_folder(hub[1]))
            .strip()
        )
    readme = string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        badge=f"[![Binder]({BADGE})]({binder_url(repo, first.filename, ref)})",
        first=first.filename,
        lessons="\n".join(f"| {' | '.join(row)} |" for row in (head, rule)) + "\n" + "\n".join(rows),
        hub_section=hub_section,
        repo=repo,
        clone=f"https://github.com/{repo}.git",
        folder=repo.split("/")[1],
    )
    return re.sub(r"\n{3,}", "\n\n", readme)  # no empty section where there is no hub


def lesson_title(notebook: Path) -> str | None:
    """The first level-1 heading of a notebook, or None."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def student_pyproject(path: Path) -> str:
    """The instructor's ``pyproject.toml`` less what the student copy lacks: test
    extras (the tests are not published) and tool settings other than the build's."""
    config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    project = {key: value for key, value in config["project"].items() if key not in ("optional-dependencies", "scripts")}
    tables = {
        "build-system": config["build-system"],
        "project": project,
        "tool": {"hatch": {"build": {"targets": {"wheel": {"packages": ["src/platformlab"]}}}}},
    }
    head = "# The student copy of platformlab, written by `platformlab publish`: edit the course's own repository instead.\n"
    return head + _toml(tables)


def _toml(tables: dict, prefix: str = "") -> str:
    lines, subtables = [], []
    for key, value in tables.items():
        if isinstance(value, dict):
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    out = ""
    if lines:
        out += (f"\n[{prefix}]\n" if prefix else "") + "\n".join(lines) + "\n"
    for key, value in subtables:
        out += _toml(value, f"{prefix}.{_key(key)}" if prefix else _key(key))
    return out


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_value(item)},\n" for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


# --- leak detection ---------------------------------------------------------------


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _split(cell: dict) -> tuple[list[str], list[str]]:
    """A cell's lines as (hidden from students, shown to students) by nbgrader's rules."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    source = _source(cell)
    if meta.get("solution") and not has_delimiters(source):
        return source.splitlines(), []  # a solution cell without delimiters is replaced whole
    hidden, shown = [], []
    for region, line in regions(source):
        if region is None:
            shown.append(line)
        elif region != DELIMITER:
            hidden.append(line)
    return hidden, shown


def _significant(line: str) -> bool:
    """Whether a line says enough to give something away (not ``return x``, not an import)."""
    text = line.strip()
    return len(text) >= 12 and any(ch.isalnum() for ch in text) and not re.match(r"(?:import\s|from\s+\S+\s+import\s|#)", text)


def secret_lines(root: Path | None = None) -> dict[str, str]:
    """Every significant line that a student must not see, with where it comes from:
    lines only in solution code, hidden tests or model answers of ``solutions/``,
    and lines of the answer fixtures and teaching notes, less any line the lessons show anyway."""
    root = Path(root or catalogue.root())
    hidden: dict[str, str] = {}
    shown: set[str] = set()
    for notebook in sorted((Path(root) / "solutions").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            secret, visible = _split(cell)
            shown.update(line.strip() for line in visible)
            for line in secret:
                hidden.setdefault(line.strip(), f"solution-only line of solutions/{notebook.name}")
    for module in sorted((root / "src" / "platformlab").rglob("*.py")):  # the runtime is published anyway
        shown.update(line.strip() for line in module.read_text(encoding="utf-8").splitlines())
    for notebook in sorted((root / "lessons").glob("*.ipynb")):  # so are the student lessons (nbgrader's stubs)
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            shown.update(line.strip() for line in _source(cell).splitlines())
    for line, where in answers.every_source_line(root).items():
        hidden.setdefault(line, f"answer-fixture line of {where}")
    for note in sorted((root / "instructor").glob("*.md")):
        for line in note.read_text(encoding="utf-8").splitlines():
            hidden.setdefault(line.strip(), f"teaching-note line of instructor/{note.name}")
    shown_text = "\n".join(shown)  # what a student reads anyway, also inside longer lines
    return {
        line: why
        for line, why in hidden.items()
        if _significant(line) and line not in shown and not (len(line) >= LONG and line in shown_text)
    }


def _texts(path: Path):
    """(where, line) for each line of a file: of cell sources and outputs in a notebook."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return  # not text: images and the like hold no code
    if path.suffix == ".ipynb":
        for number, cell in enumerate(json.loads(text).get("cells", []), start=1):
            chunks = [_source(cell)]
            for output in cell.get("outputs", []):
                chunks += [output.get("text", "")] + list(output.get("data", {}).values())
            for chunk in chunks:
                chunk = "".join(chunk) if isinstance(chunk, list) else str(chunk)
                yield from ((f"cell {number}", line) for line in chunk.splitlines())
    else:
        yield from ((f"line {number}", line) for number, line in enumerate(text.splitlines(), start=1))


def leaks(dest: Path, root: Path | None = None) -> list[Leak]:
    """Everything in the published copy ``dest`` that must not reach a student (empty: none)."""
    dest = Path(dest)
    secrets = secret_lines(root or catalogue.root())
    long_secrets = [line for line in secrets if len(line) >= LONG]
    found = []
    for path in sorted(dest.rglob("*")):
        relative = path.relative_to(dest)
        if relative.parts[0] == ".git":
            continue
        name = relative.as_posix()
        if relative.parts[0] not in CONTENTS:
            found.append(Leak(name, "", "not part of the student copy", relative.parts[0]))
            continue
        banned = {"solutions", "answers", "instructor", "tests", "source", "autograded", "submitted", "feedback"} & set(
            relative.parts[:-1]
        )
        if banned or path.name == "gradebook.db":
            found.append(Leak(name, "", "instructor material", ", ".join(sorted(banned)) or path.name))
            continue
        if path.suffix == ".ipynb" and relative.parts[0] != "lessons":
            found.append(Leak(name, "", "notebook outside lessons/", name))
        if not path.is_file():
            continue
        for where, line in _texts(path):
            if MARKER.search(line):
                found.append(Leak(name, where, "nbgrader marker", line.strip()))
            elif line.strip() in secrets:
                found.append(Leak(name, where, secrets[line.strip()], line.strip()))
            else:
                inside = next((secret for secret in long_secrets if secret in line), None)
                if inside:
                    found.append(Leak(name, where, secrets[inside], line.strip()))
    return found
