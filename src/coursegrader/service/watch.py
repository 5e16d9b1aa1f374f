"""``course watch ASSIGNMENT``: feedback seconds after a student submits, as a long-running service for one course.

The loop, one submission at a time per student, many students at once:

1. **notice**: ``coursegrader.service.watcher`` wakes the loop on any change in the exchange's inbound
   folder; the loop also looks every ``POLL_SECONDS`` (network file systems send no events). It looks
   at every folder of the assignment it has not settled yet (``Exchange.inspect``): complete and
   trusted, still being written, or rejected (logged, nothing released).
2. **queue**: each student's newest complete submission waits in arrival order (the time in its
   name, as nbgrader's collect orders them); an older one still waiting is superseded, as ``nbgrader
   collect --update`` would take the newest. A burst is queued, never dropped; the log says how many wait.
3. **decide** (``coursegrader.service.policy``): grade it, refuse it (attempts used up, past a
   ``stop`` deadline) or hold it until a cool-down ends. A refused or held submission gets a page
   saying so, under its own secret.
4. **collect** it into ``submitted/`` (``Exchange.collect``: by descriptor, no links, within limits),
   **grade** it and write its feedback (``coursegrader.service.grading``: the engine of ``course
   autograde``), then **release** the page where ``nbgrader fetch_feedback`` finds it.

Every step is recorded first in the journal (``coursegrader.service.journal``), so a service killed at
any point and started again grades each submission exactly once and loses none. A gradebook or
exchange it cannot reach is reported, and tried again after a pause that doubles up to a minute.
SIGTERM (or Ctrl-C) stops taking new submissions, lets those being graded finish and be released,
and exits; what was still waiting is taken up by the next start.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import wait
from pathlib import Path

from coursegrader.intake import ledger
from coursegrader.service.exchange import (Exchange, ExchangeUnsafe, Inspection, Record, parse_name, submitted_timestamp,
                                           utc_text)
from coursegrader.service.feedback import notice_page
from coursegrader.service.grading import FEEDBACK, GRADE, ClusterGrading, Done, Job, LocalGrading
from coursegrader.service.journal import Journal
from coursegrader.service.policy import DEFER, REFUSE, WatchPolicy, decide, parse_time
from coursekit.i18n import SOURCE_LANGUAGE, _, use_language

POLL_SECONDS = 2.0  # the periodic look at inbound, whatever the watcher says
DEADLINE_MARGIN = 120.0  # seconds a job may take beyond the notebook's time limit before its worker is replaced
MAX_BACKOFF = 60.0
DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"  # nbgrader's own default for c.Exchange.root
UNREACHABLE = ("OperationalError", "could not connect", "database is locked", "unable to open database",
               "Connection refused", "server closed the connection")


@dataclass
class Waiting:
    record: Record
    inspection: Inspection
    held_until: float = 0.0  # a cool-down: not before then
    told: bool = False  # the student was sent the page saying it is held


@dataclass
class Backoff:
    """A pause that doubles after each failure, up to a minute, and resets after a success."""

    delay: float = 0.0
    until: float = 0.0

    def failed(self, now: float) -> float:
        self.delay = min(MAX_BACKOFF, max(1.0, self.delay * 2))
        self.until = now + self.delay
        return self.delay

    def ok(self) -> None:
        self.delay, self.until = 0.0, 0.0

    def blocked(self, now: float) -> bool:
        return now < self.until


@dataclass
class Service:
    course_root: Path
    assignment: str
    console: object
    jobs: int = 2
    scheduler: str | None = None
    force_polling: bool = False
    db_url: str | None = None
    queue: dict[str, Waiting] = field(default_factory=dict)  # student -> their newest submission waiting
    running: dict[str, Job] = field(default_factory=dict)  # student -> the job being done
    recheck_at: float = 0.0
    stopping: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"released": 0, "refused": 0, "rejected": 0, "failed": 0})

    # ------------------------------------------------------------------ set-up

    def say(self, text: str) -> None:
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)  # names come from students
        self.console.print(f"{datetime.now():%H:%M:%S} {text}", markup=False, highlight=False, soft_wrap=True)

    def set_up(self) -> None:
        from nbgrader.converters.base import NbGraderException  # noqa: F401 — nbgrader, imported once, before forking

        from coursegrader.adapters.execute import SandboxedExecute
        from coursegrader.classrun.app import make_app
        from coursekit.lab import find_lab

        self.lab = find_lab(self.assignment)
        extra = [f"--CourseDirectory.db_url={self.db_url}"] if self.db_url else []
        self.app = make_app(self.course_root, self.assignment, False, extra)
        SandboxedExecute(config=self.app.config).refuse_unless_sandboxed()
        self.policy = WatchPolicy(config=self.app.config)
        root = self.app.config.get("Exchange", {}).get("root", DEFAULT_EXCHANGE)
        self.exchange = Exchange(Path(root), self.app.coursedir.course_id, self.assignment,
                                 quiet=self.policy.quiet_seconds, check_owner=self.policy.check_owner)
        try:
            self.exchange.secure(self.say)
        except FileNotFoundError as error:
            raise SystemExit(f"course watch: {error.filename} does not exist: release the assignment first "
                             f"(nbgrader release_assignment {self.assignment})") from None
        except ExchangeUnsafe as error:
            raise SystemExit(f"course watch: {error}") from None
        mode = os.stat(self.course_root).st_mode
        if mode & 0o077:
            self.say(f"warning: the course folder {self.course_root} is open to other accounts (mode {mode & 0o777:o}): "
                     "students could read source/, submitted/ and the gradebook; chmod 700 it")
        self.journal = Journal.open(self.course_root, self.assignment)
        self.notebook_timeout = SandboxedExecute(config=self.app.config).notebook_timeout
        self.gradebook_backoff, self.exchange_backoff = Backoff(), Backoff()
        self.deadline, self.deadline_known = None, False
        self.read_deadline(time.time())
        log_dir = Path(self.course_root) / "logs"
        log_dir.mkdir(exist_ok=True)
        self.log_path = log_dir / "course-watch.log"
        self.log_file = self.log_path.open("a", encoding="utf-8")
        if self.scheduler:
            self.grading = ClusterGrading(self.app, self.course_root, self.assignment, self.jobs, self.scheduler)
        else:
            self.grading = LocalGrading(self.app, self.assignment, self.jobs, self.notebook_timeout + DEADLINE_MARGIN)

    def read_deadline(self, now: float) -> None:
        """The deadline, from the policy or the gradebook; nothing is graded until it is known (a gradebook that
        cannot be reached is reported and tried again)."""
        if self.deadline_known or self.gradebook_backoff.blocked(now):
            return
        try:
            self.deadline, self.deadline_known = self._deadline(), True
        except Exception as error:  # noqa: BLE001 — SQLAlchemy's errors, a missing database file, a refused connection
            delay = self.gradebook_backoff.failed(now)
            self.say(f"the gradebook cannot be reached ({type(error).__name__}: {' '.join(str(error).split())[:200]}); "
                     f"trying again in {delay:.0f} s")
            return
        self.gradebook_backoff.ok()

    def _deadline(self) -> float | None:
        """The policy's deadline, or the assignment's due date in the gradebook (None: no deadline)."""
        if self.policy.deadline:
            return parse_time(self.policy.deadline)
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(self.app.coursedir.db_url) as gradebook:
                due = gradebook.find_assignment(self.assignment).duedate
        except MissingEntry:
            return None
        if due is None:
            return None
        return parse_time(str(due) + " UTC")

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        from coursegrader.service.watcher import Watcher

        self.set_up()
        self.watcher = Watcher(self.exchange.inbound, self.say, self.force_polling)
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.grading.start()
        self.watcher.start()
        where = f"the Dask scheduler {self.scheduler}" if self.scheduler else f"{self.jobs} local workers"
        self.say(f"course watch {self.assignment}: watching {self.exchange.inbound} ({where}; "
                 f"hidden checks: {self.policy.hidden_view(time.time())}; attempts: "
                 f"{self.policy.max_attempts or 'no limit'}; deadline: "
                 f"{utc_text(self.deadline) if self.deadline else 'none' if self.deadline_known else 'not known yet'}, "
                 f"then {self.policy.after_deadline}); "
                 f"nbgrader's log: {self.log_path}")
        next_look, announced = 0.0, bool(self.scheduler)
        try:
            while not self.stopping:
                now = time.time()
                if now >= next_look or now >= self.recheck_at:
                    self.look()
                    next_look = now + POLL_SECONDS
                self.read_deadline(now)
                self.maybe_reveal(now)
                self.dispatch()
                timeout = max(0.0, min(next_look, self.recheck_at or next_look) - time.time())
                wait([*self.grading.waitables(), self.watcher.wake_read], timeout=min(timeout, POLL_SECONDS))
                if self._woken():
                    next_look = 0.0
                for done in self.grading.poll():
                    self.finish(done)
                if not announced and len(getattr(self.grading, "ready", ())) == self.jobs:
                    announced = True
                    self.say(f"{self.jobs} workers ready (kernel factories warm)")
            busy = self.grading.busy()
            self.say(f"stopping: finishing {len(busy)} submission(s) being graded; "
                     f"{len(self.queue)} waiting will be taken up at the next start")
            while self.grading.busy():
                wait(self.grading.waitables(), timeout=1.0)
                for done in self.grading.poll():
                    self.finish(done)
        finally:
            self.watcher.stop()
            self.grading.close()
            self.journal.close()
            self.log_file.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.say(f"stopped: {self.stats['released']} released, {self.stats['refused']} refused, "
                 f"{self.stats['rejected']} rejected, {self.stats['failed']} failed")
        return 0

    def _stop(self, signum, _frame) -> None:
        self.stopping = True
        self.watcher.wake()

    def _woken(self) -> bool:
        try:
            woken = bool(os.read(self.watcher.wake_read, 4096))
        except (BlockingIOError, OSError):
            return False
        self.watcher.drain()
        return woken

    # ------------------------------------------------------------------ 1. notice, 2. queue

    def look(self) -> None:
        """Look at every folder of the assignment in inbound that is not settled yet."""
        now = time.time()
        if self.exchange_backoff.blocked(now):
            return
        try:
            records = self.exchange.scan()
        except OSError as error:
            delay = self.exchange_backoff.failed(now)
            self.say(f"the exchange cannot be read ({error}); trying again in {delay:.0f} s")
            self.exchange.reopen()
            return
        self.exchange_backoff.ok()
        self.recheck_at = 0.0
        queued = {waiting.record.name for waiting in self.queue.values()} | {job.record for job in self.running.values()}
        for record in records:
            if self.journal.is_settled(record.name) or record.name in queued:
                continue
            inspection = self.exchange.inspect(record, now)
            if inspection.state == "waiting":
                self.recheck_at = min(self.recheck_at or inspection.settles_at, inspection.settles_at)
            elif inspection.state == "rejected":
                self.settle("rejected", record, why=inspection.why)
                self.say(f"✗ rejected {record.name}: {inspection.why}")
            elif not self.journal.claim_secret(inspection.secret, record.student):
                self.settle("rejected", record, why="its submission secret belongs to another student")
                self.say(f"✗ rejected {record.name}: its submission secret belongs to another student")
            else:
                self.enqueue(record, inspection)

    def enqueue(self, record: Record, inspection: Inspection) -> None:
        running = self.running.get(record.student)
        newer_taken = [when for _name, when in self.journal.attempts(record.student)]
        if running is not None and running.kind == GRADE:
            newer_taken.append(running.submitted_at)
        if newer_taken and max(newer_taken) > record.when:  # settled late: a newer one is graded already
            self.supersede(record, inspection, Record("", record.student, self.assignment, "", max(newer_taken)))
            return
        waiting = self.queue.get(record.student)
        if waiting is not None:
            older, newer = sorted([waiting.record, record], key=lambda item: (item.when, item.name))
            if newer is waiting.record:  # this one is older than the one already waiting
                self.supersede(record, inspection, waiting.record)
                return
            self.supersede(older, waiting.inspection, record)
        self.queue[record.student] = Waiting(record, inspection)
        self.say(f"queued {record.student} (submitted {record.stamp}); {len(self.queue)} waiting, "
                 f"{len(self.running)} being graded")

    def supersede(self, record: Record, inspection: Inspection, by: Record) -> None:
        self.release_notice(record, inspection.secret, lambda: [_(
            "This submission ({submitted}) was not graded: you submitted again ({newer}) before it was, and your "
            "newest submission is the one that counts.").format(submitted=utc_text(record.when), newer=utc_text(by.when))])
        self.settle("superseded", record, by=by.name)

    # ------------------------------------------------------------------ 3. decide, 4. collect and grade

    def dispatch(self) -> None:
        now = time.time()
        for student, waiting in sorted(self.queue.items(), key=lambda item: (item[1].record.when, item[0])):
            if self.stopping or not self.grading.free():
                return
            if student in self.running or now < waiting.held_until:
                continue
            if self.gradebook_backoff.blocked(now) or not self.deadline_known:
                return
            record = waiting.record
            graded_times = [when for name, when in self.journal.attempts(student) if name != record.name]
            if self.journal.was_graded(record.name, student):  # graded before a restart, not yet released
                decision_attempt = len(graded_times) + 1
            else:
                decision = decide(self.policy, record.when, graded_times, self.deadline, now)

                def in_their_language() -> list[str]:
                    return [decide(self.policy, record.when, graded_times, self.deadline, now).message]

                if decision.action == REFUSE:
                    del self.queue[student]
                    self.release_notice(record, waiting.inspection.secret, in_their_language)
                    self.settle("refused", record, why=decision.message)
                    self.say(f"refused {student} (submitted {record.stamp}): {decision.message}")
                    continue
                if decision.action == DEFER:
                    waiting.held_until = decision.until
                    self.recheck_at = min(self.recheck_at or decision.until, decision.until)
                    if not waiting.told:
                        self.release_notice(record, waiting.inspection.secret, in_their_language)
                        waiting.told = True
                        self.say(f"held {student} until {utc_text(decision.until)} (cool-down)")
                    continue
                decision_attempt = decision.attempt
            if not self.collect(record, waiting.inspection):
                return
            if not self.journal.began_grading(record.name):
                # nbgrader skips a student whose autograded/ folder is as new as the submission, and the ledger
                # says whether that folder is whole: forget the last attempt's entry before this one's folder is
                # begun, so a kill half-way leaves a folder the next start removes and grades again
                ledger.start(self.course_root, self.assignment, student)
                self.journal.write("grading", record=record.name, student=student)
            del self.queue[student]
            job = Job(student, record.name, GRADE, waiting.inspection.secret, record.when,
                      self.policy.hidden_view(now), decision_attempt,
                      late=self.deadline is not None and record.when > self.deadline)
            self.running[student] = job
            self.grading.submit(job)
            limit = f"/{self.policy.max_attempts}" if self.policy.max_attempts else ""
            self.say(f"grading {student} (attempt {decision_attempt}{limit}, submitted {record.stamp}); "
                     f"{len(self.queue)} waiting, {len(self.running)} being graded")

    def collect(self, record: Record, inspection: Inspection) -> bool:
        """``nbgrader collect --update`` for this record: copied when newer than what submitted/ holds."""
        coursedir = self.app.coursedir
        destination = Path(coursedir.format_path(coursedir.submitted_directory, record.student, self.assignment))
        current = submitted_timestamp(destination)
        if current is not None and current >= record.when and not os.path.islink(destination):
            return True  # already collected (a restart), or something newer is there
        try:
            copied = self.exchange.collect(record, inspection.owner, destination, coursedir)
        except OSError as error:
            delay = self.exchange_backoff.failed(time.time())
            self.say(f"could not collect {record.name} ({error}); trying again in {delay:.0f} s")
            return False
        if copied.left:
            self.say(f"collected {record.student}, leaving out: {copied.note()}")
        return True

    # ------------------------------------------------------------------ 5. release

    def finish(self, done: Done) -> None:
        job = done.job
        self.running.pop(job.student, None)
        outcome = done.outcome
        self._log_block(done)
        if outcome is not None and outcome.status == "failed":
            text = f"{outcome.error or ''}\n{outcome.log}"
            if any(marker in text for marker in UNREACHABLE):
                delay = self.gradebook_backoff.failed(time.time())
                self.say(f"the gradebook cannot be reached ({' '.join((outcome.error or '').split())[:200]}); "
                         f"{job.student} is graded again in {delay:.0f} s")
                self._requeue(job)
                return
            self.stats["failed"] += 1
            self.release_notice_for(job, lambda: [_("This submission could not be graded ({why}). Your instructor has "
                                                    "been told; it does not count as an attempt.").format(why=outcome.error)])
            self.settle_job("failed", job, why=outcome.error)
            self.say(f"✗ {job.student} could not be graded: {outcome.error}")
            return
        self.gradebook_backoff.ok()
        if job.kind == GRADE and not self.journal.was_graded(job.record, job.student):
            self.journal.write("graded", record=job.record, student=job.student, when=job.submitted_at,
                               status=outcome.status if outcome else "")
        if not done.feedback_written:
            self.stats["failed"] += 1
            self.settle_job("failed", job, why="its feedback page could not be written")
            self.say(f"✗ {job.student}: graded, but the feedback page could not be written (see {self.log_path})")
            return
        try:
            page = self._feedback_page(job.student)
            self.exchange.release(page, job.secret, self.lab.notebook)
        except OSError as error:
            delay = self.exchange_backoff.failed(time.time())
            self.say(f"could not release {job.student}'s feedback ({error}); trying again in {delay:.0f} s")
            self._requeue(job)
            return
        if job.kind == FEEDBACK:
            self.journal.write("revealed", record=job.record, student=job.student)
            self.say(f"released {job.student}'s feedback again, hidden checks in full")
            return
        self.settle_job("released", job)
        self.stats["released"] += 1
        limit = f"/{self.policy.max_attempts}" if self.policy.max_attempts else ""
        self.say(f"✓ {job.student} (attempt {job.attempt}{limit}): {outcome.status if outcome else ''} in "
                 f"{done.seconds - done.feedback_seconds:.1f} s, page written in {done.feedback_seconds:.1f} s, "
                 f"released {time.time() - job.submitted_at:.1f} s after submitting; "
                 f"{len(self.queue)} waiting, {len(self.running)} being graded")

    def _requeue(self, job: Job) -> None:
        record = parse_name(job.record)
        if job.kind == GRADE and record is not None and job.student not in self.queue:
            self.queue[job.student] = Waiting(record, Inspection("complete", secret=job.secret,
                                                                 owner=self._owner_of(job)))

    def _owner_of(self, job: Job) -> int:
        try:
            return os.stat(self.exchange.inbound / job.record, follow_symlinks=False).st_uid
        except OSError:
            return -1

    def _feedback_page(self, student: str) -> bytes:
        from coursegrader.files.trees import FILE_FLAGS

        coursedir = self.app.coursedir
        folder = Path(coursedir.format_path(coursedir.feedback_directory, student, self.assignment))
        fd = os.open(folder / f"{self.lab.notebook}.html", FILE_FLAGS)
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _log_block(self, done: Done) -> None:
        outcome = done.outcome
        status = outcome.status if outcome else "feedback"
        self.log_file.write(f"\n===== {datetime.now():%Y-%m-%d %H:%M:%S} {done.job.student} ({done.job.record}): "
                            f"{status} in {done.seconds:.2f} s{' — ' + outcome.error if outcome and outcome.error else ''}\n"
                            f"{outcome.log if outcome else ''}{done.feedback_log}")
        self.log_file.flush()

    # ------------------------------------------------------------------ the reveal time

    def maybe_reveal(self, now: float) -> None:
        """At ``reveal_at``, every student's latest graded feedback is written again with hidden checks in full."""
        reveal = self.policy.reveal_time()
        if reveal is None or now < reveal or self.policy.hidden_checks == "full" or self.stopping \
                or not self.deadline_known:
            return
        for student, attempts in list(self.journal.graded.items()):
            if student in self.journal.revealed or student in self.running or student in self.queue or not attempts:
                continue
            if not self.grading.free():
                return
            record_name, when = sorted(attempts, key=lambda item: item[1])[-1]
            secret = self._collected_secret(student)
            if secret is None:
                self.journal.write("revealed", record=record_name, student=student, skipped=True)
                continue
            job = Job(student, record_name, FEEDBACK, secret, when, "full", len(attempts),
                      late=self.deadline is not None and when > self.deadline)
            self.running[student] = job
            self.grading.submit(job)

    def _collected_secret(self, student: str) -> str | None:
        from coursegrader.service.exchange import SECRET, _read_small
        from coursegrader.files.trees import open_folder

        coursedir = self.app.coursedir
        try:
            fd = open_folder(coursedir.format_path(coursedir.submitted_directory, student, self.assignment))
        except OSError:
            return None
        try:
            secret = _read_small("submission_secret.txt", fd)
        finally:
            os.close(fd)
        return secret if secret and SECRET.fullmatch(secret) else None

    # ------------------------------------------------------------------ settling

    def settle(self, event: str, record: Record, **fields) -> None:
        self.journal.write(event, record=record.name, student=record.student, **fields)
        if event in self.stats:
            self.stats[event] += 1

    def settle_job(self, event: str, job: Job, **fields) -> None:
        self.journal.write(event, record=job.record, student=job.student, **fields)

    def _language(self, student: str) -> str:
        """The language of the student's edition, from their graded notebook (the source language before one)."""
        import json

        from coursegrader.files.trees import FILE_FLAGS
        from coursegrader.language.catalog import edition_language

        coursedir = self.app.coursedir
        path = Path(coursedir.format_path(coursedir.autograded_directory, student, self.assignment)) / \
            f"{self.lab.notebook}.ipynb"
        try:
            fd = os.open(path, FILE_FLAGS)
        except OSError:
            return SOURCE_LANGUAGE
        try:
            with os.fdopen(fd, "rb") as notebook:
                return edition_language(json.loads(notebook.read(64 * 2**20)))
        except (ValueError, OSError, AttributeError):
            return SOURCE_LANGUAGE

    def release_notice(self, record: Record, secret: str, lines: Callable[[], list[str]]) -> None:
        """A page for a submission that is not graded (now), released under its own secret, in the language of the
        student's edition (``lines`` are made in it)."""
        language = self._language(record.student)
        with use_language(language):
            title, lines = _(self.lab.title), lines()
        try:
            self.exchange.release(notice_page(title, record.student, lines, language), secret, self.lab.notebook)
        except OSError as error:
            self.say(f"could not release the page for {record.name} ({error})")

    def release_notice_for(self, job: Job, lines: Callable[[], list[str]]) -> None:
        record = parse_name(job.record)
        if record is not None:
            self.release_notice(record, job.secret, lines)


def watch(course_root: Path, assignment: str, console, jobs: int | None = None, scheduler: str | None = None,
          force_polling: bool = False, db_url: str | None = None) -> int:
    service = Service(Path(course_root), assignment, console, jobs=max(1, jobs or os.cpu_count() or 1),
                      scheduler=scheduler, force_polling=force_polling, db_url=db_url)
    return service.run()

