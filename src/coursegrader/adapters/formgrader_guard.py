"""A Jupyter server extension that serves formgrader's submission page and files so that nothing in them runs.

formgrader serves, from the instructor's Jupyter origin, a submission's page
(``/formgrader/submissions/<id>/``) and every file of its graded folder
(``/formgrader/submissions/<id>/<path>``). A script running there is the instructor: it reads and
writes through the Jupyter API with their login, starts their terminals and kernels. nbgrader's file
route sends a file with the type its name suggests (``text/html``, ``image/svg+xml``: live
documents), and accepts any path inside the whole course folder (``<id>/../../../nbgrader_config.py``).
This extension puts its own handlers ahead of formgrader's for those two routes:

- **files**: only from the submission's own graded folder (``..`` and links out of it: 403); a raster
  image (PNG, JPEG, GIF, WebP, BMP) as itself, everything else as ``text/plain``; with
  ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox; default-src 'none'; ...``,
  so even a document a browser did render would run in an opaque origin with no script and no
  requests;
- **page**: formgrader's own page, with a Content-Security-Policy that keeps formgrader's scripts
  working and forbids what a student's content could use: images from anywhere but the server and
  ``data:``, ``<base>``, frames, objects, forms posting elsewhere. The page's content itself is cleaned
  before it is rendered (``coursegrader.adapters.htmlsafety``, through ``nbgrader_config.py``).

Loaded in two ways, so that formgrader never runs without it: as a server extension (``make venv``
enables it in the environment: ``jupyter server extension enable --sys-prefix
coursegrader.adapters.formgrader_guard``), and from ``nbgrader_config.py``, which formgrader reads in
the server when it starts (``guard_running_server``). Either way its routes go first, whatever order
the extensions load in.

Not covered: other routes of the Jupyter server that show files (JupyterLab's file browser, ``/files/``)
are the Jupyter server's own, which serves files with ``Content-Security-Policy: sandbox allow-scripts``;
a submission's non-inert files are kept out of the graded folder in the first place
(``coursegrader.intake.submission``).
"""

from __future__ import annotations

import os
import sys

from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.formgrader import handlers as formgrader
from tornado import web

INSTALLED = "coursegrader_formgrader_guard"  # the web app's setting that says it is installed
RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/"  # nbconvert's mathjax() macro loads it from there
PAGE_POLICY = "; ".join([
    f"default-src 'self' {MATHJAX}",
    f"script-src 'self' 'unsafe-inline' 'unsafe-eval' {MATHJAX}",  # formgrade's template has inline scripts
    f"style-src 'self' 'unsafe-inline' {MATHJAX}",
    f"font-src 'self' data: {MATHJAX}",
    "img-src 'self' data:",
    "object-src 'none'", "frame-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'self'",
])
NAVIGATION = r"(?:next_incorrect|prev_incorrect|next|prev)/?"  # formgrader's own routes below a submission


class GuardedSubmissionHandler(formgrader.SubmissionHandler):
    """formgrader's submission page, with a Content-Security-Policy."""

    @property
    def content_security_policy(self) -> str:
        return PAGE_POLICY


class GuardedSubmissionFilesHandler(formgrader.SubmissionFilesHandler):
    """formgrader's submission files: from the submission's folder only, as inert types, sandboxed."""

    @property
    def content_security_policy(self) -> str:
        return FILE_POLICY

    def parse_url_path(self, url_path: str) -> str:
        full_path = super().parse_url_path(url_path)  # <autograded>/<student>/<assignment>/<path>
        path = url_path.lstrip("/").split("/", 1)[1]
        if not path or not full_path.endswith(path):
            raise web.HTTPError(404)
        self.submission_folder = os.path.realpath(full_path[: len(full_path) - len(path)])
        return full_path

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if not os.path.realpath(absolute_path).startswith(self.submission_folder + os.sep):
            raise web.HTTPError(403, "not a file of this submission")
        return super().validate_absolute_path(root, absolute_path)

    def get_content_type(self) -> str:
        kind = super().get_content_type()
        return kind if kind in RASTER_IMAGES else "text/plain; charset=utf-8"

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")


def install(web_app) -> bool:
    """Put the guarded handlers ahead of every other route of ``web_app``; False if they already are."""
    if web_app.settings.get(INSTALLED):
        return False
    base = web_app.settings.get("base_url", "/")
    submission = r"(?!components/)[^/]+"
    web_app.add_handlers(".*$", [
        (url_path_join(base, rf"/formgrader/submissions/({submission})/?"), GuardedSubmissionHandler),
        (url_path_join(base, rf"/formgrader/submissions/({submission}/(?!{NAVIGATION}$).+)"),
         GuardedSubmissionFilesHandler),
    ])
    # tornado tries rule groups in order and inserts each new group before its catch-all (the last
    # rule): move this one to the front, so that it wins over formgrader's whichever loaded first.
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
    web_app.settings[INSTALLED] = True
    return True


def guard_running_server() -> None:
    """From ``nbgrader_config.py``: inside a Jupyter server (formgrader reading the course's configuration),
    install the guard if the server extension was not enabled; anywhere else (``nbgrader`` commands), nothing."""
    serverapp = sys.modules.get("jupyter_server.serverapp")
    if serverapp is None or not serverapp.ServerApp.initialized():
        return
    app = serverapp.ServerApp.instance()
    web_app = getattr(app, "web_app", None)
    if web_app is not None and install(web_app):
        app.log.warning("coursegrader's formgrader guard was not enabled as a server extension: installed it "
                        "from nbgrader_config.py (enable it: jupyter server extension enable --sys-prefix %s)",
                        __name__)


# -----------------------------------------------------------------------------
# the Jupyter server extension


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp) -> None:
    install(serverapp.web_app)
    serverapp.log.info("coursegrader: formgrader's submission page and files are served guarded")
