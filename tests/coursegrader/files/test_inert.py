"""coursegrader.files.inert: a file is kept where a browser can reach it only if the browser runs nothing in it."""

import pytest

from coursegrader.files.inert import served_inert, why_not_inert


@pytest.mark.parametrize("name", ["evil.html", "EVIL.HTM", "page.shtml", "a.xhtml", "a.xht", "plot.svg", "plot.svgz",
                                  "data.xml", "style.xsl", "code.js", "mod.mjs", "doc.pdf", "x.wasm", "a.mht"])
def test_names_a_browser_would_run_are_not_inert(name):
    assert not served_inert(name) and "can run code" in why_not_inert(name)


@pytest.mark.parametrize("name", ["manifest.json", "demo_output.txt", "helper.py", "data.csv", "plot.png", "photo.JPG",
                                  "arrays.npz", "weights.npy", "notes.md", "README", "archive.zip", "data.bin"])
def test_data_text_and_images_are_inert(name):
    assert served_inert(name) and why_not_inert(name) is None
