"""The instructor's policy (``decide``), the feedback view it asks for, and the journal that survives a kill."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from traitlets.config import Config

from coursegrader.service.journal import Journal
from coursegrader.service.policy import DEFER, GRADE, REFUSE, WatchPolicy, decide, notice_lines

NOW = 1_800_000_000.0


def policy(**settings) -> WatchPolicy:
    config = Config()
    for key, value in settings.items():
        setattr(config.WatchPolicy, key, value)
    return WatchPolicy(config=config)


def test_the_readme_states_every_setting_with_its_default():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```python\n(c\.WatchPolicy\..*?)```", readme, flags=re.S).group(1)
    stated = {name: ast.literal_eval(value) for name, value in
              re.findall(r"^c\.WatchPolicy\.(\w+) = (\S+)", block, flags=re.M)}
    default = policy()
    assert stated == {name: getattr(default, name) for name in default.trait_names(config=True)}


@pytest.mark.parametrize("graded, expected", [(0, (GRADE, 1)), (1, (GRADE, 2)), (2, (REFUSE, 0))])
def test_attempts_past_the_limit_are_refused(graded, expected):
    decision = decide(policy(max_attempts=2), NOW, [NOW - 100 * (i + 1) for i in range(graded)][::-1], None, NOW)
    assert (decision.action, decision.attempt) == expected
    if decision.action == REFUSE:
        assert "You have used your 2 graded attempts" in decision.message


def test_no_limit_grades_every_attempt():
    assert decide(policy(max_attempts=0), NOW, [NOW - 1] * 50, None, NOW).action == GRADE


def test_a_cool_down_holds_a_submission_until_it_ends():
    rules = policy(max_attempts=0, cooldown_minutes=10)
    held = decide(rules, NOW, [NOW - 120], None, NOW)
    assert held.action == DEFER and held.until == NOW - 120 + 600 and "it will be graded at" in held.message
    assert decide(rules, NOW, [NOW - 120], None, NOW + 480).action == GRADE  # its time came
    assert decide(rules, NOW, [NOW - 700], None, NOW).action == GRADE


def test_the_deadline_stops_or_marks_late():
    assert decide(policy(after_deadline="stop"), NOW, [], NOW - 1, NOW).action == REFUSE
    assert decide(policy(after_deadline="stop"), NOW - 2, [], NOW - 1, NOW).action == GRADE
    assert decide(policy(after_deadline="late"), NOW, [], NOW - 1, NOW).action == GRADE


def test_hidden_checks_show_in_full_from_the_reveal_time():
    rules = policy(hidden_checks="none", reveal_at="2027-01-15 08:00:00 UTC")
    reveal = rules.reveal_time()
    assert rules.hidden_view(reveal - 1) == "none" and rules.hidden_view(reveal) == "full"


def test_the_notice_says_attempts_left_and_when_the_next_counts():
    lines = notice_lines(policy(max_attempts=3, cooldown_minutes=30), 1, NOW, "outcome", late=True)
    text = "\n".join(lines)
    assert "attempt 1 of 3: 2 attempts are left" in text and "graded from" in text
    assert "late policy" in text and "not their messages" in text and "Written answers await a grader" in text


# -----------------------------------------------------------------------------


def test_the_journal_reads_back_what_it_recorded_after_a_kill(tmp_path):
    journal = Journal.open(tmp_path, "ps1")
    journal.write("graded", record="r1", student="alice", when=1.0)
    journal.write("released", record="r1", student="alice")
    journal.write("graded", record="r2", student="alice", when=2.0)  # killed before its release
    journal._file.write('{"event": "released", "rec')  # a line the kill cut short
    journal._file.flush()
    again = Journal.open(tmp_path, "ps1")
    assert again.is_settled("r1") and not again.is_settled("r2")
    assert again.attempts("alice") == [("r1", 1.0), ("r2", 2.0)] and again.was_graded("r2", "alice")
    again.write("released", record="r2", student="alice")
    lines = (tmp_path / ".coursekit" / "watch" / "ps1.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["record"] == "r2"  # on a line of its own, after the cut one
    assert Journal.open(tmp_path, "ps1").is_settled("r2")


def test_a_secret_belongs_to_the_first_student_seen_with_it_and_is_not_stored(tmp_path):
    journal = Journal.open(tmp_path, "ps1")
    secret = "ab" * 64
    assert journal.claim_secret(secret, "alice") and journal.claim_secret(secret, "alice")
    assert not journal.claim_secret(secret, "bob")
    assert secret not in (tmp_path / ".coursekit" / "watch" / "ps1.jsonl").read_text()
    assert not Journal.open(tmp_path, "ps1").claim_secret(secret, "bob")
