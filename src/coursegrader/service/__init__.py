"""The services: long-running work for one course, above the class run (``course watch``).

- ``watch``: the service loop: notice a submission, queue it, decide, collect, grade, release;
- ``exchange``: nbgrader's filesystem exchange, with every submission treated as hostile;
- ``policy``: the instructor's policy (``c.WatchPolicy``): what students see, attempts, deadline;
- ``journal``: what was done with each submission, kept across restarts;
- ``grading``: the seam to the grading engine: local warm workers, or a Dask cluster;
- ``feedback``: the feedback page through the policy, and the page of a submission not graded;
- ``watcher``: inotify (watchfiles) waking the loop.
"""
