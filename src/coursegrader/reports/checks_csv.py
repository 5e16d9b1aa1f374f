"""``checks.csv``: one row per student and check, in the instructor's language."""

from __future__ import annotations

import csv
from pathlib import Path

from coursegrader.results.results import Results, points


def write_csv(everyone: list[Results], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "block", "grade_id", "check", "visibility", "points", "earned", "status", "message"])
        for results in everyone:
            for row in results.rows:
                writer.writerow([results.student, row.block, row.grade_id, row.title,
                                 "manual" if row.manual else ("hidden" if row.hidden else "self-check"),
                                 points(row.points), "" if row.earned is None else points(row.earned), row.status,
                                 row.message])
    return path
