"""The class run: grading every submission of an assignment with nbgrader's own converter, many at a time.

- ``autograde``: ``course autograde``, from the submissions to the summary;
- ``app``: nbgrader set up as ``nbgrader autograde`` sets itself up, and the gradebook checked before a run;
- ``grade``: one submission, graded by nbgrader's ``Autograde`` converter, its log captured, its status
  from what nbgrader did, its failure explained in one line;
- ``pool``: local worker processes; ``cluster``: the workers of a Dask cluster;
- ``gradeserver``: a process of its own for each submission, forked from a server that imported nbgrader
  once, for callers with threads (a Dask worker); ``transfer``: what travels to and from a worker;
- ``sqlite_turns``: one SQLite writer at a time; ``progress``: the progress bar.

The engine, for any command that grades (``course autograde``, a service grading one submission at a time):

- ``grade_one(app, assignment, student) -> Outcome``: in the calling process, which it changes while it
  runs (working directory, ``os.environ``, the app's logger): call it from a process that grades nothing
  else at the same time, from one thread;
- ``LocalPool(app, assignment, jobs, deadline).run(students, on_outcome)``: ``jobs`` processes forked from
  the caller (a single thread when it forks), ``grade_one`` in each, a dead or overdue one replaced;
- ``GradingServer.shared().call(function, *args, deadline=...)``: ``function`` in a process forked for that
  call alone; safe from any thread.
"""
