"""Source excerpts: short quotations, word for word, with their attribution.

All quotations live in one catalogue, ``data/excerpts.yaml``, keyed by a short
id. A notebook shows one with ``show("id")``; nobody pastes a quotation by hand.
The text is never edited: an ellipsis (``...``) may mark a cut, nothing else.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

import yaml

from . import data

#: The catalogue's file name, in the course's data folder.
CATALOGUE = "excerpts.yaml"
FIELDS = ("id", "text", "author", "title", "publisher", "date", "url", "seed")


@dataclass(frozen=True, repr=False)
class Excerpt:
    """One quotation and where it comes from; renders as a blockquote in Jupyter."""

    id: str
    text: str
    author: str
    title: str
    publisher: str
    date: str
    url: str
    seed: str

    @property
    def link(self) -> str | None:
        """The article's address, or None where the catalogue says it is not known."""
        return self.url if self.url.startswith(("http://", "https://")) else None

    @property
    def attribution(self) -> str:
        return f"{self.author}, \u201c{self.title}\u201d, {self.publisher}, {self.date}"

    def __repr__(self) -> str:
        source = self.attribution + f" ({self.link or 'URL not known'})"
        return f"\u201c{self.text.strip()}\u201d\n    \u2014 {source}"

    def _repr_html_(self) -> str:
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in self.text.strip().split("\n\n"))
        title = html.escape(self.title)
        if self.link:
            title = f'<a href="{html.escape(self.link)}" target="_blank" rel="noopener">{title}</a>'
        cite = f"{html.escape(self.author)}, \u201c{title}\u201d, {html.escape(self.publisher)}, {html.escape(self.date)}"
        return (
            f'<figure class="platformlab-excerpt" data-excerpt-id="{html.escape(self.id)}" '
            'style="margin:1em 0;padding:0.2em 1em;border-left:4px solid #ff6a00;">'
            f'<blockquote style="margin:0;padding:0;border:none;font-style:italic;">{paragraphs}</blockquote>'
            f'<figcaption style="font-size:0.9em;">\u2014 {cite}</figcaption></figure>'
        )


def catalogue() -> dict[str, Excerpt]:
    """Every excerpt in the catalogue, by id; a malformed entry is an error naming it."""
    return _read(data.folder() / CATALOGUE)


@lru_cache(maxsize=4)
def _read(path) -> dict[str, Excerpt]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    found: dict[str, Excerpt] = {}
    for number, entry in enumerate(entries, start=1):
        missing = [name for name in FIELDS if not str(entry.get(name) or "").strip()]
        if missing:
            raise ValueError(f"{CATALOGUE}: entry {number} ({entry.get('id', 'no id')}) lacks {', '.join(missing)}")
        if entry["id"] in found:
            raise ValueError(f"{CATALOGUE}: id {entry['id']!r} is used twice")
        found[entry["id"]] = Excerpt(**{key: str(value) for key, value in entry.items()})
    return found


def get(excerpt_id: str) -> Excerpt:
    """Return the excerpt ``excerpt_id``; an unknown id names the ones that exist."""
    try:
        return catalogue()[excerpt_id]
    except KeyError:
        known = ", ".join(sorted(catalogue()))
        raise KeyError(f"no excerpt {excerpt_id!r} in {CATALOGUE}; known ids: {known}") from None


def show(excerpt_id: str) -> None:
    """Display an excerpt in a notebook: an HTML blockquote with its attribution,
    and the same as plain text for consoles and screen readers."""
    from IPython.display import display

    display(get(excerpt_id))
