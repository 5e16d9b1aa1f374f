"""A student's feedback folder keeps its pages and nbgrader's two files, and nothing a submission brought or wrote."""

import os

from traitlets.config import Application

from coursegrader.adapters.hooks import keep_only_feedback_pages


def test_only_the_pages_and_nbgraders_files_stay(tmp_path, monkeypatch):
    monkeypatch.setattr(Application, "initialized", classmethod(lambda cls: False))  # as in formgrader's server
    graded = tmp_path / "autograded" / "eve" / "lab"
    graded.mkdir(parents=True)
    (graded / "demo.ipynb").write_text("{}")
    feedback = tmp_path / "feedback" / "eve" / "lab"
    (feedback / "plots" / "deep").mkdir(parents=True)
    for name in ("demo.html", "timestamp.txt", "submission_secret.txt", "evil.html", "written.svg", "plot.png",
                 "plots/deep/inner.html"):
        (feedback / name).write_text("x")
    outside = tmp_path / "keep-me.txt"
    outside.write_text("not the student's")
    os.symlink(outside, feedback / "link.html")
    os.symlink(outside, feedback / "timestamp.txt.bak")
    keep_only_feedback_pages("lab", "*", [str(graded / "demo.ipynb")])
    assert sorted(os.listdir(feedback)) == ["demo.html", "submission_secret.txt", "timestamp.txt"]
    assert outside.read_text() == "not the student's"  # a link is removed, never followed
