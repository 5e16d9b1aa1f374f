"""Intake: what a student submitted, taken in before any of it runs, and which submissions a run finished.

- ``notebook``: read one notebook file without trusting it, or say why it is not one;
- ``submission``: look at a whole submission folder (missing or misnamed notebooks, links, odd files);
- ``notes``: the grader's notes about a submission, at the top of its graded notebook;
- ``ledger``: which submissions a run finished grading, so an interrupted run resumes.
"""
