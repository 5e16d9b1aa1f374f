"""Intake: what a student submitted, taken in before any of it runs, and which submissions a run finished.

- ``notebook``: read one notebook file without trusting it, within structure limits, or say why it is not one;
- ``notebook_json``: its JSON parsed as a stream, saved outputs counted and dropped unbuilt;
- ``submission``: look at a whole submission folder (missing or misnamed notebooks, links, odd files, trees
  past the folder limits);
- ``setaside``: what the intake moves out of nbgrader's way (kept, never deleted), and earlier graded folders
  removed without recursion;
- ``notes``: the grader's notes about a submission, at the top of its graded notebook;
- ``ledger``: which submissions a run finished grading, so an interrupted run resumes.
"""
