"""coursegrader: the instructor's half of the course tooling. Students never receive it.

It extends nbgrader through its own configuration (``nbgrader_config.py``), so that
``nbgrader autograde ASSIGNMENT`` grades untrusted submissions safely, and adds the ``course`` verbs.
Its subpackages follow the grading of one submission, then of a class; imports run one way, down
this list (``tests/test_architecture.py`` holds them to it):

- ``commands``: the ``course`` command, ``course demo``, ``course release``;
- ``classrun``: a whole class at once (local workers, a Dask cluster, progress); ``reports``: the
  class report, CSV and results.json; ``editions``: the lab in other languages, the reference solution;
- ``adapters``: every class nbgrader loads by name from ``nbgrader_config.py``, each a thin shell;
- ``intake``: a submission taken in before anything runs, and the ledger of finished ones; ``run``:
  its notebook run in a bounded bubblewrap sandbox, cell by cell; ``verdicts``: each test cell's
  verdict, decided here; ``results``: a submission's results and its one total;
- ``labs``: each lab's hidden checks; ``language``: a lab's texts in another language;
  ``speedups``: measured fixes for what nbgrader repeats per submission; ``files``: trees a
  submission made, walked, copied and removed without recursion or following a link;
- then ``coursekit`` (the student kit) and ``minimodel`` (the library).
"""

from pathlib import Path as _Path

from coursekit.i18n import add_domain as _add_domain

_add_domain("coursegrader", _Path(__file__).resolve().parent / "locale")  # its messages' translations
