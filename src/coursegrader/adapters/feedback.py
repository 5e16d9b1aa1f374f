"""The student's feedback page, as ``nbgrader generate_feedback`` writes it with the course's configuration.

``nbgrader_config.py`` gives ``GenerateFeedback`` these steps, after nbgrader's ``GetGrades``:

- ``FeedbackResults`` puts the submission's results (``coursegrader.results``) in the resources,
  for the page's summary: every block and check with its title, points, outcome and message, the
  written answer pending until a grader scores it, and one total;
- ``ClearHiddenTests`` and ``ClearMarkScheme`` (nbgrader's, on the cells restored from the gradebook
  only) take the hidden tests' code and the graders' marking scheme out of the notebook before it is
  rendered: a hidden check shows its title, outcome and message, never its code; a student's own
  text is never cut, even where it says ``BEGIN MARK SCHEME``;

and ``FeedbackExporter``, nbgrader's HTML exporter with the course's template
(``coursegrader/adapters/templates/coursekit-feedback``), which puts the summary at the top and says
"pending" where nbgrader's own template says "0 / 4". The page is in the language of the student's
edition (``metadata.coursekit.language``), through Jinja's i18n extension and the course's gettext
catalogs. ``hooks.keep_only_feedback_pages`` then leaves the page alone in the student's feedback folder
(with nbgrader's ``timestamp.txt`` and ``submission_secret.txt``), so ``release_feedback``, which hands
out every ``*.html`` there, hands out the page and nothing a submission brought or wrote.

What the page guarantees about what the student controls (their markdown, the outputs of their code,
the grader's notes quoting their file names): every markdown cell, output and grader's comment is
rendered through ``coursegrader.adapters.htmlsafety`` (nh3), one fragment at a time: formatting,
tables, code, links to the web and embedded images show; scripts, event handlers, ``javascript:``
links, frames, forms, SVG and MathML markup, ``<base>``, ``<meta>``, styles and every image that is not
embedded (``data:image/...``) are removed, so the page neither runs nor fetches anything of the
student's. Outputs are limited to text, LaTeX and PNG/JPEG/GIF, image sizes to numbers
(``htmlsafety.InertOutputs``); JavaScript and widget outputs are dropped (``sanitize_html``). A
Content-Security-Policy in the page lets only MathJax, from its CDN, run, as a second layer. What
``formgrader`` shows of the same notebook goes through the same cleaner (``c.HTMLExporter.filters`` in
``nbgrader_config.py``); its files are served by ``coursegrader.adapters.formgrader_guard``, which is on
in any Jupyter server started in the course folder from this environment (``jupyter lab``), and is
installed by ``nbgrader_config.py`` where it is not.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbgrader import preprocessors as nbgrader_steps
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_locked

from coursegrader.adapters import htmlsafety
from coursegrader.labs import grading_checks
from coursegrader.language.catalog import edition_language
from coursegrader.results.results import submission_results, total_text
from coursekit.i18n import _, use_language
from coursekit.lab import find_lab

TEMPLATES = Path(__file__).resolve().parent / "templates"


def nbgrader_templates() -> str:
    import nbgrader

    return str(Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates")


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter; ``configure`` gives it the course's template (its own config section:
    nbgrader sets ``HTMLExporter``'s template for every HTML export, formgrader's included)."""

    def _create_environment(self):
        """nbconvert's environment, with Jinja's i18n extension speaking the course's catalogs."""
        from coursekit import i18n

        environment = super()._create_environment()
        environment.add_extension("jinja2.ext.i18n")
        environment.install_gettext_callables(gettext=i18n._, ngettext=i18n.ngettext, newstyle=True)
        return environment

    def default_filters(self):
        """nbconvert's filters, with the course's cleaner standing in for its markdown and HTML ones."""
        yield from super().default_filters()
        yield ("markdown2html", htmlsafety.markdown2html)
        yield ("clean_html", htmlsafety.clean_html)

    def from_notebook_node(self, nb, resources=None, **kw):
        with use_language(edition_language(nb)):  # the page speaks the language of the student's edition
            return super().from_notebook_node(nb, resources, **kw)

    @staticmethod
    def configure(c) -> None:
        c.FeedbackExporter.template_name = "coursekit-feedback"
        c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES), nbgrader_templates()]
        c.FeedbackExporter.sanitize_html = True  # outputs through clean_html; JavaScript and widgets dropped
        c.FeedbackExporter.preprocessors = ["coursegrader.adapters.htmlsafety.InertOutputs"]


class FeedbackResults(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        lab = find_lab(info["assignment"])
        language = edition_language(nb)
        with Gradebook(info["db_url"]) as gradebook, use_language(language):
            results = submission_results(lab, grading_checks(lab), gradebook, info["student"], nb, language)
            total = total_text(results)
            title = _(lab.title)
        resources["coursekit"] = {"lab": lab, "title": title, "results": results, "total": total,
                                  "rows": {row.grade_id: row for row in results.rows}, "language": language}
        return nb, resources


# -----------------------------------------------------------------------------
# the instructor's secrets, cut from the instructor's cells only


class _LockedCellsOnly:
    """Look for the delimiters only in the cells nbgrader restored from the gradebook (locked and grade cells).

    Those are where the hidden tests and the marking scheme are: a cell is restored from the gradebook,
    flags and source, before this runs (``coursegrader.adapters.restore``, nbgrader's ``OverwriteCells``),
    whatever the student did to it. A student's own cell is never searched, so their text may contain
    ``BEGIN MARK SCHEME`` or ``BEGIN HIDDEN TESTS`` and keeps it; nbgrader's steps would cut it out, or
    fail that student's whole feedback on a delimiter with no end.
    """

    def preprocess_cell(self, cell, resources, index):
        if not is_locked(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


class ClearHiddenTests(_LockedCellsOnly, nbgrader_steps.ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests``, on the locked cells only."""


class ClearMarkScheme(_LockedCellsOnly, nbgrader_steps.ClearMarkScheme):
    """nbgrader's ``ClearMarkScheme``, on the locked cells only."""
