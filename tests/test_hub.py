"""Does a class on a JupyterHub work: does the README's nbgitpuller link open lesson 01 there?

Real parts, on this machine's loopback only, all in the test's own temporary folder:

- the published student copy, made a local git repository (``git init``, one commit) that
  nbgitpuller pulls, as a hub would pull the public copy from GitHub;
- configurable-http-proxy from the npm registry (``npm install --prefix`` into the temporary folder,
  at the pinned :data:`PROXY_VERSION`; npm's cache makes later runs quick);
- JupyterHub from PyPI (the ``test`` extra, pinned in ``tests/pins.txt``) with the
  ``DummyAuthenticator`` (one password) and ``SimpleLocalProcessSpawner`` (homes in the temporary
  folder), run from the test environment;
- the student's single-user server in the environment Binder builds from ``binder/``
  (``tests/binderenv.py``: the pins, nbgitpuller among them, then ``postBuild``), as a Zero to
  JupyterHub image built by repo2docker serves it. repo2docker's base environment brings
  ``jupyterhub-singleuser``; here the pinned ``jupyterhub`` package is installed beside that
  environment (``pip install --target``) and added at the end of the server's ``sys.path`` only, so
  nothing of it shadows the pins and the student's kernel never sees it. ``--allow-root`` when the hub
  runs as root, as CI does;
- Debian's chromium driven by Playwright, as in ``tests/test_browser.py``.

A student logs in, follows the nbgitpuller link, sees lesson 01 open in JupyterLab, runs the cell
that shows an excerpt and sees the quotation render. The last test stops the hub by its process id
and checks that the proxy, the single-user server and its kernel are gone too.
Screenshots go to ``test-artifacts/hub/``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import yaml
from playwright.sync_api import expect

from platformlab_instructor import lessons
from platformlab_instructor.publish import publish
from test_browser import BUSY, CELLS, chromium_page, free_port, menu, prompts, wait_for_run

import binderenv
import processes

pytestmark = pytest.mark.browser

#: configurable-http-proxy, JupyterHub's default proxy, from the npm registry.
PROXY_VERSION = "5.3.0"
PUBLIC_REPO = "example-org/platformlab-student"
STUDENT = "student"
LESSON = lessons.find()[0]
ARTIFACTS = lessons.root() / "test-artifacts" / "hub"
WAIT_MS = 120_000
START_S = 90  # for the hub to answer
STOP_S = 60  # for the hub, and then everything it started, to exit


def _run(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if done.returncode:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hub")


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory):
    return binderenv.build(tmp_path_factory)


@pytest.fixture(scope="module")
def singleuser(binder_env, workdir) -> list[str]:
    """The command that starts a student's server in the Binder environment, with JupyterHub's
    single-user code (the pinned ``jupyterhub``) from a folder beside it, after its own packages.

    ``pip install --prefix`` puts there only what the environment lacks (jupyterhub and the half of its
    requirements the pins do not hold), where ``--target`` would install all of them again, only to be
    shadowed by the environment's own copies. The constraints are the pins, so pip has nothing to upgrade.
    """
    overlay = workdir / "singleuser-overlay"
    root = lessons.root()
    python = str(binder_env.bin / "python")
    binder_env.run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",  # as for the environment (tests/binderenv.py)
        "--prefix",
        str(overlay),
        "-c",
        str(root / "binder" / "requirements.txt"),
        "-c",
        str(root / "tests" / "pins.txt"),
        "jupyterhub",
    )
    where = "import sys, sysconfig; print(sysconfig.get_path('purelib', vars={'base': sys.argv[1], 'platbase': sys.argv[1]}))"
    packages = binder_env.run(python, "-c", where, str(overlay)).stdout.strip()
    assert (Path(packages) / "jupyterhub").is_dir(), f"pip put jupyterhub elsewhere than {packages}"
    code = f"import sys; sys.path.append({packages!r}); from jupyterhub.singleuser import main; sys.exit(main())"
    return [python, "-c", code]


@pytest.fixture(scope="module")
def proxy_command(workdir) -> Path:
    """configurable-http-proxy, installed from the npm registry into the test's own folder."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is not on PATH: JupyterHub's proxy, configurable-http-proxy, comes from the npm registry "
            "(install Node.js and npm, e.g. Debian's nodejs and npm packages)"
        )
    prefix = workdir / "npm"
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false")
    _run(
        [npm, "install", "--prefix", str(prefix), "--omit=dev", "--no-save", f"configurable-http-proxy@{PROXY_VERSION}"],
        timeout=300,
        env=env,
    )
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    assert command.exists(), f"npm installed no {command}"
    return command


@dataclass
class Ports:
    public: int = field(default_factory=free_port)  # the proxy: what students open
    api: int = field(default_factory=free_port)  # the proxy's REST API, for the hub
    hub: int = field(default_factory=free_port)  # the hub itself, behind the proxy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public}"


@pytest.fixture(scope="module")
def ports() -> Ports:
    return Ports()


@pytest.fixture(scope="module")
def course(workdir, ports) -> Path:
    """The published student copy with links to this hub, as a local git repository nbgitpuller can pull."""
    repo = workdir / "platformlab-student"
    publish(repo, repo=PUBLIC_REPO, hub=ports.url, hub_repo=str(repo))
    git = [
        "git",
        "-C",
        str(repo),
        "-c",
        "user.name=platformlab tests",
        "-c",
        "user.email=tests@platformlab.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    _run(["git", "init", "-q", "-b", "main", str(repo)], timeout=60)
    _run([*git, "add", "-A"], timeout=60)
    _run([*git, "commit", "-q", "-m", "the student copy"], timeout=60)
    return repo


@dataclass
class Hub:
    process: subprocess.Popen
    url: str
    log: Path
    home: Path
    stopped: dict[int, int] | None = None  # what was running (pid -> start time) when the hub was told to stop

    def descendants(self) -> dict[int, int]:
        """Every process below the hub, as pid -> start time."""
        return processes.below(self.process.pid)

    def stop(self) -> list[int]:
        """Stop the hub by its process id (SIGTERM: it stops the servers it spawned and its proxy) and
        wait, bounded, for it and all it started to exit. Return the pids still running after that."""
        if self.stopped is not None:
            return self._running()
        self.stopped = self.descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + STOP_S
        while self._running() and time.monotonic() < deadline:
            time.sleep(0.2)
        return self._running()

    def _running(self) -> list[int]:
        return [pid for pid, start in self.stopped.items() if processes.alive(pid, start)]

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _config(workdir: Path, ports: Ports, proxy: Path, password: str, home: Path, singleuser: list[str], binder_env) -> str:
    args = ["--allow-root"] if os.geteuid() == 0 else []
    # The student's server and kernels run in the Binder environment, not the hub's.
    student_env = {"PATH": f"{binder_env.bin}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(binder_env.venv)}
    return f"""# written by tests/test_hub.py
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {ports.url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {ports.hub}
c.JupyterHub.db_url = {f"sqlite:///{workdir / 'jupyterhub.sqlite'}"!r}
c.JupyterHub.cookie_secret_file = {str(workdir / "jupyterhub_cookie_secret")!r}
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {{{STUDENT!r}}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = {str(home / "{username}")!r}
c.Spawner.cmd = {singleuser!r}
c.Spawner.args = {args!r}
c.Spawner.environment = {student_env!r}
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports.api}"
c.ConfigurableHTTPProxy.pid_file = {str(workdir / "proxy.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
"""


@pytest.fixture(scope="module")
def password() -> str:
    return secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def hub(workdir, ports, proxy_command, course, password, singleuser, binder_env):
    """A JupyterHub on 127.0.0.1, started in the test's folder; stopped by its pid at the end."""
    home = workdir / "home"
    home.mkdir()
    config = workdir / "jupyterhub_config.py"
    config.write_text(_config(workdir, ports, proxy_command, password, home, singleuser, binder_env), encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PLATFORMLAB_ROOT", "MPLBACKEND")
        and not key.startswith(("JUPYTER", "IPYTHON", "CONFIGPROXY"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = workdir / "jupyterhub.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    running = Hub(process, ports.url, log, home)
    try:
        deadline = time.monotonic() + START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterHub exited with {process.returncode}:\n{running.tail()}")
            try:
                with urllib.request.urlopen(f"{ports.url}/hub/api/", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterHub did not answer within {START_S} s:\n{running.tail()}")
            time.sleep(0.5)
        yield running
    finally:
        left = running.stop()
        for pid in left:  # only reached when the last test did not stop it cleanly; that test says so
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def page(hub):
    with chromium_page(ARTIFACTS) as page:
        yield page


def shot(target, name: str) -> None:
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="module")
def link(course, hub) -> str:
    """Lesson 01's nbgitpuller link, as the student README gives it."""
    readme = (course / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"\]\((http://127\.0\.0\.1:\d+/hub/user-redirect/git-pull\?[^)]+)\)", readme)
    assert len(found) == len(lessons.find()), "the README should link every lesson on the hub"
    ours = [url for url in found if parse_qs(urlsplit(url).query)["urlpath"][0].endswith(f"/lessons/{LESSON.filename}")]
    assert len(ours) == 1 and ours[0].startswith(hub.url + "/hub/"), found
    return ours[0]


@pytest.fixture(scope="module")
def notebook(course):
    return nbformat.read(course / "lessons" / LESSON.filename, as_version=4)


@pytest.fixture(scope="module")
def opened(page, hub, link, password, notebook, course):
    """The student follows the link: logs in, the hub starts their server, nbgitpuller pulls the course,
    and JupyterLab opens lesson 01."""
    page.goto(link)
    page.locator("#username_input").fill(STUDENT)
    page.locator("#password_input").fill(password)
    shot(page, "01-login")
    page.locator("#login_submit").click()
    folder = course.name
    page.wait_for_url(re.compile(rf"/user/{STUDENT}/lab/tree/{folder}/lessons/{re.escape(LESSON.filename)}"), timeout=WAIT_MS)
    page.wait_for_selector(f"{CELLS} >> nth={len(notebook.cells) - 1}", state="attached", timeout=WAIT_MS)
    page.wait_for_function(f"() => !(({BUSY})())", timeout=WAIT_MS)
    shot(page, "02-lesson-opened")
    return page


def test_link_pulls_the_course_and_opens_lesson_01(opened, hub, course, notebook):
    """Did nbgitpuller clone the published copy into the student's home on the hub, and does JupyterLab
    show lesson 01 from that clone, every cell of it?"""
    clone = hub.home / STUDENT / course.name
    assert (clone / "lessons" / LESSON.filename).read_bytes() == (course / "lessons" / LESSON.filename).read_bytes()
    head = _run(["git", "-C", str(clone), "rev-parse", "HEAD"], timeout=30).stdout
    assert head == _run(["git", "-C", str(course), "rev-parse", "HEAD"], timeout=30).stdout, (
        "the clone is not of the published commit"
    )
    expect(opened.locator(".lm-TabBar-tab.jp-mod-current")).to_contain_text(LESSON.filename)
    assert len(opened.locator(CELLS).all()) == len(notebook.cells)


def test_hub_gives_validate_without_instructor_tools(opened):
    """Does the student's server on the hub (the Binder environment) show nbgrader's Validate button and no
    instructor menu, as postBuild set it up?"""
    expect(opened.locator(".jp-NotebookPanel-toolbar [title='Validate Assignment']")).to_be_visible()
    menus = opened.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Run" in menus and "Nbgrader" not in menus, menus


def test_excerpt_cell_runs_and_renders(opened, notebook, course):
    """Run the first cell that shows an excerpt (after the cells above it): does the quotation render,
    word for word, with its attribution?"""
    index, excerpt_id = next(
        (i, m[1]) for i, cell in enumerate(notebook.cells) if (m := re.search(r'excerpts\.show\("([^"]+)"\)', cell.source))
    )
    entry = next(
        e for e in yaml.safe_load((course / "data" / "excerpts.yaml").read_text(encoding="utf-8")) if e["id"] == excerpt_id
    )
    cell = opened.locator(CELLS).nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    menu(opened, "Run", "Run All Above Selected Cell")
    opened.wait_for_function(f"() => !(({BUSY})())", timeout=WAIT_MS)
    above = [p for p in prompts(opened)[:index] if p is not None]
    assert above and all(re.fullmatch(r"\[\d+\]:", p) for p in above), f"the cells above did not all run: {above}"
    cell.locator(".jp-InputPrompt").click()
    before = prompts(opened)[index]
    opened.keyboard.press("Shift+Enter")
    wait_for_run(opened, index, before)
    figure = cell.locator(f"figure.platformlab-excerpt[data-excerpt-id='{excerpt_id}']")
    expect(figure.locator("blockquote")).to_be_visible()
    quoted = " ".join(" ".join(figure.locator("blockquote p").all_text_contents()).split())
    assert quoted == " ".join(str(entry["text"]).split())
    caption = " ".join(figure.locator("figcaption").text_content().split())
    assert " ".join(str(entry["author"]).split()) in caption, caption
    shot(cell, "03-excerpt")


def test_hub_stops_with_everything_it_started(opened, hub):
    """Stopped by its process id, does the hub take its proxy, the student's server and its kernel with it?"""
    started = hub.descendants()
    commands = " ".join(processes.describe(pid) for pid in started)
    assert "configurable-http-proxy" in commands and "jupyterhub.singleuser" in commands and "ipykernel" in commands, commands
    left = hub.stop()
    assert hub.process.returncode is not None
    assert not left, f"still running after the hub stopped: {', '.join(processes.describe(pid) for pid in left)}\n{hub.tail()}"
