"""Generators of the course's simulated data sets.

Where a question needs micro data that no firm publishes, the course simulates
it. Each data set ``NAME`` has a module ``platformlab.simulate.NAME`` whose
``generate()`` returns it as a DataFrame from a fixed seed; its docstring gives
the model and the parameters. :func:`write` renders it to ``data/NAME.csv``, and
regenerating gives the same bytes (a test checks it).
"""

from __future__ import annotations

import importlib
import pkgutil

from .. import data


def names() -> list[str]:
    """The simulated data sets there are generators for."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_"))


def render(name: str) -> bytes:
    """The CSV bytes of simulated data set ``name``, exactly as committed to ``data/``."""
    if name not in names():
        raise KeyError(f"no generator for {name!r}; simulated data sets: {', '.join(names())}")
    frame = importlib.import_module(f"{__name__}.{name}").generate()
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write(name: str) -> None:
    """Regenerate ``data/NAME.csv`` from its generator."""
    (data.folder() / f"{name}.csv").write_bytes(render(name))
