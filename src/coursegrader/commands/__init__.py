"""Commands: the ``course`` command (``cli``) and the loops it runs: ``demo``, ``release``, and nbgrader's own
commands run as an instructor would (``nbgrader``)."""
