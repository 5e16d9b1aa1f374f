"""Reports: what the class did, for the instructor and the LMS.

- ``class_report``: writes them all for an assignment (``course report``);
- ``console``: the table printed at the end of ``course demo`` and ``course report``;
- ``html_report``, ``checks_csv``, ``gradescope``: ``report.html``, ``checks.csv`` and each ``results.json``.

The student's own feedback page is nbgrader's ``generate_feedback`` (``coursegrader.adapters.feedback``).
"""
