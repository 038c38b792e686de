"""Defer the IRI grammar that ``import jsonschema`` builds: 1 to 1.5 s of CPU in every process of ours.

nbformat, nbclient and nbgrader import jsonschema, which imports ``rfc3987_syntax`` for its
``iri`` and ``iri-reference`` format checks; that module builds about 35 Lark parsers as it loads
(python-jsonschema/jsonschema#1428). No notebook or gradebook schema uses those formats, and a
``platformlab grade`` run pays the cost in its main process and in each worker. :func:`install`
puts a stand-in module in its place; the first IRI check imports the real one and uses it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types

NAME = "rfc3987_syntax"


def install() -> None:
    """Stand in for ``rfc3987_syntax`` until an IRI is checked (nothing to do once it is imported,
    or where it is not installed: jsonschema then goes without those checks, as it would)."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is None:
        return
    stand_in = types.ModuleType(NAME, __doc__)

    def is_valid_syntax(term: str, value: str) -> bool:
        return _real().is_valid_syntax(term, value)

    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[NAME] = stand_in


@functools.cache
def _real() -> types.ModuleType:
    del sys.modules[NAME]  # the stand-in
    return importlib.import_module(NAME)
