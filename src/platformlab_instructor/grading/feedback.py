"""Feedback for students: their notebook with scores and test results, and no hidden tests.

nbgrader's own feedback shows the autograded notebook, and autograding puts the
hidden tests back into every test cell, so stock feedback prints them word for
word. :class:`HideTests` runs inside nbgrader's ``GenerateFeedback`` and, in each
test cell, removes the hidden region and reduces an error to its one-line
message (a traceback quotes the failing line, which may be a hidden test).
"""

from __future__ import annotations

import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from ..regions import DELIMITER, HIDDEN_TESTS, regions

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


class HideTests(NbGraderPreprocessor):
    """Strip hidden tests and tracebacks from test cells before the feedback is rendered."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not (utils.is_grade(cell) or utils.is_locked(cell)):
            return cell, resources
        cell.source = hide_hidden_tests(cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = ANSI.sub("", f"{output.ename}: {output.evalue}" if output.evalue else output.ename)
                output.traceback = [message]
        return cell, resources


IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


def exporter_class():
    """nbconvert's HTMLExporter without its BeautifulSoup pass over the finished page.

    That pass parses the whole page, inlined CSS included, to add ``alt`` text and
    ``tabindex`` attributes: about a third of the time of a feedback page. Images
    still get their ``alt`` text here (by a regular expression). Falls back to the
    stock HTMLExporter if nbconvert's internals are not the ones this was written for.
    """
    from nbconvert.exporters import HTMLExporter, TemplateExporter

    try:
        from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter
    except ImportError:
        return HTMLExporter

    class FeedbackExporter(HTMLExporter):
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
