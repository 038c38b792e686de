"""Grade a whole class in one command: an LMS download in, grades, feedback and an item analysis out.

The public API is :func:`.pipeline.grade` and :func:`.pipeline.export` (``platformlab grade``
is a thin layer over them). The modules, in the order a submission meets them:

- :mod:`.intake` unpacks a zip or folder and names each file's student;
- :mod:`.identify` tells a notebook's lesson and restores deleted or edited test cells;
- :mod:`.pipeline` chooses the latest submission per student and lesson, and is the single writer
  of the gradebook, the journal and the tables;
- :mod:`.pool` grades on worker processes (:mod:`.worker`), or :mod:`.cluster` on a Dask cluster;
  each worker autogrades with nbgrader and :mod:`.kernels` (a bounded ``Execute``), whose kernels
  start through :mod:`.launcher`, forked from :mod:`.zygote` where it can, in boxes of :mod:`.isolation`;
  the test cells run in the worker (:mod:`.testcells`) on answers read from the kernel as plain
  data (:mod:`.wire`), and :mod:`.guard` checks the kernel after the last cell, for flags;
- :mod:`.records` holds the typed records that cross these modules, and reads and writes the
  journal and the manifest; :mod:`.progress` draws the progress bar;
- :mod:`.feedback` hides hidden tests and grader-only cells from feedback pages; :mod:`.rubrics`
  puts each written answer's model answer and rubric where formgrader shows them; :mod:`.report`
  writes the tables.
"""
