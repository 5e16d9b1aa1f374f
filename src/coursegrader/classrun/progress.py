"""Progress of a class run: a rich progress bar on a terminal, a line per submission elsewhere."""

from __future__ import annotations

import time

from coursegrader.classrun.grade import Outcome


def progress_reporter(console, total: int):
    """A rich progress bar on a terminal; a line per submission elsewhere (a log, a pipe)."""
    from rich.text import Text
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if console.is_terminal:
        progress = Progress(TextColumn("[bold]autograde[/]"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("[red]{task.fields[failed]} failed[/] · {task.fields[skipped]} skipped"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        task = progress.add_task("autograde", total=total, failed=0, skipped=0)
        counts = {"failed": 0, "skipped": 0}

        def report(outcome: Outcome) -> None:
            if outcome.status in counts:
                counts[outcome.status] += 1
            if outcome.status == "failed":
                progress.console.print(Text(f"✗ {outcome.student}: {outcome.error}", style="red"), soft_wrap=True)
            if outcome.note:
                progress.console.print(f"! {outcome.student}: {outcome.note}", markup=False, highlight=False, soft_wrap=True)
            progress.update(task, advance=1, **counts)

        return progress, report

    done = {"count": 0, "failed": 0, "skipped": 0}
    started = time.monotonic()

    def report(outcome: Outcome) -> None:
        done["count"] += 1
        if outcome.status in ("failed", "skipped"):
            done[outcome.status] += 1
        elapsed = time.monotonic() - started
        left = elapsed / done["count"] * (total - done["count"])
        mark = {"graded": "✓", "failed": "✗", "skipped": "·"}[outcome.status]
        console.print(f"  [{done['count']}/{total}] {mark} {outcome.student} ({outcome.seconds:.1f} s)"
                      f"{': ' + outcome.error if outcome.error else ''}{' (' + outcome.note + ')' if outcome.note else ''}"
                      f" · {done['failed']} failed · ETA {left:.0f} s", markup=False, highlight=False, soft_wrap=True)

    class Quiet:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    return Quiet(), report
