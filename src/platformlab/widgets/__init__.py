"""Interactive explorations for the lessons: each module pairs a small model
(a pure function that tests can check) with an ipywidgets explorer of it."""
