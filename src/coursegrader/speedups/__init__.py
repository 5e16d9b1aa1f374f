"""Measured fixes for what nbgrader pays again per submission (or new gradebook), behind a version guard and a switch.

Each fix is a module here that stands in for one piece of nbgrader, nbformat or jupyter_client, and
says which, why, and where it lets the original answer:

- ``metadata_schema``: nbgrader's ``jsonschema.validate`` of each cell's metadata, validator built once per schema;
- ``engines``: nbgrader's ``create_engine``, one engine per gradebook database (never for in-memory SQLite);
- ``output_schema``: nbformat's ``nbbase.validate(node, ref)`` of each output, compiled once with fastjsonschema;
- ``timestamps``: jupyter_client's ``_dateutil_parse`` of message dates, by ``datetime.fromisoformat``;
- ``cell_lookups``: five ``Gradebook.find_*_cell`` methods, one query per kind of cell and notebook;
- ``alembic_heads``: nbgrader's ``get_alembic_version`` for each new gradebook, alembic's ``heads`` run in
  this process rather than an ``alembic`` process (~1.2 s of CPU each);
- ``gradebook_schema``: the tables ``Gradebook()`` checks at each opening, checked once per database, for
  a process that grades for one run and ends (``trust_gradebook_schema``).

The switch is nbgrader's configuration, in ``nbgrader_config.py``::

    c.CourseSpeedups.enabled = True    # False: nbgrader, nbformat and jupyter_client run as shipped
    speedups.apply(c)

``apply`` is the one step that patches anything. Each fix carries the versions it was written for
(``WRITTEN_FOR``); on any other installed version it is not applied, and one warning line names it and
both versions. With the switch off, ``apply`` removes whatever a fix replaced in this process. What
they change is checked twice: each fix against the code it stands in for, on recorded inputs
(``tests/coursegrader/speedups/test_speedups.py``), and nbgrader's own test suite, which passes with them on
exactly as with them off (``make test-nbgrader``).

Not covered: the command line cannot turn them off (``apply`` runs while nbgrader reads the file, before
it reads its options); set the value in ``nbgrader_config.py``.
"""

from __future__ import annotations

from traitlets import Bool
from traitlets.config import Configurable

from coursegrader.speedups import engines, registry


class CourseSpeedups(Configurable):
    """The switch: ``c.CourseSpeedups.enabled`` in ``nbgrader_config.py``."""

    enabled = Bool(True, help="Apply coursegrader.speedups' fixes to nbgrader, nbformat and jupyter_client "
                              "(each only on the versions it was written for). False: every one runs as shipped."
                   ).tag(config=True)


def apply(config=None) -> list[str]:
    """Apply the fixes (or, with ``c.CourseSpeedups.enabled = False`` in ``config``, remove them) in this
    process; return the names of those in force. Safe to call again: nothing is applied twice."""
    return registry.apply(enabled=CourseSpeedups(config=config).enabled)


def remove() -> None:
    """Put back everything any fix replaced, in this process (for tests, and for the switch turned off)."""
    registry.remove()


def applied() -> list[str]:
    """The names of the fixes in force in this process."""
    return registry.applied()


def forget_engines() -> None:
    """In a process forked from one that kept gradebook engines: leave them to the parent."""
    engines.forget()


def trust_gradebook_schema() -> None:
    """For a process that grades for one command and ends (a ``course autograde`` worker): check the
    gradebook's tables once per database (``gradebook_schema``), if ``apply`` enabled the speedups here.
    A process that outlives a run (a Dask worker) must not call this."""
    registry.trust_gradebook_schema()
