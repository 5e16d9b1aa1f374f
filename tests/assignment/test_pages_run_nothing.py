"""Nothing a student controls runs in a page anyone opens: formgrader's submission page, every file formgrader serves
for the submission, and the feedback page, opened in Chromium.

The bank's ``isolation_markup`` carries scripts, handlers, frames, forms, remote images, ``<base>`` and
``<meta refresh>`` in its written answer, HTML and crafted image outputs, HTML and SVG files submitted
and written while graded, and file names that are markup; every payload changes the page's title, opens
a dialog or requests ``PAGE_LISTENER_PORT`` on loopback. It is graded by the real ``nbgrader autograde``
beside the solution, its feedback written by ``nbgrader generate_feedback``, and formgrader served by
``jupyter lab`` from the course folder with this environment's configuration, as an instructor runs it.
A page "ran nothing" when no dialog opened, its title and address stayed, the listener saw no
connection and no request left for the web (but MathJax's, from its CDN); the student's table, embedded
image and math still show.
"""

import contextlib
import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from coursegrader.adapters.formgrader_guard import FILE_POLICY, PAGE_POLICY
from tests import commands
from tests.assignment.conftest import ASSIGNMENT, TEST_LIMITS, Listener, make_course
from tests.browser import JupyterServer, PageWatch, chromium_page
from tests.examples.lab00 import (
    BANK,
    MARKUP_FILE_NAMES,
    MARKUP_MATH,
    MARKUP_OWN_MARKER,
    MARKUP_TABLE_CELL,
    OWN_HIDDEN_TESTS_MARKER,
    PAGE_LISTENER_PORT,
)

STUDENT = "isolation_markup"
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
RUBRIC = "Marking scheme for graders"


GUARD_DISABLED = "--ServerApp.jpserver_extensions=coursegrader.adapters.formgrader_guard=False"


def grade(course: Path) -> None:
    """The instructor's nbgrader commands (tests.commands: children of a process that imported nbgrader)."""
    commands.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    for name in ("solution", STUDENT):
        BANK.place(name, course / "submitted" / name / ASSIGNMENT, course)
    commands.nbgrader(["autograde", ASSIGNMENT], course)
    for name in ("solution", STUDENT):
        assert (course / "autograded" / name / ASSIGNMENT / "demo.ipynb").is_file(), name
    commands.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course)


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """The course graded while two Jupyter servers start on it (formgrader opens the gradebook only when asked)
    and Chromium starts: ``jupyter lab`` as an instructor runs it, and ``jupyter server`` with the guard's
    server extension disabled."""
    folder = tmp_path_factory.mktemp("markup")
    course = make_course(folder / "course", TEST_LIMITS)
    servers = (JupyterServer(course, folder / "lab", app="lab"),
               JupyterServer(course, folder / "server", app="server", extra_args=(GUARD_DISABLED,)))
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(3) as pool:
            starting = [pool.submit(server.start) for server in servers]
            grading = pool.submit(grade, course)
            try:
                page = stack.enter_context(chromium_page())
            finally:
                for server, start in zip(servers, starting):
                    if start.exception() is None:
                        stack.push(server.__exit__)
                stack.callback(lambda: [server.process.terminate() for server in servers if server.process])  # at once
        for step in (*starting, grading):
            step.result()
        page.goto(f"{servers[0].url}/formgrader/manage_assignments?token={servers[0].token}")  # logs in: the cookie
        yield course, servers, page


@pytest.fixture(scope="module")
def course(started):
    return started[0]


@pytest.fixture(scope="module")
def server(started):
    return started[1][0]


@pytest.fixture(scope="module")
def server_without_the_extension(started):
    return started[1][1]


@pytest.fixture(scope="module")
def submission_id(server):
    submissions = server.request("GET", f"/formgrader/api/submitted_notebooks/{ASSIGNMENT}/demo")
    return next(submission["id"] for submission in submissions if submission["student"] == STUDENT)


@pytest.fixture(scope="module")
def listener():
    with Listener((PAGE_LISTENER_PORT,)) as listener:
        yield listener


@pytest.fixture(scope="module")
def browser_page(started):
    return started[2]


@pytest.fixture
def watched(browser_page):
    """The module's page, watched afresh for one test."""
    watch = PageWatch().attach(browser_page)
    yield browser_page, watch
    browser_page.unroute("**/*")
    browser_page.remove_listener("dialog", watch._dialog)


def open_and_settle(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def assert_ran_nothing(page, watch: PageWatch, listener, url: str, title: str | None) -> None:
    page.wait_for_load_state("networkidle")
    assert watch.dialogs == [], url
    assert page.url == url  # no refresh, no navigation
    if title is not None:
        assert page.title() == title
    assert "PWNED" not in page.title()
    assert [request for request in watch.remote_requests if not request.startswith(MATHJAX_CDN)] == []
    assert listener.accepted == [], "a request reached the listener"


def assert_the_answer_still_shows(page) -> None:
    """The student's legitimate formatting: a table, an embedded image, math as text for MathJax."""
    assert page.locator("td", has_text=MARKUP_TABLE_CELL).count() == 1
    width = page.eval_on_selector('img[alt="my sketch"]', "img => img.complete ? img.naturalWidth : 0")
    assert width == 12  # the data: image decoded and shown
    text = page.inner_text("body")
    assert MARKUP_MATH in text or page.locator(".MathJax, mjx-container").count() > 0
    assert MARKUP_OWN_MARKER in text  # the student's own "BEGIN MARK SCHEME" line, kept
    assert "Each position gets its own vector" in text  # what follows the payloads is not swallowed


# -----------------------------------------------------------------------------


def test_the_watch_sees_a_script_that_runs(watched, listener):
    page, watch = watched
    page.set_content(f"<script>document.title='PWNED'; alert('x'); fetch('http://127.0.0.1:{PAGE_LISTENER_PORT}/x')"
                     ".catch(() => {{}})</script><img src='https://example.org/remote.png'>")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.title === 'PWNED'")
    assert watch.dialogs == ["alert: x"] and watch.remote_requests == ["https://example.org/remote.png"]
    page.evaluate(f"fetch('http://127.0.0.1:{PAGE_LISTENER_PORT}/y').then(() => true, () => true)")
    assert PAGE_LISTENER_PORT in listener.accepted
    listener.accepted.clear()  # the tests below expect none


def test_the_guard_is_loaded_ahead_of_formgrader(server, submission_id):
    assert "formgrader's submission page and files are served guarded" in server.log_text()
    assert "was not enabled as a server extension" not in server.log_text()  # loaded as one, not from the config
    status, headers, body = server.fetch(f"/formgrader/submissions/{submission_id}/")
    assert status == 200 and headers["Content-Security-Policy"] == PAGE_POLICY and b"<title>demo</title>" in body


def test_formgrader_serves_a_submissions_files_as_inert_text_from_its_own_folder_only(server, submission_id, course):
    folder = course / "autograded" / STUDENT / ASSIGNMENT
    names = sorted(path.name for path in folder.iterdir())
    assert {"demo.ipynb", "manifest.json", MARKUP_FILE_NAMES[2]} <= set(names)
    assert not {"evil.html", "evil.svg"} & set(names)  # left out at intake
    for name in names:
        status, headers, body = server.fetch(f"/formgrader/submissions/{submission_id}/{urllib.parse.quote(name)}")
        assert status == 200, name
        assert headers["Content-Type"] == "text/plain; charset=utf-8", name
        assert headers["Content-Security-Policy"] == FILE_POLICY and FILE_POLICY.startswith("sandbox;")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert body == (folder / name).read_bytes()
    os.symlink("../../../nbgrader_config.py", folder / "config-link.txt")
    try:
        for path in ("../../../nbgrader_config.py", "..%2F..%2F..%2Fnbgrader_config.py", "config-link.txt",
                     "../../solution/" + ASSIGNMENT + "/demo.ipynb"):
            status, _, body = server.fetch(f"/formgrader/submissions/{submission_id}/{path}")
            assert status in (403, 404) and b"c.CourseDirectory" not in body, path
    finally:
        os.unlink(folder / "config-link.txt")


def test_formgraders_submission_page_runs_nothing_and_shows_the_answer(watched, server, submission_id, listener):
    page, watch = watched
    url = f"{server.url}/formgrader/submissions/{submission_id}/"
    open_and_settle(page, url)
    assert_ran_nothing(page, watch, listener, url, title="demo")
    # formgrader's own scripts still work under the page's policy: they fetched the grades and drew their inputs
    # (its init stops short here only because MathJax, from its CDN, is out of the tests' reach)
    page.wait_for_function("window.formgrader && formgrader.grades && formgrader.grades.length > 0")
    assert page.locator("input.score[placeholder]").count() >= 1  # the placeholder is the score its script read
    assert_the_answer_still_shows(page)
    assert RUBRIC in page.inner_text("body")  # graders see the marking scheme
    text = page.inner_text("body")
    for name in MARKUP_FILE_NAMES[:2]:
        assert f"'{name}' was not graded" in text  # the notes quote names as text
    assert "an HTML output" in text and page.locator("iframe, form, object, embed, svg, base, meta[http-equiv]").count() == 0


def test_every_file_formgrader_serves_for_the_submission_runs_nothing(watched, server, submission_id, course, listener):
    page, watch = watched
    folder = course / "autograded" / STUDENT / ASSIGNMENT
    opened = []  # each file in a tab of its own, watched as the module's page is, all loading at once
    for name in sorted(path.name for path in folder.iterdir()):
        tab = page.context.new_page()
        url = f"{server.url}/formgrader/submissions/{submission_id}/{urllib.parse.quote(name)}"
        opened.append((name, url, tab, PageWatch().attach(tab)))
        tab.goto(url, wait_until="commit")
    for name, url, tab, tab_watch in opened:
        tab.wait_for_load_state("load")
        assert_ran_nothing(tab, tab_watch, listener, url, title=None)
        if name.startswith("written."):  # shown as its source text, not as a document
            assert "<script>" in tab.inner_text("body")
        tab.close()
    for name in ("evil.html", "evil.svg"):  # submitted, never graded: not there to serve
        response = page.goto(f"{server.url}/formgrader/submissions/{submission_id}/{name}")
        assert response.status == 404
        assert watch.dialogs == [] and "PWNED" not in page.title()
    assert listener.accepted == []


def test_the_feedback_page_runs_nothing_and_shows_the_answer(watched, course, listener):
    page, watch = watched
    folder = course / "feedback" / STUDENT / ASSIGNMENT
    assert sorted(path.name for path in folder.iterdir()) == ["demo.html"]  # nothing beside the page
    url = (folder / "demo.html").as_uri()
    open_and_settle(page, url)
    assert_ran_nothing(page, watch, listener, url, title=None)
    assert_the_answer_still_shows(page)
    text = page.inner_text("body")
    assert OWN_HIDDEN_TESTS_MARKER in text and RUBRIC not in text
    assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
    assert page.locator("iframe, form, object, embed, svg, base, script:not([src])").count() <= 1  # MathJax's config


def test_the_guard_holds_where_the_server_extension_is_not_enabled(server_without_the_extension, submission_id):
    server = server_without_the_extension
    status, headers, _ = server.fetch(f"/formgrader/submissions/{submission_id}/manifest.json")
    log = server.log_text()
    assert "was not enabled as a server extension" in log  # installed from nbgrader_config.py
    assert status == 200 and headers["Content-Security-Policy"] == FILE_POLICY
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
