"""platformlab_instructor: the instructor's tools for the platformlab course (never published to students).

One module per job, each a verb of the ``platformlab`` command (:mod:`.cli`):

- :mod:`.lessons` finds the course folder and its lessons; :mod:`.course` drives nbgrader;
- :mod:`.generate` makes ``lessons/`` from ``solutions/``; :mod:`.publish` writes the student copy;
- :mod:`.grading` grades a class; :mod:`.mutants` measures how strong each exercise's tests are;
- :mod:`.lab` starts JupyterLab; :mod:`.errors` holds the errors a user sees as messages.
"""

from . import lazy_iri

lazy_iri.install()  # before anything imports jsonschema (see the module)
