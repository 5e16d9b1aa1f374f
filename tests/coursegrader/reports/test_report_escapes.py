"""The class report shows what a submission influenced (student ids, check messages built from the student's
values, a grader's comment) as text: nothing in it becomes markup."""

import dataclasses

from coursegrader.labs import grading_checks
from coursegrader.reports.html_report import write_html
from coursegrader.results.results import FAILED, PASSED, PENDING, Results, Row
from coursekit.lab import find_lab
from tests.coursegrader.adapters.test_htmlsafety import Tags

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<iframe src=javascript:alert(3)></iframe>",
    "</pre></td></tr></table><meta http-equiv=refresh content='0;url=http://127.0.0.1:47306/'>",
    "<base href='http://127.0.0.1:47306/'>",
]
# what the report itself is made of
REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "a", "div", "figure", "img",
               "figcaption", "table", "thead", "tbody", "tr", "th", "td", "pre"}


def hostile_class(lab, checks) -> list[Results]:
    everyone = []
    for index, payload in enumerate(HOSTILE):
        rows = [Row(check.grade_id, check.block, f"{check.title} {payload}", check.points,
                    0.0 if position == index else check.points, FAILED if position == index else PASSED,
                    f"expected: a number\nfound: {payload}\nhint: {payload}", not check.visible, False)
                for position, check in enumerate(checks)]
        rows.append(Row("block_d", "D", f"Written answer {payload}", 4, None, PENDING, f"comment {payload}", False, True))
        everyone.append(Results(student=f"student{index}{payload}", rows=rows))
    return everyone


def test_the_class_report_escapes_ids_titles_and_messages(tmp_path):
    lab = find_lab("16-permutation-equivariance")
    lab = dataclasses.replace(lab, title=f"Lab {HOSTILE[0]}")
    checks = list(grading_checks(lab))
    page = write_html(lab, hostile_class(lab, checks), checks, tmp_path / "report.html").read_text()
    tags = Tags(page).tags
    assert {tag for tag, _ in tags} <= REPORT_TAGS
    assert [tag for tag, _ in tags].count("meta") == 1 and [tag for tag, _ in tags].count("img") == 2  # charset; plots
    assert not [attrs for _, attrs in tags if any(name.startswith("on") for name in attrs)]
    assert all(attrs.get("src", "").startswith("data:image/png;base64,") for tag, attrs in tags if tag == "img")
    for payload in HOSTILE:
        assert payload not in page
    assert "student0&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the id is there, as text
    assert "found: &lt;iframe src=javascript:alert(3)&gt;&lt;/iframe&gt;" in page
