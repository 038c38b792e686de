"""Does a student's path through lesson 01 work in a real browser?

JupyterLab runs from the published copy in the environment Binder builds
(``tests/binderenv.py``); Debian's chromium, driven by Playwright, opens lesson 01
by the Binder badge's ``urlpath``, runs the cells as a student would, and looks at
what a student sees. Screenshots go to ``test-artifacts/browser/``.

The tests share one browser page and kernel (the ``ran`` fixture runs the lesson
once); each test's own actions (a slider, a wrong answer, a written answer) touch
only its own cells, so any subset of them can run alone.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from platformlab_instructor import lessons

import binderenv
from submissions import wrong_answers

pytestmark = pytest.mark.browser  # Debian's chromium through Playwright: left out of `make test-fast`

ARTIFACTS = lessons.root() / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LESSON = lessons.find()[0]
WAIT_MS = 120_000

CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"
PROMPTS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')).map(cell =>
    cell.classList.contains('jp-CodeCell') ? cell.querySelector('.jp-InputPrompt').textContent.trim() : null)"""
BUSY = """() => {
    const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
    const prompts = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt'));
    return !(status && status.dataset.status === 'idle' && !prompts.some(p => p.textContent.includes('*')));
}"""


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory):
    return binderenv.build(tmp_path_factory)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(binder_env, tmp_path_factory):
    """JupyterLab serving the published copy on a free local port, as Binder serves it."""
    port, token = free_port(), secrets.token_hex(16)
    log_path = tmp_path_factory.mktemp("jupyterlab") / "server.log"
    args = [
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={binder_env.copy}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=binder_env.copy, env=binder_env.environ(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not answer within 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
    yield base, token
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def chromium_page(artifacts: Path):
    """A page of a fresh headless chromium (Debian's, through Playwright), its screenshots' folder ``artifacts`` made."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(ARTIFACTS) as page:
        yield page


def shot(target, name: str) -> None:
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu:visible .lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def prompts(page) -> list[str | None]:
    return page.evaluate(PROMPTS)


def wait_for_run(page, index: int, before: str) -> None:
    """Wait until code cell ``index`` has run (its prompt left ``before``) and the kernel is idle again."""
    page.wait_for_function(f"() => ({PROMPTS})()[{index}] !== {before!r}", timeout=WAIT_MS)
    page.wait_for_function(f"() => !(({BUSY})())", timeout=WAIT_MS)


def outputs_text(page, index: int) -> str:
    # textContent, not innerText: JupyterLab skips rendering cells out of view, and innerText is empty for them.
    return page.locator(CELLS).nth(index).locator(".jp-Cell-outputArea").text_content()


@pytest.fixture(scope="module")
def notebook(binder_env):
    """The lesson as published: its cells in the order the browser shows them."""
    return nbformat.read(binder_env.copy / "lessons" / LESSON.filename, as_version=4)


def grade_ids(notebook) -> list[str | None]:
    return [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]


@pytest.fixture(scope="module")
def ran(page, server, binder_env, notebook):
    """Open the lesson by the badge's urlpath and run it as a student does: Run All Cells, and after each
    unanswered exercise stops it, Run Selected Cell and All Below from the next cell on."""
    base, token = server
    readme = (binder_env.copy / "README.md").read_text(encoding="utf-8")
    badge = re.search(r"\]\((https://mybinder\.org/v2/gh/[^)]+)\)", readme)[1]
    urlpath = parse_qs(urlparse(badge).query)["urlpath"][0]
    assert urlpath == f"lab/tree/lessons/{LESSON.filename}"
    page.goto(f"{base}/{urlpath}?token={token}")
    page.wait_for_selector(f"{CELLS} >> nth={len(notebook.cells) - 1}", state="attached", timeout=WAIT_MS)
    page.wait_for_function(f"() => !(({BUSY})())", timeout=WAIT_MS)
    shot(page, "01-lesson-opened")

    first_code = next(i for i, p in enumerate(prompts(page)) if p is not None)
    menu(page, "Run", "Run All Cells")
    wait_for_run(page, first_code, "[ ]:")
    for _ in range(len(notebook.cells)):
        states = prompts(page)
        pending = [i for i, p in enumerate(states) if p == "[ ]:"]
        if not pending:
            break
        page.locator(CELLS).nth(pending[0]).locator(".jp-InputPrompt").click()
        menu(page, "Run", "Run Selected Cell and All Below")
        wait_for_run(page, pending[0], "[ ]:")
    assert "[ ]:" not in prompts(page), "some cells never ran"
    shot(page, "02-lesson-ran")
    return page


def test_lesson_opens_with_the_student_tools(ran, notebook):
    """Does the badge's address open the lesson with nbgrader's Validate button and no instructor menu?"""
    assert len(ran.locator(CELLS).all()) == len(notebook.cells)
    menus = ran.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Run" in menus and "Nbgrader" not in menus, menus
    expect(ran.locator(".jp-NotebookPanel-toolbar [title='Validate Assignment']")).to_be_visible()


def _names_students_define(stem: str) -> set[str]:
    """Names assigned or defined in the solution regions of a lesson: not there until a student answers."""
    names = set()
    for cell in nbformat.read(lessons.get(stem).solution, as_version=4).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            tree = ast.parse(cell.source)
            names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
            names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return names


def test_only_unanswered_exercises_fail(ran, notebook):
    """On the untouched lesson, is every error an unanswered exercise (NotImplementedError, or a name the
    student has yet to define) and is there no warning?"""
    unanswered = _names_students_define(LESSON.stem)
    problems = []
    for index in range(len(notebook.cells)):
        for text in (
            ran.locator(CELLS).nth(index).locator("[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
        ):
            last = text.strip().splitlines()[-1] if text.strip() else ""
            name = re.fullmatch(r"NameError: name '(\w+)' is not defined", last)
            if "Traceback" not in text and "Error" not in last:
                problems.append(f"cell {index}: writes to stderr: {text.strip()[:200]}")
            elif not (last.startswith("NotImplementedError") or (name and name[1] in unanswered)):
                problems.append(f"cell {index}: {last}")
    assert not problems, "\n".join(problems)


def test_excerpts_render_as_attributed_quotations(ran, notebook, binder_env):
    """Does each excerpt show as a quotation, word for word, with its author, title, publisher and date?"""
    catalogue = {
        entry["id"]: entry for entry in yaml.safe_load((binder_env.copy / "data" / "excerpts.yaml").read_text(encoding="utf-8"))
    }
    shown = [(i, m[1]) for i, cell in enumerate(notebook.cells) if (m := re.search(r'excerpts\.show\("([^"]+)"\)', cell.source))]
    assert shown, "lesson 01 shows no excerpt"
    for index, excerpt_id in shown:
        entry = catalogue[excerpt_id]
        figure = ran.locator(CELLS).nth(index).locator(f"figure.platformlab-excerpt[data-excerpt-id='{excerpt_id}']")
        figure.scroll_into_view_if_needed()
        expect(figure.locator("blockquote")).to_be_visible()
        quoted = " ".join(" ".join(figure.locator("blockquote p").all_text_contents()).split())
        assert quoted == " ".join(str(entry["text"]).split()), excerpt_id
        assert figure.locator("blockquote").evaluate("e => getComputedStyle(e).fontStyle") == "italic"
        caption = " ".join(figure.locator("figcaption").text_content().split())
        for part in ("author", "title", "publisher", "date"):
            assert " ".join(str(entry[part]).split()) in caption, f"{excerpt_id}: the caption lacks the {part}: {caption}"
    first = ran.locator(CELLS).nth(shown[0][0])
    first.scroll_into_view_if_needed()
    shot(first, "03-excerpt")


def test_figures_render(ran, notebook):
    """Does every figure cell that needs no answer draw its seaborn figure as an image?"""
    figures = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and "plt.show()" in cell.source]
    assert len(figures) >= 2, "lesson 01 should have seaborn figures"
    for number, index in enumerate(figures, start=1):
        ran.locator(CELLS).nth(index).scroll_into_view_if_needed()
        image = ran.locator(CELLS).nth(index).locator(".jp-RenderedImage[data-mime-type='image/png'] img")
        expect(image).to_have_count(1)
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 300 and height > 150, f"cell {index}: the figure is {width}x{height} pixels"
        shot(ran.locator(CELLS).nth(index), f"04-figure-{number}")


def test_widget_responds_to_its_slider(ran, notebook):
    """Does the flywheel explorer redraw its figure when a student moves a slider?"""
    index = next(i for i, cell in enumerate(notebook.cells) if "flywheel.explorer()" in cell.source)
    cell = ran.locator(CELLS).nth(index)
    cell.scroll_into_view_if_needed()
    slider = cell.locator(".widget-slider").filter(has=ran.locator(".widget-label", has_text="buyers ← merchants"))
    expect(slider).to_have_count(1)
    image = cell.locator(".jp-Cell-outputArea img").first
    expect(image).to_be_visible()
    readout, drawn = slider.locator(".widget-readout").text_content(), image.get_attribute("src")
    shot(cell, "05-widget-before")
    slider.locator(".noUi-handle").focus()
    ran.keyboard.press("ArrowRight")
    expect(slider.locator(".widget-readout")).not_to_have_text(readout, timeout=WAIT_MS)
    # The widget's output redraws: a new image replaces the old one.
    expect(image).not_to_have_attribute("src", drawn, timeout=WAIT_MS)
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 300
    assert float(slider.locator(".widget-readout").text_content()) > float(readout)
    shot(cell, "06-widget-after")


def _visible_messages(source: str) -> list[str]:
    return [
        node.msg.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str)
    ]


def test_unanswered_exercise_says_so(ran, notebook):
    """Does the first exercise's visible test tell the student the exercise is not answered yet,
    pointing at the stub to replace?"""
    ids = grade_ids(notebook)
    test_index = next(
        i for i, cell in enumerate(notebook.cells) if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    )
    text = outputs_text(ran, test_index)
    assert "NotImplementedError" in text and "YOUR CODE HERE" in text, f"{ids[test_index]}: {text[-500:]}"
    ran.locator(CELLS).nth(test_index).scroll_into_view_if_needed()
    shot(ran.locator(CELLS).nth(test_index), "07-unanswered-test")


def test_validate_lists_the_failing_tests(ran, notebook):
    """Does the Validate button run the notebook and name the tests that fail?"""
    ran.locator(".jp-NotebookPanel-toolbar [title='Validate Assignment']").click()
    dialog = ran.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expect(dialog).to_contain_text("failed", timeout=WAIT_MS)
    first_test = next(
        cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    )
    assert first_test.source.splitlines()[0] in dialog.inner_text()
    shot(ran, "08-validate")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)


def test_wrong_answer_gets_a_clear_message(ran, notebook):
    """When a student writes a plausible wrong answer, does the visible test reject it with its message?"""
    wrong = wrong_answers(LESSON.stem)[0]
    ids = grade_ids(notebook)
    answer, test = ids.index(wrong.cell), ids.index(wrong.fails)
    editor = ran.locator(CELLS).nth(answer).locator(".cm-content")
    editor.click()
    ran.keyboard.press("Control+A")
    ran.keyboard.insert_text(wrong.source.rstrip("\n"))
    before = prompts(ran)[answer]
    ran.keyboard.press("Shift+Enter")
    wait_for_run(ran, answer, before)
    assert "Error" not in outputs_text(ran, answer), f"the wrong answer itself failed: {outputs_text(ran, answer)[-300:]}"
    ran.locator(CELLS).nth(test).locator(".jp-InputPrompt").click()
    before = prompts(ran)[test]
    ran.keyboard.press("Shift+Enter")
    wait_for_run(ran, test, before)
    text = " ".join(outputs_text(ran, test).split())
    messages = [" ".join(m.split()) for m in _visible_messages(notebook.cells[test].source)]
    assert messages, f"{wrong.fails} has no visible assertion with a message"
    # The traceback quotes the test's source too: the message must be what the AssertionError says.
    assert any(f"AssertionError: {message}" in text for message in messages), f"no visible test message in: {text[-600:]}"
    ran.locator(CELLS).nth(test).scroll_into_view_if_needed()
    shot(ran.locator(CELLS).nth(test), "09-wrong-answer-message")


def test_download_gives_the_notebook_to_submit(ran, notebook, tmp_path):
    """A student writes a written answer, saves, and downloads: is the file the lesson under its own name,
    with their answer in it and every graded cell the grader looks for?"""
    ids = grade_ids(notebook)
    written = next(
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
    )
    cell = ran.locator(CELLS).nth(written)
    cell.scroll_into_view_if_needed()
    cell.dblclick()
    cell.locator(".cm-content").click()
    ran.keyboard.press("Control+A")
    answer = "The 11-day window explains most of the headline growth."
    ran.keyboard.insert_text(answer)
    ran.keyboard.press("Shift+Enter")
    ran.locator(".jp-NotebookPanel-toolbar [title^='Save']").click()
    expect(ran.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0, timeout=WAIT_MS)
    with ran.expect_download(timeout=WAIT_MS) as download:
        menu(ran, "File", "Download")
    assert download.value.suggested_filename == LESSON.filename
    download.value.save_as(tmp_path / LESSON.filename)
    submitted = nbformat.read(tmp_path / LESSON.filename, as_version=4)
    nbformat.validate(submitted)
    assert grade_ids(submitted) == ids
    assert submitted.cells[written].source == answer, "the downloaded notebook lacks the student's written answer"
