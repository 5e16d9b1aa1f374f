"""coursegrader: the instructor's half of the course tooling. Students never receive it.

It extends nbgrader through its own configuration (``nbgrader_config.py``) so that
``nbgrader autograde ASSIGNMENT`` grades untrusted submissions safely:

- ``coursegrader.exporter``: takes submissions in (bad input, misnamed notebooks, interrupted runs);
- ``coursegrader.cells``: restores edited, deleted or foreign grade cells;
- ``coursegrader.sandbox``, ``coursegrader.kernel``, ``coursegrader.execute``: runs each notebook in a
  bubblewrap sandbox with limits, keeping what its test cells hand over;
- ``coursegrader.verdicts``: decides every test cell's verdict in the grading process;
- ``coursegrader.ledger``: which submissions a run finished;
- ``coursegrader.labs``: each lab's hidden checks and reference computations;
- ``coursegrader.demo``, ``coursegrader.classreport``, ``coursegrader.cli``: the ``course`` command.
"""
