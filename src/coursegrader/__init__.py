"""coursegrader: the instructor's half of the course tooling. Students never receive it.

It extends nbgrader through its own configuration (``nbgrader_config.py``) so that
``nbgrader autograde ASSIGNMENT`` grades untrusted submissions safely, and adds the ``course`` verbs:

- ``coursegrader.exporter``, ``coursegrader.intake``: take submissions in (bad input, misnamed notebooks,
  links, interrupted runs);
- ``coursegrader.cells``: restore edited, deleted or foreign grade cells;
- ``coursegrader.sandbox``, ``coursegrader.kernel``, ``coursegrader.execute``: run each notebook in a
  bubblewrap sandbox with limits, keeping what its test cells hand over;
- ``coursegrader.verdicts``: decide every test cell's verdict in the grading process;
- ``coursegrader.ledger``: which submissions a run finished;
- ``coursegrader.speedups``: two measured fixes for what nbgrader repeats per submission;
- ``coursegrader.autograde``, ``coursegrader.factory``, ``coursegrader.zygote``, ``coursegrader.cluster``:
  ``course autograde``, a class in parallel on forked sandboxed kernels, or on a Dask cluster;
- ``coursegrader.report``, ``coursegrader.feedback``, ``coursegrader.classreport``: each submission's
  results, the student's feedback page, the class report, CSV and results.json;
- ``coursegrader.labs``: each lab's hidden checks and reference computations;
- ``coursegrader.editions``, ``coursegrader.translations``, ``coursegrader.solution``: each lab's
  editions in other languages, the catalogs they come from, and the reference solution;
- ``coursegrader.demo``, ``coursegrader.cli``: ``make demo`` and the ``course`` command.
"""

from pathlib import Path as _Path

from coursekit.i18n import add_domain as _add_domain

_add_domain("coursegrader", _Path(__file__).resolve().parent / "locale")  # its messages' translations
