"""Are the quotations verbatim, attributed as their sources say, and all used by id?"""

from __future__ import annotations

import re

import nbformat
import pytest

from platformlab import excerpts
from platformlab_instructor import lessons

#: The seed articles sit beside the project, in ../shared (CI puts them there too).
SEEDS = lessons.root().parent / "shared" / "seeds"
SHOW_CALL = re.compile(r"""excerpts\.show\(\s*["']([^"']+)["']\s*\)""")
CUT = re.compile(r"\s*(?:\.\.\.|\u2026)\s*")
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed articles are not beside the project ({SEEDS} is missing)")


def catalogue_ids():
    return sorted(excerpts.catalogue())


def sources_table() -> dict[str, dict[str, str]]:
    """The rows of shared/seeds/SOURCES.md, by seed file name."""
    rows = {}
    for line in (SEEDS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(".txt"):
            rows[cells[0]] = dict(zip(["seed", "author", "title", "publisher", "date", "url"], cells))
    return rows


def ids_used_by_notebooks() -> dict[str, set[str]]:
    used = {}
    for lesson in lessons.find():
        source = "\n".join(cell.source for cell in nbformat.read(lesson.solution, as_version=4).cells if cell.cell_type == "code")
        used[lesson.stem] = set(SHOW_CALL.findall(source))
    return used


@needs_seeds
@pytest.mark.parametrize("excerpt_id", catalogue_ids())
def test_excerpt_is_verbatim(excerpt_id):
    """Is every piece of the quotation (cuts marked by an ellipsis) in its seed article, in order?"""
    excerpt = excerpts.get(excerpt_id)
    article = (SEEDS / excerpt.seed).read_text(encoding="utf-8")
    position = 0
    for piece in (p for p in CUT.split(excerpt.text.strip()) if p):
        found = article.find(piece, position)
        assert found >= 0, f"{excerpt_id}: not word for word in {excerpt.seed}: {piece[:80]!r}"
        position = found + len(piece)


@needs_seeds
@pytest.mark.parametrize("excerpt_id", catalogue_ids())
def test_excerpt_attribution_matches_sources(excerpt_id):
    """Do author, title, publisher, date and URL match shared/seeds/SOURCES.md for the seed?"""
    excerpt = excerpts.get(excerpt_id)
    row = sources_table()[excerpt.seed]
    for name in ("author", "title", "publisher", "date", "url"):
        assert getattr(excerpt, name) == row[name], (
            f"{excerpt_id}: {name} is {getattr(excerpt, name)!r}, SOURCES.md says {row[name]!r}"
        )


def test_every_shown_id_exists():
    """Does every excerpts.show(id) in a lesson name an excerpt in the catalogue?"""
    unknown = {
        stem: sorted(ids - set(catalogue_ids())) for stem, ids in ids_used_by_notebooks().items() if ids - set(catalogue_ids())
    }
    assert not unknown, f"unknown excerpt ids: {unknown}"


def test_every_excerpt_is_used():
    """Is every catalogue entry shown by some lesson (no dead quotations)?"""
    used = set().union(*ids_used_by_notebooks().values())
    assert sorted(set(catalogue_ids()) - used) == []


def test_every_lesson_opens_with_excerpts(stem):
    """Does every lesson show at least two excerpts?"""
    assert len(ids_used_by_notebooks()[stem]) >= 2


def test_show_renders_quotation_and_attribution():
    """Does an excerpt render as an HTML blockquote with its attribution, and as plain text?"""
    excerpt = excerpts.get(catalogue_ids()[0])
    html = excerpt._repr_html_()
    assert "<blockquote" in html and "<figcaption" in html
    assert excerpt.author in html and excerpt.publisher in html
    text = repr(excerpt)
    assert excerpt.text.strip()[:40] in text and excerpt.author in text


def test_unknown_id_names_the_known_ones():
    """Does a mistyped id get a message listing the ids that exist?"""
    with pytest.raises(KeyError, match="known ids"):
        excerpts.get("no-such-excerpt")
