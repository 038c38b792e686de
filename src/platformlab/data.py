"""The course data: CSV files in ``data/``, described by ``data/datapackage.json``.

Every notebook loads data through :func:`load` by resource name. Files are read
from the checkout; nothing is fetched from the network, so lessons work offline
(Binder, classrooms, CI).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .root import MARKER, course_root


def folder() -> Path:
    """The course's ``data/`` folder (see :mod:`platformlab.root` for how it is found)."""
    return course_root() / MARKER.parent


def package() -> dict:
    """The Frictionless data package descriptor, as a dict."""
    return _descriptor(folder() / MARKER.name)


@lru_cache(maxsize=4)
def _descriptor(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def resource(name: str) -> dict:
    """The descriptor of one resource: its path, schema, sources and licence."""
    for entry in package()["resources"]:
        if entry["name"] == name:
            return entry
    known = ", ".join(sorted(entry["name"] for entry in package()["resources"]))
    raise KeyError(f"no data set {name!r} in {MARKER.name}; known data sets: {known}")


def load(name: str) -> pd.DataFrame:
    """Load the data set ``name`` as a DataFrame, with date columns parsed.

    Does not download anything: an unknown name is an error that lists the
    data sets the course ships.
    """
    entry = resource(name)
    fields = entry["schema"]["fields"]
    dates = [field["name"] for field in fields if field["type"] in ("date", "datetime")]
    strings = {field["name"]: "string" for field in fields if field["type"] == "string"}
    return pd.read_csv(folder() / entry["path"], dtype=strings, parse_dates=dates, keep_default_na=False, na_values=[""])


def sources(name: str) -> pd.DataFrame:
    """The sources cited by data set ``name``: one row per source, with its id, title,
    publisher, date and URL (``path``)."""
    return pd.DataFrame(resource(name).get("sources", []))
