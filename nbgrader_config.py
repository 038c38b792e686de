"""nbgrader's configuration for this repository (read by nbgrader commands and extensions started here).

This repository is not laid out as an nbgrader course directory; the platformlab commands
build one when they need it. The mapping:

    nbgrader                                 this repository
    source/NN-slug/NN-slug.ipynb             solutions/NN-slug.ipynb (written by hand)
    release/NN-slug/NN-slug.ipynb            lessons/NN-slug.ipynb (`platformlab generate`: nbgrader's
                                             generate step, run on a scratch course)
    submitted/, autograded/, feedback/,      grades/course/ (`platformlab grade SUBMISSIONS --out grades/`)
    gradebook.db

So nbgrader's own commands and formgrader, started in this folder, work on the course of the
last `platformlab grade --out grades/` run: `nbgrader formgrader` here (or in grades/course)
grades the written answers. Do not run `nbgrader generate_assignment` here: `platformlab
generate` does that step.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (traitlets provides it when it loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent / "grades" / "course")
