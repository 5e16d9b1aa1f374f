"""The class run: grading every submission of an assignment with nbgrader's own converter, many at a time.

- ``autograde``: ``course autograde``, from the submissions to the summary;
- ``app``: nbgrader set up as ``nbgrader autograde`` sets itself up;
- ``grade``: one submission, graded by nbgrader's ``Autograde`` converter, its log captured;
- ``pool``: local worker processes; ``cluster``: the workers of a Dask cluster;
- ``sqlite_turns``: one SQLite writer at a time; ``progress``: the progress bar.
"""
