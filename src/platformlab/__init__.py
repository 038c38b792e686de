"""platformlab: what the lessons import (the student runtime).

- :func:`platformlab.data.load` loads a data set of the course by name;
- :func:`platformlab.excerpts.show` shows an attributed quotation by id;
- :mod:`platformlab.plots`, :mod:`platformlab.widgets` and :mod:`platformlab.simulate`
  hold the figures' theme, the interactive models and the simulated data's generators.

The instructor's tools (``platformlab generate``, ``grade``, ``publish``...) live in
the separate package :mod:`platformlab_instructor`, which students never get.
Importing this package has no side effects: no plotting style, no I/O.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("platformlab")
except PackageNotFoundError:  # a student copy used without installing it
    __version__ = "unknown"
