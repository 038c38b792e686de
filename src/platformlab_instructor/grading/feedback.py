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

A worker makes one page per submission, and most of a lesson's page is the same every time
(its markdown, its locked cells, its templates). The steps that are pure functions of their
input (sanitising, rendering markdown, highlighting code, compiling nbconvert's Jinja
templates) are therefore remembered within the worker process (:class:`Memo`), keyed by all
of their input; nothing a submission can influence is reused for another but the same
result from the same text.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import OrderedDict

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
TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ATTRIBUTES = {
    "*": ["class", "id", "title", "align"],
    "a": ["href"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan"],
    "table": ["border"],
}


class Memo:
    """Results of a pure function of text, remembered in this process, the least recently used
    dropped first: at most :data:`MEMO_BUDGET` characters of keys and results in all, and none
    whose key or result is longer than :data:`MEMO_TEXT` (a huge output is rarely seen twice)."""

    def __init__(self, budget: int = 0):
        self.budget, self.used = budget or MEMO_BUDGET, 0
        self.results, self.lock = OrderedDict(), threading.Lock()

    def get(self, key: tuple, compute):
        size = sum(len(part) for part in key if isinstance(part, str))
        if size > MEMO_TEXT:
            return compute()
        with self.lock:
            if key in self.results:
                self.results.move_to_end(key)
                return self.results[key][0]
        result = compute()
        length = len(result) if isinstance(result, str) else 0
        size += length
        if length <= MEMO_TEXT:
            with self.lock:
                if key not in self.results:
                    self.results[key] = (result, size)
                    self.used += size
                while self.used > self.budget and self.results:
                    self.used -= self.results.popitem(last=False)[1][1]
        return result


#: Longest key or result (characters) a :class:`Memo` keeps.
MEMO_TEXT = 50_000
#: Characters a :class:`Memo` keeps in all (keys and results).
MEMO_BUDGET = 4_000_000
_SANITIZED, _MARKDOWN, _HIGHLIGHTED = Memo(), Memo(), Memo()
_cleaners = threading.local()


def _allowed(tag, name, value):
    if name == "src":
        return value.startswith(("https:", "http:", "data:image/")) and not value.startswith("data:image/svg")
    if name == "href":
        return value.startswith(("https:", "http:", "mailto:", "#"))
    return name in ATTRIBUTES.get(tag, []) or name in ATTRIBUTES["*"]


def _cleaner():
    """This thread's bleach ``Cleaner`` (one is reusable, but not by two threads at once)."""
    if not hasattr(_cleaners, "cleaner"):
        from bleach.sanitizer import Cleaner

        _cleaners.cleaner = Cleaner(tags=TAGS, attributes=_allowed, protocols=["http", "https", "mailto", "data"], strip=True)
    return _cleaners.cleaner


def sanitize(text) -> str:
    """A student's HTML without script: bleach with a list of tags wide enough for markdown and tables
    (nbconvert's own ``clean_html`` escapes headings, paragraphs and table heads); ``data:`` only in images."""
    text = text.decode() if isinstance(text, bytes) else str(text)
    return _SANITIZED.get((text,), lambda: _sanitize(text))


def _sanitize(text: str) -> str:
    text = re.sub(r"<(style|script)\b[^>]*>.*?</\1\s*>", "", text, flags=re.S | re.I)  # their text is no content
    return _cleaner().clean(text)


IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


def exporter_class():
    """nbconvert's HTMLExporter, sanitising (``sanitize_html``, with :func:`sanitize` as its
    ``clean_html`` and on markdown cells, which nbgrader's feedback template renders unsanitised),
    without its BeautifulSoup pass over the finished page.

    That pass parses the whole page, inlined CSS included, to add ``alt`` text and
    ``tabindex`` attributes: about a third of the time of a feedback page. Images
    still get their ``alt`` text here (by a regular expression). Its Jinja templates are
    compiled once per process (:func:`_compiled_templates`); markdown and code highlighting are
    remembered (:class:`Memo`). Falls back to the sanitising HTMLExporter, without those memos,
    if nbconvert's internals are not the ones this was written for.
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

        def _create_environment(self):
            environment = super()._create_environment()
            environment.bytecode_cache = _compiled_templates(environment)
            return environment

    try:
        from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter
    except ImportError:
        return SanitisingExporter

    class FeedbackExporter(SanitisingExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            if cell.get("attachments"):
                return super().markdown2html(context, source)
            # all that nbconvert's markdown2html reads besides the source
            path = context.get("resources", {}).get("metadata", {}).get("path", "")
            key = (
                source,
                str(path),
                repr(
                    (
                        self.embed_images,
                        self.anchor_link_text,
                        self.exclude_anchor_links,
                        sorted(getattr(self, "lexer_options", {}).items()),
                    )
                ),
            )
            return _MARKDOWN.get(key, lambda: SanitisingExporter.markdown2html(self, context, source))

        def from_notebook_node(self, nb, resources=None, **kw):
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name", None))
            highlight = self.filters.get("highlight_code") or _remembered(Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_types)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', page), resources

    return FeedbackExporter


def _remembered(highlight):
    """nbconvert's ``highlight_code`` filter (a ``Highlight2HTML``), its results remembered (:class:`Memo`).
    Its input: the source, the language, the lexer and formatter options, the cell's metadata (but the
    time stamps of its execution, which differ every run and do not change the highlighting)."""

    def highlight_code(source, language=None, metadata=None):
        shown = {key: value for key, value in (metadata or {}).items() if key != "execution"}
        key = (
            source,
            str(language or ""),
            repr((highlight.pygments_lexer, sorted(highlight.extra_formatter_options.items()))),
            json.dumps(shown, sort_keys=True, default=str),
        )
        return _HIGHLIGHTED.get(key, lambda: highlight(source, language, metadata))

    return highlight_code


#: Jinja's compiled templates, by the settings that change how a template compiles (see _compiled_templates).
_TEMPLATE_CACHES: dict = {}


def _compiled_templates(environment):
    """A Jinja bytecode cache for ``environment``, shared by every environment of the same settings in
    this process: nbconvert makes a new environment for every page, which would compile the
    same templates again. Jinja checks each template's source against the cached code's checksum."""
    from jinja2 import BytecodeCache

    class InMemory(BytecodeCache):
        def __init__(self):
            self.code, self.lock = {}, threading.Lock()

        def load_bytecode(self, bucket):
            with self.lock:
                data = self.code.get(bucket.key)
            if data is not None:
                bucket.bytecode_from_string(data)

        def dump_bytecode(self, bucket):
            with self.lock:
                self.code[bucket.key] = bucket.bytecode_to_string()

    settings = (
        "block_start_string",
        "block_end_string",
        "variable_start_string",
        "variable_end_string",
        "comment_start_string",
        "comment_end_string",
        "line_statement_prefix",
        "line_comment_prefix",
        "trim_blocks",
        "lstrip_blocks",
        "newline_sequence",
        "keep_trailing_newline",
        "optimized",
        "is_async",
    )
    signature = repr(
        (
            [getattr(environment, name, None) for name in settings],
            sorted(environment.extensions),
            sorted(environment.filters),
            sorted(environment.tests),
            environment.autoescape,
        )
    )
    return _TEMPLATE_CACHES.setdefault(signature, InMemory())
