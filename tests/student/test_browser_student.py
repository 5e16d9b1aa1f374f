"""The student's path in a real browser: JupyterLab on loopback, the release notebook opened in headless
Chromium, each TODO filled in by typing, the notebook run, and the self-check table read off the page."""

import contextlib
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import nbformat

from tests.browser import JupyterServer, chromium_page
from tests.examples.lab00 import BANK


def test_a_student_fills_runs_and_self_checks_the_release_in_jupyterlab(tmp_path):
    work = tmp_path / BANK.assignment
    shutil.copytree(BANK.release.parent, work)
    answers = BANK.student_answers()
    cells = nbformat.read(work / "demo.ipynb", as_version=4).cells
    todo = [(index, cell) for index, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("solution")]
    assert len(todo) == 5
    server = JupyterServer(work, tmp_path / "server")
    with ThreadPoolExecutor(1) as pool, contextlib.ExitStack() as stack:
        starting = pool.submit(server.start)  # JupyterLab starts while Chromium does
        stack.callback(lambda: starting.exception() is None and server.__exit__(None, None, None))
        page = stack.enter_context(chromium_page(timeout_seconds=90))
        starting.result()
        page.goto(f"{server.url}/lab/tree/demo.ipynb?token={server.token}")
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        notebook.locator(".jp-Cell").first.wait_for()
        page.get_by_text(re.compile(r"\|\s*Idle")).first.wait_for()
        for index, cell in todo:
            target = notebook.locator(".jp-Cell").nth(index)
            target.scroll_into_view_if_needed()
            if cell.cell_type == "markdown":
                target.dblclick()
            target.locator(".cm-content").click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(answers[cell.metadata.nbgrader.grade_id])
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        summary = notebook.get_by_text(re.compile(r"\d+ of \d+ self-checks pass"))
        summary.wait_for(timeout=120_000)
        text = summary.inner_text()
        page.screenshot(path=str(tmp_path / "jupyterlab.png"))
    assert "12 of 12 self-checks pass: 12/12 points" in text, text
