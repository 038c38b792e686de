"""Grade a whole class in one command: an LMS download in, grades, feedback and an item analysis out.

The public API is :func:`.pipeline.grade` and :func:`.pipeline.export` (``platformlab grade``
is a thin layer over them). The modules, in the order a submission meets them:

- :mod:`.intake` unpacks a zip or folder and names each file's student;
- :mod:`.identify` tells a notebook's lesson and restores deleted or edited test cells;
- :mod:`.pipeline` chooses the latest submission per student and lesson, and is the single writer
  of the gradebook, the journal and the tables;
- :mod:`.pool` grades on worker processes (:mod:`.worker`), each autograding with nbgrader and
  :mod:`.kernels` (a bounded ``Execute``), whose kernels start through :mod:`.launcher`, forked
  from :mod:`.zygote` where it can;
- :mod:`.records` holds the typed records that cross these modules, and reads and writes the
  journal and the manifest; :mod:`.progress` draws the progress bar;
- :mod:`.feedback` hides hidden tests from feedback pages; :mod:`.report` writes the tables.
"""
