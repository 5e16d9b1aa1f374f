"""The instructor's policy for feedback right after submitting, read from ``nbgrader_config.py`` (``c.WatchPolicy``).

What students see at once, how often they may be graded, and what the deadline does:

    c.WatchPolicy.hidden_checks = "outcome"      # "outcome": passed/failed and points, no message;
                                                  # "none": nothing of them until reveal_at; "full": everything
    c.WatchPolicy.reveal_at = ""                 # from then on hidden checks show in full ("2026-12-01 17:00:00 UTC")
    c.WatchPolicy.max_attempts = 3               # graded attempts per student (0: no limit)
    c.WatchPolicy.cooldown_minutes = 0           # between two graded attempts (0: none)
    c.WatchPolicy.deadline = ""                  # default: the assignment's due date in the gradebook
    c.WatchPolicy.after_deadline = "late"        # "late": graded, nbgrader's late policy applies; "stop": refused

Self-checks always show in full (students ran them before submitting). A written answer (Block D)
always reads "awaits a grader" in this feedback, even after a grader scored an earlier attempt.
``decide`` is the one place these rules are applied to a submission; ``notice_lines`` says them to
the student.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from traitlets import Bool, Enum, Float, Integer, Unicode
from traitlets.config import Configurable

from coursekit.i18n import _, ngettext

GRADE, DEFER, REFUSE = "grade", "defer", "refuse"


class WatchPolicy(Configurable):
    hidden_checks = Enum(["outcome", "none", "full"], default_value="outcome",
                         help="What students see of hidden checks right after submitting: their outcome and points "
                              "('outcome'), nothing until reveal_at ('none'), or everything ('full').").tag(config=True)
    reveal_at = Unicode("", help="From this time on (nbgrader's format, e.g. '2026-12-01 17:00:00 UTC'), hidden checks "
                                 "show in full, and course watch releases every student's latest feedback again. "
                                 "Empty: never, by course watch.").tag(config=True)
    max_attempts = Integer(3, min=0, help="Graded attempts per student; later submissions are refused, and the last "
                                          "graded one counts. 0: no limit.").tag(config=True)
    cooldown_minutes = Float(0.0, min=0.0, help="Minutes between two graded attempts; a submission made sooner is "
                                                "graded when they have passed, if it is still the newest.").tag(config=True)
    deadline = Unicode("", help="The deadline course watch applies (nbgrader's format). Empty: the assignment's due "
                                "date in the gradebook, if it has one.").tag(config=True)
    after_deadline = Enum(["late", "stop"], default_value="late",
                          help="A submission after the deadline: 'late' grades it (nbgrader's late submission policy "
                               "applies, from the gradebook's due date); 'stop' refuses it.").tag(config=True)
    check_owner = Bool(True, help="Refuse a submission whose folder is not owned by the Unix account it is named "
                                  "for. Turn off only where every student runs as one account.").tag(config=True)
    quiet_seconds = Float(0.25, min=0.0, help="Seconds nothing in a submission may change before it is taken "
                                              "(after nbgrader submit's last step).").tag(config=True)

    @property
    def cooldown(self) -> float:
        return self.cooldown_minutes * 60.0

    def reveal_time(self) -> float | None:
        return parse_time(self.reveal_at)

    def hidden_view(self, now: float) -> str:
        """What students see of hidden checks at ``now``."""
        reveal = self.reveal_time()
        if reveal is not None and now >= reveal:
            return "full"
        return self.hidden_checks


def parse_time(text: str) -> float | None:
    """A time in nbgrader's formats, as seconds since the epoch; None for an empty text."""
    from nbgrader.utils import parse_utc

    if not text.strip():
        return None
    parsed = parse_utc(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


@dataclass(frozen=True)
class Decision:
    action: str  # GRADE, DEFER, REFUSE
    attempt: int = 0  # the attempt this submission is (when graded)
    until: float = 0.0  # DEFER: when it may be graded
    message: str = ""  # REFUSE, DEFER: what the student is told


def decide(policy: WatchPolicy, submitted_at: float, attempts: list[float], deadline: float | None,
           now: float) -> Decision:
    """What to do with a submission made at ``submitted_at``, given the times of the student's graded ones."""
    from coursegrader.service.exchange import utc_text

    if deadline is not None and submitted_at > deadline and policy.after_deadline == "stop":
        return Decision(REFUSE, message=_("This submission ({submitted}) came after the deadline ({deadline}): it is "
                                          "not graded. Your last graded submission counts.").format(
            submitted=utc_text(submitted_at), deadline=utc_text(deadline)))
    if policy.max_attempts and len(attempts) >= policy.max_attempts:
        return Decision(REFUSE, message=ngettext(
            "You have used your {limit} graded attempt: this submission ({submitted}) is not graded, and your "
            "graded one counts.",
            "You have used your {limit} graded attempts: this submission ({submitted}) is not graded, and your last "
            "graded one counts.", 1 if policy.max_attempts == 1 else 2).format(
            limit=policy.max_attempts, submitted=utc_text(submitted_at)))
    if policy.cooldown and attempts:
        counted_from = attempts[-1] + policy.cooldown
        if submitted_at < counted_from and now < counted_from:
            return Decision(DEFER, attempt=len(attempts) + 1, until=counted_from, message=_(
                "This submission ({submitted}) came within {minutes:g} minutes of your last graded one: it will be "
                "graded at {when}, if you submit nothing newer before then.").format(
                submitted=utc_text(submitted_at), minutes=policy.cooldown_minutes, when=utc_text(counted_from)))
    return Decision(GRADE, attempt=len(attempts) + 1)


def notice_lines(policy: WatchPolicy, attempt: int, submitted_at: float, view: str, late: bool) -> list[str]:
    """What the feedback page of a graded attempt tells the student, above their results."""
    from coursegrader.service.exchange import utc_text

    lines = [_("Graded right after you submitted it ({submitted}).").format(submitted=utc_text(submitted_at))]
    if policy.max_attempts:
        left = policy.max_attempts - attempt
        lines.append(ngettext("This was graded attempt {attempt} of {limit}: {left} attempt is left.",
                              "This was graded attempt {attempt} of {limit}: {left} attempts are left.",
                              1 if left == 1 else 2).format(attempt=attempt, limit=policy.max_attempts, left=left))
    else:
        lines.append(_("This was graded attempt {attempt}.").format(attempt=attempt))
    if policy.cooldown and (not policy.max_attempts or attempt < policy.max_attempts):
        lines.append(_("Your next submission is graded from {when} on.").format(
            when=utc_text(submitted_at + policy.cooldown)))
    if late:
        lines.append(_("It came after the deadline: nbgrader's late policy applies to it."))
    reveal = policy.reveal_time()
    if view == "outcome":
        lines.append(_("Hidden checks show whether they passed, not their messages{until}.").format(
            until=_(" (until {when})").format(when=utc_text(reveal)) if reveal else ""))
    elif view == "none":
        lines.append(_("Hidden checks are graded, but their results are shown only {when}; the totals here count "
                       "the self-checks.").format(
            when=_("from {when} on").format(when=utc_text(reveal)) if reveal else _("when your instructor releases them")))
    lines.append(_("Written answers await a grader."))
    return lines
