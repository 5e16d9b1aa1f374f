"""nbgrader's question to alembic for a new gradebook's version, asked in this process.

Stands in for: ``nbgrader.api.get_alembic_version``, which ``Gradebook.__init__`` calls whenever it
creates a new gradebook database: it writes a temporary ``alembic.ini`` (``_temp_alembic_ini``, naming
nbgrader's migration scripts), runs ``alembic -c <ini> heads`` in a new process, and keeps the first
word of the first line of its output (the revision written into the new ``alembic_version`` table).

Why: that process imports alembic, SQLAlchemy and nbgrader anew to read six small scripts: 1.1–1.3 s
of CPU and 1.2–2 s of wall time for each new gradebook (measured on this project's 2-core machine).
Every ``nbgrader generate_assignment`` or ``course autograde`` on a fresh course pays it, and this
project's test suite started 22 of them (27.5 CPU-s). Here the same ini is written and alembic's own
``heads`` command (what the ``alembic heads`` command line runs: ``alembic.command.heads`` on an
``alembic.config.Config`` of that ini and of the ``pyproject.toml`` the command line would also read)
runs in this process, its output kept in a buffer: ~2 ms (the first call in a process also imports
alembic, ~0.1 s). A new ``Gradebook()`` then takes ~40 ms instead of ~1.6 s.

When nbgrader's own function answers instead (and so exactly as shipped):

- the ``pyproject.toml`` that ``alembic -c <ini>`` reads (the working folder's, or the one named by
  ``ALEMBIC_CONFIG``) has a ``[tool.alembic]`` table, or cannot be read: the command line would take
  options from it (``version_locations``, ``prepend_sys_path``: the latter would change this process's
  ``sys.path``), or fail;
- what this replaced is not nbgrader's function but someone's stand-in (a test's monkeypatch): it is
  called as it is.

Not the same:

- ``alembic`` no longer needs to be on PATH (without it nbgrader raises ``FileNotFoundError``, which
  ``coursegrader.classrun`` explains), and the alembic that answers is the one importable in this
  process (the version ``WRITTEN_FOR`` names), not the first ``alembic`` on PATH (which could belong to
  another environment);
- a script folder alembic cannot read: nbgrader raises ``subprocess.CalledProcessError`` (alembic's
  message went to standard error); here alembic's own error is raised, with its message:
  ``alembic.util.CommandError`` (a revision it cannot place or identify), ``KeyError`` (a
  ``down_revision`` that names no revision), the script's ``SyntaxError`` or ``ImportError``, and so on;
- the migration scripts' top-level code (their imports) runs in this process, and a warning alembic
  gives is this process's warning, not a line on the child's standard error.
"""

from __future__ import annotations

import io
import os

WRITTEN_FOR = {"nbgrader": "0.9.6", "alembic": "1.20.1"}

# What nbgrader 0.9.6's get_alembic_version writes into its temporary alembic.ini.
INI_URL = "sqlite:////tmp/gradebook.db"


def cli_pyproject() -> str:
    """The pyproject.toml that ``alembic -c <ini> heads`` also reads (alembic 1.20.1's
    ``CommandLine._inis_from_config``): the one ``ALEMBIC_CONFIG`` names, else the working folder's."""
    named = os.environ.get("ALEMBIC_CONFIG")
    return named if named and os.path.basename(named) == "pyproject.toml" else "pyproject.toml"


def is_nbgraders_own(function) -> bool:
    """Whether ``function`` is the ``get_alembic_version`` that nbgrader.api defines (not a stand-in)."""
    import nbgrader.api

    code = getattr(function, "__code__", None)
    return (code is not None and code.co_name == "get_alembic_version"
            and code.co_filename == nbgrader.api.__file__)


def heads_output(ini: str) -> str | None:
    """What ``alembic -c <ini> heads`` prints, from alembic run here; None where the command line would
    read options (or fail to read them) from a pyproject.toml."""
    import alembic.command
    import alembic.config

    output = io.StringIO()
    config = alembic.config.Config(ini, toml_file=cli_pyproject(), stdout=output)
    try:
        if config.toml_alembic_config:
            return None
    except Exception:  # noqa: BLE001 (an unreadable pyproject.toml: the command line fails on it)
        return None
    alembic.command.heads(config)
    return output.getvalue()


class InProcessHeads:
    """``get_alembic_version``, with alembic's ``heads`` run in this process."""

    def __init__(self, original):
        self.original = original

    def __call__(self) -> str:
        if not is_nbgraders_own(self.original):
            return self.original()
        import nbgrader.api

        with nbgrader.api._temp_alembic_ini(INI_URL) as ini:  # the ini nbgrader's function writes
            output = heads_output(ini)
        if output is None:
            return self.original()
        return output.split("\n")[0].split(" ")[0]  # as nbgrader reads the command's output


def applied() -> bool:
    import nbgrader.api

    return isinstance(nbgrader.api.get_alembic_version, InProcessHeads)


def apply() -> None:
    import nbgrader.api

    if not applied():
        nbgrader.api.get_alembic_version = InProcessHeads(nbgrader.api.get_alembic_version)


def remove() -> None:
    """Put back what ``apply`` replaced, if the replacement is still in place (if something was set over
    it since, such as a test's stand-in, that stays: whoever set it puts back what it found)."""
    import nbgrader.api

    if applied():
        nbgrader.api.get_alembic_version = nbgrader.api.get_alembic_version.original
