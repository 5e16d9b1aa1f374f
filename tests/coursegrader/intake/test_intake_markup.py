"""A submission's files a browser would run are kept out of the graded folder, and the notes that name them
(or any file) show the name as text, never as markup."""

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from coursegrader.adapters.htmlsafety import clean
from coursegrader.intake.notes import notes_cell
from coursegrader.intake.submission import Intake, scan_submission
from tests.coursegrader.adapters.test_htmlsafety import Tags
from tests.examples.lab00 import BANK

MARKUP_NAMES = [
    "![x](http:&#47;&#47;127.0.0.1:47306&#47;name.png).svg",
    "<img src=x onerror=alert(1)>.html",
    "[click](javascript:alert(1)).xhtml",
    "`tick`` **bold** _em_ <b>b<b> &lt;i&gt; $x$.svg",
    "<li><ul><script>alert(1)<script>.htm",  # a name holds no slash: no closing tags
    "<!-- unclosed comment.svg",
]


def test_files_a_browser_would_run_are_not_graded_and_the_rest_is(tmp_path):
    folder = tmp_path / "eve" / "lab"
    (folder / "plots").mkdir(parents=True)
    nbformat.write(nbformat.read(BANK.path_of("solution"), as_version=4), folder / "demo.ipynb")
    for name in ("evil.html", "evil.svg", "page.xhtml", "plots/inner.svg", "helper.js"):
        (folder / name).write_text("<script>alert(1)</script>")
    for name in ("plot.png", "notes.txt", "labhelpers.py", "data.csv", "plots/inner.png", "README.md"):
        (folder / name).write_bytes(b"inert")
    intake = scan_submission(folder, "eve", ["demo"])
    ignored = sorted(str(path.relative_to(folder)) for path in intake.ignored)
    assert ignored == ["evil.html", "evil.svg", "helper.js", "page.xhtml", "plots/inner.svg"]
    problems = " ".join(intake.problems)
    assert "'evil.html' was not graded: a browser would open it as text/html, which can run code" in problems
    assert "'plots/inner.svg' was not graded: a browser would open it as image/svg+xml" in problems
    assert intake.run_notebook and intake.notebook_source == {"demo.ipynb": folder / "demo.ipynb"}


def rendered_notes(problems: list[str]) -> str:
    cell = notes_cell(Intake("eve", problems=problems))
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(cell.source)


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_a_file_name_in_the_notes_shows_as_its_characters(tmp_path, name):
    (tmp_path / "demo.ipynb").write_text("{}")
    (tmp_path / name).write_text("x")
    intake = scan_submission(tmp_path, "eve", ["demo"])
    html = rendered_notes(intake.problems)
    # no markup but the list itself (before any cleaning), and the name's text intact
    assert [tag for tag, _ in Tags(html).tags] == ["p", "strong", "ul", "li"], html
    text = "".join(Text(html).parts)
    assert f"'{name}' was not graded" in text
    assert clean(html) == html  # the cleaner finds nothing to take out


def test_notes_keep_every_problem_as_its_own_item():
    html = rendered_notes(["First: 'a.svg'.", "Second,\n\nover two paragraphs.", "Third <b>."])
    assert html.count("<li>") == 3 and "Second, over two paragraphs." in html and "Third &lt;b&gt;." in html


class Text(Tags):
    def __init__(self, html):
        self.parts = []
        super().__init__(html)

    def handle_data(self, data):
        self.parts.append(data)
