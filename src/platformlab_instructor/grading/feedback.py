"""Feedback for students: their notebook with scores and test results, and no hidden tests.

nbgrader's own feedback shows the autograded notebook, and autograding puts the
hidden tests back into every test cell, so stock feedback prints them word for
word. :class:`HideTests` runs inside nbgrader's ``GenerateFeedback`` and, in each
test cell, removes the hidden region and reduces an error to its one-line
message (a traceback quotes the failing line, which may be a hidden test).

Student code runs the hidden tests in its own kernel, so it can read them (``In[-1]``,
``_ih``, a ``pre_run_cell`` hook, the caller's frame) and print them: :class:`HideTests`
also removes, from every output of every cell, each line that holds a line of a hidden
test of the notebook (whitespace, HTML escapes and ``repr`` quoting aside). An encoded copy
(base64, a picture of the text) is not found: see the threat model.

The page is sanitised (:func:`exporter_class`): a student's HTML, in markdown cells or in
outputs, cannot run script in the browser of whoever opens the page.
"""

from __future__ import annotations

import html
import json
import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from ..regions import DELIMITER, HIDDEN_TESTS, regions
from .rubrics import is_grader_only

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HIDDEN_NOTE = "# (hidden tests ran here; their code is not shown)"


def hide_hidden_tests(source: str) -> str:
    """Replace every hidden-test region of a cell's source by one comment line."""
    kept, hidden = [], False
    for region, line in regions(source):
        if region == DELIMITER:
            opening = "BEGIN" in line and HIDDEN_TESTS.split()[0] in line
            if opening:
                kept.append(HIDDEN_NOTE)
            elif not hidden:
                kept.append(line)
            hidden = opening
        elif region != HIDDEN_TESTS:
            kept.append(line)
    return "\n".join(kept)


#: Hidden-test lines shorter than this (``)``, ``]``, ``else:``) say nothing and are not looked for.
MIN_HIDDEN = 8


def _plain(text: str) -> str:
    """``text`` as it reads: colour codes, ``repr`` escapes and runs of whitespace gone."""
    text = ANSI.sub("", text).replace("\\n", " ").replace("\\'", "'").replace('\\"', '"')
    return " ".join(text.split())


def hidden_lines(notebook) -> set[str]:
    """Every line (as :func:`_plain` reads it) of every hidden-test region of the notebook's cells."""
    found = set()
    for cell in notebook.cells:
        for region, line in regions(cell.source) if cell.cell_type == "code" else ():
            if region == HIDDEN_TESTS and len(_plain(line)) >= MIN_HIDDEN:
                found.add(_plain(line))
    return found


def _leaks(text: str, hidden: set[str]) -> bool:
    readable = {_plain(text), _plain(html.unescape(re.sub(r"<[^>]*>", "", text)))}
    return any(line in shown for line in hidden for shown in readable)


def scrub(text: str, hidden: set[str]) -> str:
    """``text`` without the lines that show a hidden-test line."""
    if not hidden or not _leaks(text, hidden):
        return text
    return "\n".join(line for line in text.split("\n") if not _leaks(line, hidden))


def scrub_output(output, hidden: set[str]) -> None:
    """Remove hidden-test lines from one output: streams, errors and every kind of display data.
    An HTML or JSON value that shows one anywhere is dropped whole (it may spread a line over tags)."""
    if not hidden:
        return
    if "text" in output:
        output.text = scrub(output.text, hidden)
    if output.output_type == "error":
        output.ename, output.evalue = scrub(output.ename, hidden), scrub(output.evalue, hidden)
        output.traceback = [scrub(line, hidden) for line in output.get("traceback", [])]
    data = output.get("data", {})
    for mime, value in list(data.items()):
        text = value if isinstance(value, str) else json.dumps(value)
        if not _leaks(text, hidden):
            continue
        if isinstance(value, str) and mime in ("text/plain", "text/markdown", "text/latex"):
            data[mime] = scrub(value, hidden)
        else:
            del data[mime]


class HideTests(NbGraderPreprocessor):
    """Strip hidden tests and tracebacks from test cells, and hidden-test lines from every
    output, before the feedback is rendered."""

    hidden: set[str] = set()

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not is_grader_only(cell)]  # model answers and rubrics
        self.hidden = hidden_lines(nb)
        nb.metadata.pop("widgets", None)  # widget state the kernel sent: the page shows no widgets
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if utils.is_grade(cell) or utils.is_locked(cell):
            cell.source = hide_hidden_tests(cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    message = ANSI.sub("", f"{output.ename}: {output.evalue}" if output.evalue else output.ename)
                    output.traceback = [message]
        for output in cell.get("outputs", []):
            scrub_output(output, self.hidden)
        return cell, resources


#: What a student's HTML may keep (markdown's, pandas' tables, images): no script, no event handlers.
TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
        "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
        "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
ATTRIBUTES = {"*": ["class", "id", "title", "align"], "a": ["href"], "img": ["src", "alt", "width", "height"],
              "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"], "table": ["border"]}


def sanitize(text) -> str:
    """A student's HTML without script: bleach with a list of tags wide enough for markdown and tables
    (nbconvert's own ``clean_html`` escapes headings, paragraphs and table heads); ``data:`` only in images."""
    import bleach

    def allowed(tag, name, value):
        if name == "src":
            return value.startswith(("https:", "http:", "data:image/")) and not value.startswith("data:image/svg")
        if name == "href":
            return value.startswith(("https:", "http:", "mailto:", "#"))
        return name in ATTRIBUTES.get(tag, []) or name in ATTRIBUTES["*"]

    text = text.decode() if isinstance(text, bytes) else str(text)
    text = re.sub(r"<(style|script)\b[^>]*>.*?</\1\s*>", "", text, flags=re.S | re.I)  # their text is no content
    return bleach.clean(text, tags=TAGS, attributes=allowed, protocols=["http", "https", "mailto", "data"], strip=True)


IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


def exporter_class():
    """nbconvert's HTMLExporter, sanitising (``sanitize_html``, with :func:`sanitize` as its
    ``clean_html`` and on markdown cells, which nbgrader's feedback template renders unsanitised),
    without its BeautifulSoup pass over the finished page.

    That pass parses the whole page, inlined CSS included, to add ``alt`` text and
    ``tabindex`` attributes: about a third of the time of a feedback page. Images
    still get their ``alt`` text here (by a regular expression). Falls back to the
    stock HTMLExporter if nbconvert's internals are not the ones this was written for.
    """
    from jinja2 import pass_context
    from nbconvert.exporters import HTMLExporter, TemplateExporter
    from traitlets import Bool

    class SanitisingExporter(HTMLExporter):
        sanitize_html = Bool(True).tag(config=True)

        @pass_context
        def markdown2html(self, context, source):
            return sanitize(super().markdown2html(context, source))

        def default_filters(self):
            yield from super().default_filters()
            yield ("clean_html", sanitize)

    try:
        from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter
    except ImportError:
        return SanitisingExporter

    class FeedbackExporter(SanitisingExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name", None))
            highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_types)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', page), resources

    return FeedbackExporter
