"""``results.json`` per submission, in Gradescope's autograder format, in the language of the student's edition."""

from __future__ import annotations

import json
from pathlib import Path

from coursegrader.results.results import FAILED, PASSED, PENDING, Results, points, total_text
from coursekit.i18n import _, use_language


def gradescope_results(results: Results) -> dict:
    """Gradescope's autograder format, in the language of the student's edition: hidden checks stay hidden
    until grades are published."""
    with use_language(results.language):
        earned, possible, pending = results.total
        tests = []
        for row in results.rows:
            if row.manual and row.status == PENDING:
                continue
            tests.append({"name": row.title, "number": row.grade_id, "score": row.earned or 0.0, "max_score": row.points,
                          "status": PASSED if row.earned and row.earned >= row.points else FAILED,
                          "output": row.message, "visibility": "after_published" if row.hidden else "visible",
                          "tags": [f"Block {row.block}"]})
        auto_earned, auto_possible = results.autograded
        output = _("Autograded checks: {earned}/{possible}. Total: {total}.").format(
            earned=points(auto_earned), possible=points(auto_possible), total=total_text(results))
    return {"score": earned, "output": output, "visibility": "visible", "tests": tests,
            "extra_data": {"student": results.student, "max_score": possible, "pending_manual_points": pending,
                           "language": results.language}}


def write_results_json(everyone: list[Results], folder: Path) -> list[Path]:
    written = []
    for results in everyone:
        path = folder / results.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_results(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
