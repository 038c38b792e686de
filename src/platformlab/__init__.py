"""platformlab: graded Jupyter lessons on the economics of digital platforms.

The public API mirrors the command line (``platformlab --help``):

- :func:`platformlab.lessons.find` discovers the lessons by file name;
- :func:`platformlab.generate.generate` makes ``lessons/`` from ``solutions/``;
- :func:`platformlab.data.load` and :func:`platformlab.excerpts.show` are what
  notebooks import.

Importing the package has no side effects: no plotting style, no I/O.
"""

__version__ = "0.1.0"
