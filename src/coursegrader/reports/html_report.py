"""``report.html``: the class report, one page with plots: score distribution, pass rate per check, the most
common failures, the written answers awaiting a grader, every student's scores. In the instructor's language;
every value a submission can influence is escaped."""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from pathlib import Path

from coursegrader.results.results import FAILED, PASSED, PENDING, Results, points, total_text
from coursekit.lab import Lab


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figures(lab: Lab, everyone: list[Results], checks) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    auto_possible = everyone[0].autograded[1] if everyone else 0
    figures = {}
    figure, axes = pyplot.subplots(figsize=(6.5, 3))
    scores = [results.autograded[0] for results in everyone]
    axes.hist(scores, bins=[value - 0.5 for value in range(int(auto_possible) + 2)], color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"autograded points (of {points(auto_possible)})")
    axes.set_ylabel("students")
    axes.set_xlim(-0.5, auto_possible + 0.5)
    axes.set_title("Score distribution")
    figures["distribution"] = _png(figure)
    pyplot.close(figure)

    figure, axes = pyplot.subplots(figsize=(6.5, 0.32 * len(checks) + 1))
    titles, rates = [], []
    for check in checks:
        outcomes = [row.status == PASSED for results in everyone for row in results.rows if row.grade_id == check.grade_id]
        titles.append(f"{check.block}: {check.title}"[:60])
        rates.append(100 * sum(outcomes) / len(outcomes) if outcomes else 0)
    axes.barh(range(len(titles)), rates, color=["#55a868" if rate >= 75 else "#dd8452" if rate >= 40 else "#c44e52"
                                                for rate in rates])
    axes.set_yticks(range(len(titles)), titles, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of students passing")
    axes.set_title("Pass rate per check")
    figures["pass_rate"] = _png(figure)
    pyplot.close(figure)
    return figures


def common_failures(everyone: list[Results], limit: int = 10) -> list[tuple[str, str, int, str]]:
    """(check title, what was found with numbers masked, count, one full message), most frequent first."""
    counts: Counter = Counter()
    example = {}
    for results in everyone:
        for row in results.rows:
            if row.status != FAILED:
                continue
            found = next((line.split(":", 1)[1].strip() for line in row.message.splitlines()
                          if line.strip().startswith("found:")), row.message.strip().splitlines()[0] if row.message else "")
            key = (row.title, re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", found))
            counts[key] += 1
            example.setdefault(key, row.message)
    return [(title, found, count, example[(title, found)]) for (title, found), count in counts.most_common(limit)]


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: class report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} td.number {{ text-align: right; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }}
pre {{ margin: 0; white-space: pre-wrap; font-size: 0.85em; }}
.pending {{ color: #b35c00; font-weight: bold; }}
</style></head><body>
<h1>{title}: class report</h1>
<p>{count} graded submissions · autograded median {median} / {auto_possible} · {pending_count} written answers await a grader.
Per student and check: <a href="checks.csv">checks.csv</a>.</p>
<div class="plots">
<figure><img id="distribution" alt="score distribution" src="{distribution}"><figcaption>Autograded points per student.</figcaption></figure>
<figure><img id="pass-rate" alt="pass rate per check" src="{pass_rate}"><figcaption>Share of the class passing each check.</figcaption></figure>
</div>
<h2>Most common failures</h2>
<table id="failures"><thead><tr><th>check</th><th>what was found</th><th>students</th><th>one message in full</th></tr></thead>
<tbody>{failures}</tbody></table>
<h2>Awaiting a grader</h2>
<table id="pending"><thead><tr><th>student</th><th>written answer</th><th>points</th></tr></thead><tbody>{pending}</tbody></table>
<h2>Students</h2>
<table id="students"><thead><tr><th>student</th>{block_headers}<th>autograded</th><th>total</th></tr></thead>
<tbody>{students}</tbody></table>
</body></html>
"""


def write_html(lab: Lab, everyone: list[Results], checks, path: Path) -> Path:
    esc = html.escape
    figures = _figures(lab, everyone, checks)
    failures = "".join(f"<tr><td>{esc(title)}</td><td>{esc(found)}</td><td class='number'>{count}</td>"
                       f"<td><pre>{esc(message)}</pre></td></tr>" for title, found, count, message in common_failures(everyone))
    pending_rows = [(results.student, row) for results in everyone for row in results.rows if row.status == PENDING]
    pending = "".join(f"<tr><td>{esc(student)}</td><td>{esc(row.title)}</td><td class='number'>{points(row.points)}</td></tr>"
                      for student, row in pending_rows) or "<tr><td colspan='3'>none</td></tr>"
    students = []
    for results in everyone:
        cells = []
        for block in lab.blocks:
            rows = [row for row in results.rows if row.block == block]
            if any(row.status == PENDING for row in rows):
                cells.append(f"<td class='number pending'>?/{points(sum(row.points for row in rows))}</td>")
            else:
                cells.append(f"<td class='number'>{points(sum(row.earned or 0 for row in rows))}/"
                             f"{points(sum(row.points for row in rows))}</td>" if rows else "<td>–</td>")
        earned, possible = results.autograded
        students.append(f"<tr><td>{esc(results.student)}</td>{''.join(cells)}<td class='number'>{points(earned)}/"
                        f"{points(possible)}</td><td>{esc(total_text(results))}</td></tr>")
    scores = sorted(results.autograded[0] for results in everyone)
    median = points(scores[len(scores) // 2]) if scores else "–"
    path.write_text(PAGE.format(
        title=esc(lab.title), count=len(everyone), median=median,
        auto_possible=points(everyone[0].autograded[1]) if everyone else "–", pending_count=len(pending_rows),
        distribution=figures["distribution"], pass_rate=figures["pass_rate"],
        failures=failures or "<tr><td colspan='4'>no failures</td></tr>", pending=pending,
        block_headers="".join(f"<th>{esc(block)}</th>" for block in lab.blocks), students="".join(students)),
        encoding="utf-8")
    return path
