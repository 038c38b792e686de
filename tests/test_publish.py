"""Does `platformlab publish` write a student-only copy, and does nothing of the instructor's leak into it?"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from platformlab_instructor import lessons
from platformlab_instructor.cli import main
from platformlab_instructor.publish import CONTENTS, PublishError, binder_url, hub_url, leaks, publish, secret_lines

REPO = "example-org/platformlab-student"
HUB = "https://hub.example.edu"
NBGITPULLER = re.compile(r"https?://[^\s)]+/hub/user-redirect/git-pull\?[^\s)]+")
ROOT = lessons.root()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("published") / "copy"
    publish(dest, repo=REPO)
    return dest


@pytest.fixture
def copy(published, tmp_path) -> Path:
    """A scratch copy of the published copy, to plant leaks in."""
    return Path(shutil.copytree(published, tmp_path / "copy", symlinks=True))


def instructor_repo(target: Path) -> Path:
    """A scratch copy of what publish reads from the instructor's repository."""
    for name in ("solutions", "lessons", "data", "binder", "tests/answers", "src/platformlab"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("LICENSE", "pyproject.toml"):
        shutil.copyfile(ROOT / name, target / name)
    return target


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_copy_holds_the_student_material_and_nothing_else(published):
    """Does the copy hold exactly the lessons, data, package, binder/, README, licence and pyproject?"""
    assert {p.name for p in published.iterdir()} == set(CONTENTS)
    assert files(published / "lessons") == {lesson.filename for lesson in lessons.find()}
    for lesson in lessons.find():
        assert (published / "lessons" / lesson.filename).read_bytes() == lesson.student.read_bytes()
    assert files(published / "data") == files(ROOT / "data")
    assert files(published / "src" / "platformlab") == files(ROOT / "src" / "platformlab")
    assert files(published / "binder") == files(ROOT / "binder")
    assert os.access(published / "binder" / "postBuild", os.X_OK), "repo2docker runs binder/postBuild only if it is executable"
    assert (published / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    notebooks = {p.relative_to(published).parts[0] for p in published.rglob("*.ipynb")}
    assert notebooks == {"lessons"}


def test_copy_leaks_nothing(published):
    """Does the scan find no solution or hidden-test marker, no solution-only line and no wrong answer in the copy?"""
    assert leaks(published) == []


def test_secret_lines_cover_each_solution_and_hidden_test():
    """Does the scan know at least one line of every solution cell, hidden-test block and model answer?"""
    secrets = secret_lines()
    for lesson in lessons.find():
        for cell in nbformat.read(lesson.solution, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            blocks = re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, flags=re.S)
            if meta.get("solution") or blocks:
                assert any(line.strip() in secrets for line in "".join(blocks or [cell.source]).splitlines()), (
                    f"{lesson.stem} cell {meta.get('grade_id')}: no line of its hidden part would be caught"
                )


def _first_secret(kind: str) -> str:
    return next(line for line, why in secret_lines().items() if why.startswith(kind))


def _plant_solution_notebook(copy):
    shutil.copyfile(lessons.find()[0].solution, copy / "lessons" / lessons.find()[0].filename)


def _plant_solution_code_without_markers(copy):
    path = copy / "lessons" / lessons.find()[0].filename
    notebook = nbformat.read(path, as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    answer.source = answer.source.replace("raise NotImplementedError()", _first_secret("solution-only"), 1)
    nbformat.write(notebook, path)


def _plant_hidden_test_in_package(copy):
    hidden = next(line for line, why in secret_lines().items() if line.startswith("assert ") and why.startswith("solution-only"))
    with open(copy / "src" / "platformlab" / "plots.py", "a", encoding="utf-8") as module:
        module.write(f"\n# {hidden}\n")


def _plant_model_answer_in_readme(copy):
    answer = next(line for line in secret_lines() if line.startswith("Model answer"))
    with open(copy / "README.md", "a", encoding="utf-8") as readme:
        readme.write(f"\n{answer}\n")


def _plant_wrong_answer_in_data(copy):
    with open(copy / "data" / "excerpts.yaml", "a", encoding="utf-8") as catalogue:
        catalogue.write(f"\n#     {_first_secret('answer-fixture')}\n")


def _plant_wrong_answer_fixtures(copy):
    shutil.copytree(ROOT / "tests" / "answers", copy / "src" / "platformlab" / "tests" / "answers")


def _plant_solutions_folder(copy):
    shutil.copytree(ROOT / "solutions", copy / "solutions")


PLANTS = {
    "solution notebook as a lesson": (_plant_solution_notebook, "nbgrader marker"),
    "solution code without markers": (_plant_solution_code_without_markers, "solution-only line"),
    "hidden test in the package": (_plant_hidden_test_in_package, "solution-only line"),
    "model answer in the README": (_plant_model_answer_in_readme, "solution-only line"),
    "wrong answer in the data": (_plant_wrong_answer_in_data, "answer-fixture line"),
    "wrong-answer fixtures": (_plant_wrong_answer_fixtures, "instructor material"),
    "solutions folder": (_plant_solutions_folder, "not part of the student copy"),
}


@pytest.mark.parametrize("plant", PLANTS, ids=list(PLANTS))
def test_scan_catches_a_planted_leak(copy, plant):
    """Is each kind of leak, planted in a clean copy, reported by the scan?"""
    make, kind = PLANTS[plant]
    make(copy)
    found = leaks(copy)
    assert any(leak.kind.startswith(kind) for leak in found), f"{plant}: the scan reported {[str(leak) for leak in found]}"


def test_publish_refuses_to_leak_and_leaves_dest_alone(tmp_path):
    """When lessons/ holds a solution, does publish refuse, and leave the previous copy as it was?"""
    root = instructor_repo(tmp_path / "instructor")
    dest = tmp_path / "copy"
    publish(dest, repo=REPO, root=root)
    before = {name: (dest / name).read_bytes() for name in files(dest)}
    lesson = lessons.find()[0].filename
    shutil.copyfile(root / "solutions" / lesson, root / "lessons" / lesson)
    with pytest.raises(PublishError, match="would leak"):
        publish(dest, repo=REPO, root=root)
    assert {name: (dest / name).read_bytes() for name in files(dest)} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".platformlab-publish-")], "a staging folder was left behind"


def test_publish_refuses_missing_lessons(tmp_path):
    """Does publish refuse when a solution has no generated student lesson?"""
    root = instructor_repo(tmp_path / "instructor")
    (root / "lessons" / lessons.find()[0].filename).unlink()
    with pytest.raises(PublishError, match="platformlab generate"):
        publish(tmp_path / "copy", repo=REPO, root=root)


def test_publish_refuses_a_folder_that_is_not_a_copy(tmp_path):
    """Does publish refuse to overwrite a folder holding anything a copy does not (it would delete it)?"""
    dest = tmp_path / "somewhere"
    dest.mkdir()
    (dest / "thesis.tex").write_text("precious")
    with pytest.raises(PublishError, match="thesis.tex"):
        publish(dest, repo=REPO)
    assert (dest / "thesis.tex").read_text() == "precious"


def test_republish_into_a_clone_keeps_git_and_reads_its_remote(tmp_path):
    """Publishing into a clone of the public repository: is .git kept, a stale lesson dropped,
    and the badge pointed at the clone's GitHub remote?"""
    dest = tmp_path / "clone"
    dest.mkdir()
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(
        ["git", "-C", str(dest), "remote", "add", "origin", "git@github.com:some-school/platforms-2027.git"], check=True
    )
    publish(dest, repo=REPO)
    (dest / "lessons" / "99-withdrawn.ipynb").write_text("{}")
    publish(dest)
    assert (dest / ".git" / "config").exists()
    assert not (dest / "lessons" / "99-withdrawn.ipynb").exists()
    assert (
        "https://mybinder.org/v2/gh/some-school/platforms-2027/HEAD?urlpath=lab/tree/lessons/" in (dest / "README.md").read_text()
    )


def test_readme_launches_lesson_01_and_explains_the_student_path(published):
    """Does the student README's badge open lesson 01 in JupyterLab, and does it say how to run locally,
    check work, and download and submit?"""
    readme = (published / "README.md").read_text(encoding="utf-8")
    first = lessons.find()[0].filename
    badge = f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(REPO, first)})"
    assert readme.split("\n\n")[1] == badge, "the badge should come straight after the title"
    assert binder_url(REPO, first) == f"https://mybinder.org/v2/gh/{REPO}/HEAD?urlpath=lab/tree/lessons/{first}"
    for heading in ("## Work on Binder", "## Work on your own computer", "## Check your work", "## Download and submit"):
        assert heading in readme
    for step in (
        "pip install -r binder/requirements.txt",
        "pip install --no-deps -e .",
        "platformlab lab",
        "Validate",
        "File → Download",
        "Restart Kernel and Run All Cells",
    ):
        assert step in readme, step
    for target in re.findall(r"\]\((lessons/[^)]+)\)", readme):
        assert (published / target).is_file(), f"README links to missing {target}"
    assert "$" not in readme.replace("$ ", ""), "a template placeholder was left unfilled"


def test_pyproject_declares_only_what_the_copy_has(published):
    """Does the copy's pyproject.toml keep the runtime's dependencies, and drop the instructor's command, the
    test extras and test settings whose files are not published?"""
    student = tomllib.loads((published / "pyproject.toml").read_text(encoding="utf-8"))
    instructor = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "optional-dependencies" not in student["project"]
    assert set(student.get("tool", {})) <= {"hatch"}
    assert student["project"]["dependencies"] == instructor["project"]["dependencies"]
    assert student["build-system"] == instructor["build-system"]
    assert (published / student["project"]["readme"]).is_file()
    assert student["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/platformlab"]
    assert (published / "src" / "platformlab" / "__init__.py").is_file()
    assert "scripts" not in student["project"], "the instructor's command is not in the student copy"


def test_cli_publish(tmp_path, capsys):
    """Does `platformlab publish DEST --repo OWNER/NAME` check the lessons, write the copy and say so;
    and without a repository to launch, does it explain what to give?"""
    assert main(["publish", str(tmp_path / "copy"), "--repo", REPO]) == 0
    assert "no leaks found" in capsys.readouterr().out
    assert leaks(tmp_path / "copy") == []
    assert main(["publish", str(tmp_path / "other"), "--skip-check"]) == 1
    assert "OWNER/NAME" in capsys.readouterr().err


def hub_links_in(readme: str) -> list[str]:
    return NBGITPULLER.findall(readme)


def check_hub_link(link: str, copy: Path, hub: str, git_url: str, branch: str = "main") -> str:
    """Is ``link`` nbgitpuller's link on ``hub`` to pull ``git_url`` and open a lesson of ``copy`` in
    JupyterLab? Return the lesson's file name."""
    parts, base = urlsplit(link), urlsplit(hub)
    assert (parts.scheme, parts.netloc) == (base.scheme, base.netloc), link
    assert parts.path == base.path.rstrip("/") + "/hub/user-redirect/git-pull", link
    assert not parts.fragment, link
    query = parse_qs(parts.query, strict_parsing=True)
    assert set(query) == {"repo", "branch", "urlpath"} and all(len(v) == 1 for v in query.values()), query
    assert query["repo"] == [git_url] and query["branch"] == [branch], query
    # nbgitpuller clones into the home folder under the repository's last name; urlpath is relative to the server.
    folder, lesson = re.fullmatch(r"lab/tree/([^/]+)/lessons/([^/]+\.ipynb)", query["urlpath"][0]).groups()
    assert folder == git_url.rstrip("/").split("/")[-1], query["urlpath"]
    assert (copy / "lessons" / lesson).is_file(), f"{link} opens {lesson}, which the copy lacks"
    return lesson


def test_no_hub_no_hub_links(published):
    """Without a hub, does the README stay as it was: no nbgitpuller link, no JupyterHub section?"""
    readme = (published / "README.md").read_text(encoding="utf-8")
    assert not hub_links_in(readme) and "git-pull" not in readme and "JupyterHub" not in readme
    assert "| lesson | launch |\n| --- | --- |\n" in readme
    assert "\n\n\n" not in readme, "an empty hub section left blank lines"


def test_hub_links_open_each_lesson(tmp_path):
    """With --hub, does the README link every lesson, beside its Binder badge, through nbgitpuller on that hub
    (well-formed, pulling the public copy, opening a lesson that exists in JupyterLab), and say how to work there?"""
    dest = tmp_path / "copy"
    publish(dest, repo=REPO, hub=HUB + "/")
    readme = (dest / "README.md").read_text(encoding="utf-8")
    links = hub_links_in(readme)
    opened = [check_hub_link(link, dest, HUB, f"https://github.com/{REPO}") for link in links]
    assert opened == [lesson.filename for lesson in lessons.find()]
    for lesson, link in zip(lessons.find(), links):
        row = next(line for line in readme.splitlines() if link in line)
        assert binder_url(REPO, lesson.filename) in row, f"{lesson.filename}: the hub link is not beside its Binder badge"
    assert "## Work on the course's JupyterHub" in readme and HUB in readme
    assert "`platformlab-student/lessons/`" in readme
    assert readme.split("\n\n")[1].startswith("[![Binder]"), "the Binder badge should still come straight after the title"
    assert "$" not in readme.replace("$ ", ""), "a template placeholder was left unfilled"
    assert leaks(dest) == []


def test_hub_url_encodes_like_nbgitpuller():
    """Is each value query-encoded, the folder named as nbgitpuller names its clone, and a hub under a path kept?"""
    link = hub_url(
        "https://uni.example.edu/jupyter/", "https://gitlab.example.edu/teach/platforms 2027.git/", "01-a.ipynb", "fall/2027"
    )
    parts = urlsplit(link)
    assert parts.netloc == "uni.example.edu" and parts.path == "/jupyter/hub/user-redirect/git-pull"
    assert "repo=https%3A%2F%2Fgitlab.example.edu%2Fteach%2Fplatforms+2027.git&branch=fall%2F2027&urlpath=lab%2Ftree%2F" in link
    query = parse_qs(parts.query)
    assert query == {
        "repo": ["https://gitlab.example.edu/teach/platforms 2027.git"],
        "branch": ["fall/2027"],
        "urlpath": ["lab/tree/platforms%202027.git/lessons/01-a.ipynb"],
    }


def test_publish_refuses_a_bad_hub(tmp_path):
    """Does publish refuse a hub that is not an http(s) URL, and a hub repository without a hub, writing nothing?"""
    for kwargs in (
        {"hub": "hub.example.edu"},
        {"hub": "https://hub.example.edu/?next=x"},
        {"hub_repo": "/srv/course"},
        {"hub": HUB, "hub_branch": ""},
    ):
        with pytest.raises(PublishError):
            publish(tmp_path / "copy", repo=REPO, **kwargs)
    assert not (tmp_path / "copy").exists()


def test_cli_publish_prints_hub_links(tmp_path, capsys):
    """Does `platformlab publish DEST --repo OWNER/NAME --hub URL --hub-repo URL` print one nbgitpuller link per
    lesson, the ones in the README; and does --hub-repo without --hub stop at the command line?"""
    dest, local = tmp_path / "copy", str(tmp_path / "public" / "platforms")
    assert (
        main(["publish", str(dest), "--repo", REPO, "--hub", HUB, "--hub-repo", local, "--hub-branch", "spring", "--skip-check"])
        == 0
    )
    printed = hub_links_in(capsys.readouterr().out)
    assert printed == hub_links_in((dest / "README.md").read_text(encoding="utf-8"))
    assert [check_hub_link(link, dest, HUB, local, "spring") for link in printed] == [
        lesson.filename for lesson in lessons.find()
    ]
    with pytest.raises(SystemExit) as stopped:
        main(["publish", str(tmp_path / "other"), "--repo", REPO, "--hub-repo", local, "--skip-check"])
    assert stopped.value.code == 2 and "--hub" in capsys.readouterr().err
