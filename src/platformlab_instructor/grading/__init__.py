"""Grade a whole class in one command: an LMS download in, grades, feedback and an item analysis out.

Public API (the ``platformlab grade`` command is a thin layer over it):

- :func:`grade` grades a Canvas or Moodle zip, or a folder, into an output folder;
- :func:`export` writes the tables again from the gradebook after manual grading.

Built on nbgrader's Python API and its gradebook, so formgrader works on the result.
Importing this package imports nothing heavy (the kernel wrapper in
:mod:`.sandbox` must start fast).
"""

__all__ = ["grade", "export", "GradingError"]


def __getattr__(name):
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
