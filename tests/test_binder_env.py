"""Is the environment Binder builds the one the course needs, and the one the tests run in?

The fast tests read the pins; the others build the published copy's environment
as repo2docker would (``tests/binderenv.py``, once per session) and look inside it.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from platformlab_instructor import lessons

import binderenv

pytestmark = pytest.mark.binder  # builds the Binder environment: left out of `make test-fast`

PINS = lessons.root() / "binder" / "requirements.txt"
PYPROJECT = tomllib.loads((lessons.root() / "pyproject.toml").read_text(encoding="utf-8"))


def pins(path=PINS) -> dict[str, str]:
    """``{canonical name: version}`` of a requirements file of exact pins; anything else is an error."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert match, f"{path.name}: {line!r} is not an exact pin NAME==VERSION"
        name = canonicalize_name(match[1])
        assert name not in found, f"{path.name} pins {name} twice"
        found[name] = match[2]
    return found


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory):
    return binderenv.build(tmp_path_factory)


def test_pins_satisfy_pyproject():
    """Does binder/requirements.txt pin every dependency of pyproject.toml, at a version it allows?"""
    pinned = pins()
    problems = []
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            problems.append(f"{spec}: not pinned")
        elif not requirement.specifier.contains(Version(pinned[name]), prereleases=True):
            problems.append(f"{spec}: pinned at {pinned[name]}")
    assert not problems, "pyproject.toml and binder/requirements.txt disagree (run `make pins`):\n" + "\n".join(problems)


def test_runtime_is_a_python_the_package_supports():
    """Does binder/runtime.txt name a Python that pyproject.toml's requires-python admits?"""
    runtime = (PINS.parent / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt reads {runtime!r}; repo2docker expects python-X.Y"
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(match[1] + ".0")


def test_tests_run_in_the_pinned_environment():
    """Do the tests themselves run on the versions Binder installs (make installs with the pins as constraints)?"""
    differ = {}
    for name, version in pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"this test environment differs from binder/requirements.txt as (pinned, installed): {differ}"


CLOSURE = r"""
import importlib.metadata as md, json
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

seen, todo = set(), [("platformlab", "")]
while todo:
    name, extra = todo.pop()
    for spec in md.distribution(name).requires or []:
        req = Requirement(spec)
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        for wanted in [""] + sorted(req.extras):
            key = (canonicalize_name(req.name), wanted)
            if key not in seen:
                seen.add(key)
                todo.append(key)
print(json.dumps(sorted({name for name, _ in seen})))
"""


def test_binder_installs_exactly_the_pins(binder_env):
    """Does `pip install -r binder/requirements.txt` install the pins and nothing else, consistently,
    and does the package need every pinned distribution (a lean environment for mybinder.org)?"""
    binder_env.run("python", "-m", "pip", "check")
    frozen = {}
    for line in binder_env.run(
        "python", "-m", "pip", "freeze", "--all", "--exclude", "platformlab", "--exclude", "pip"
    ).stdout.splitlines():
        name, _, version = line.partition("==")
        frozen[canonicalize_name(name)] = version
    assert frozen == pins(binder_env.copy / "binder" / "requirements.txt")
    needed = set(json.loads(binder_env.run("python", "-c", CLOSURE).stdout))
    assert needed == set(frozen), (
        f"pinned but not needed: {sorted(set(frozen) - needed)}; needed but not pinned: {sorted(needed - set(frozen))}"
    )


def test_postbuild_installs_the_package_from_the_copy(binder_env):
    """Does the student's kernel import platformlab, and find its data, from the published copy, with no
    instructor tools installed?"""
    where = json.loads(
        binder_env.run(
            "python",
            "-c",
            "import json, importlib.util, platformlab, platformlab.data as d; "
            "print(json.dumps([platformlab.__file__, str(d.folder()), "
            "importlib.util.find_spec('platformlab_instructor') is None]))",
        ).stdout
    )
    copy = binder_env.copy.resolve()
    assert where == [str(copy / "src" / "platformlab" / "__init__.py"), str(copy / "data"), True]


def _extension_states(text: str) -> dict[str, bool]:
    states = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines():
        match = re.match(r"\s+(\S+)\s+(?:v\S+\s+)?(enabled|disabled)\b", line)
        if match:
            states[match[1]] = match[2] == "enabled"
    return states


def test_students_get_validate_and_widgets_but_no_instructor_tools(binder_env):
    """After postBuild, are nbgrader's instructor extensions off (and locked) while Validate and ipywidgets stay on,
    and JupyterLab's news announcements off?"""
    labs = binder_env.run("jupyter", "labextension", "list")
    text = labs.stdout + labs.stderr
    disabled_section = text.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in text else ""
    disabled = set(re.findall(r"^\s+(@\S+)\s*$", disabled_section, flags=re.M))
    instructor = {
        f"@jupyter/nbgrader:{name}" for name in ("formgrader", "create-assignment", "course-list", "assignment-list", "menu")
    }
    assert instructor <= disabled, f"still on for students: {sorted(instructor - disabled)}"
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    assert "@jupyterlab/apputils-extension:announcements" in disabled, "students would be asked to fetch Jupyter's news"
    packages = _extension_states(text)
    assert packages.get("@jupyter/nbgrader") and packages.get("@jupyter-widgets/jupyterlab-manager"), text
    config = json.loads((binder_env.venv / "etc" / "jupyter" / "labconfig" / "page_config.json").read_text())
    assert instructor <= {name for name, locked in config.get("lockedExtensions", {}).items() if locked}

    servers = binder_env.run("jupyter", "server", "extension", "list")
    states = _extension_states(servers.stdout + servers.stderr)
    nbgrader = "nbgrader.server_extensions."
    assert {
        name: states.get(nbgrader + name) for name in ("formgrader", "assignment_list", "course_list", "validate_assignment")
    } == {"formgrader": False, "assignment_list": False, "course_list": False, "validate_assignment": True}
    assert states.get("jupyterlab") is True


def binder_kernel(binder_env, folder: Path) -> AsyncKernelManager:
    """A kernel manager for the Binder environment's Python kernel (what its JupyterLab starts), driven from
    here with the watchful client (nbclient's stock one can miss a reply and sleep out the time limit: see
    ``platformlab_instructor/kernelclient.py``; a student's JupyterLab does not wait that way)."""
    spec = folder / "kernels" / "binder"
    spec.mkdir(parents=True)
    argv = [str(binder_env.bin / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Binder", "language": "python"}))
    return AsyncKernelManager(
        kernel_name="binder",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
        client_class="platformlab_instructor.kernelclient.WatchfulKernelClient",
    )


def test_solution_runs_in_binder_env(stem, binder_env, tmp_path):
    """Does the lesson's solution run top to bottom, without errors or stderr, in a kernel of Binder's
    environment (its Python, its packages, its environment variables)? (The solution is copied to a scratch
    folder beside the copy, never into it.)"""
    notebook = nbformat.read(lessons.get(stem).solution, as_version=4)
    probe = "import platformlab, sys\nprint(platformlab.__file__)\nprint(sys.executable)"
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(
        notebook,
        km=binder_kernel(binder_env, tmp_path),
        timeout=300,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    executed = client.execute(env=binder_env.environ())
    problems = [
        f"cell {number}: {output.get('ename') or output.get('text', '')[:300]}"
        for number, cell in enumerate(executed.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert not problems, f"{stem} on Binder's environment:\n" + "\n".join(problems)
    # the kernel may send the two printed lines as one stream message or as two
    module, python = "".join(output.text for output in executed.cells[-1].outputs if output.output_type == "stream").split()
    assert module.startswith(str(binder_env.copy.resolve() / "src")) and python.startswith(str(binder_env.venv)), (module, python)
