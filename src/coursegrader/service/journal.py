"""What ``course watch`` has done with each submission it found, kept across restarts and crashes.

One line of JSON per event, appended and flushed to disk before the service acts on it, in
``<course>/.coursekit/watch/<assignment>.jsonl`` (beside the ledger of ``course autograde``, outside any
folder a submission's code can write to). A submission is *settled* once one of these is recorded:

- ``released``: graded (or graded earlier: the ledger said so) and its feedback released;
- ``refused``: not graded, and the student told why (attempts used up, past the deadline);
- ``superseded``: a newer submission of the same student came before it was graded;
- ``rejected``: not trusted (made by another account, dated in the future...), logged, nothing released;
- ``failed``: grading failed for a reason of its own (its worker died, it ran past its deadline).

``grading`` is recorded when a submission is handed to a grader (after the ledger forgot the student's
last graded folder), ``graded`` when grading finished, before the feedback is written and released: it is
what counts an attempt, once, however often the service is restarted in between. On a restart, every
submission without a settling event is taken up again: collected only if newer than what
``submitted/`` holds, graded only if the ledger (``coursegrader.intake.ledger``) does not already say
it is, so each submission is graded exactly once and none is lost. A line cut short by a crash is
skipped when the journal is read back.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SETTLING = frozenset({"released", "refused", "superseded", "rejected", "failed"})


@dataclass
class Journal:
    path: Path
    settled: dict[str, str] = field(default_factory=dict)  # record name -> its settling event
    graded: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))  # student -> [(record, when)]
    secrets: dict[str, str] = field(default_factory=dict)  # sha256 of a submission secret -> the student it was first seen with
    revealed: set[str] = field(default_factory=set)  # students whose latest feedback was re-released in full
    begun: set[str] = field(default_factory=set)  # record names whose grading was begun

    @classmethod
    def open(cls, course_root: Path, assignment: str) -> Journal:
        path = Path(course_root) / ".coursekit" / "watch" / f"{assignment}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        journal = cls(path)
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short when the service was killed
                    journal._apply(event)
        journal._file = path.open("a", encoding="utf-8")
        if journal._file.tell() and not path.read_bytes().endswith(b"\n"):
            journal._file.write("\n")  # end the line a kill cut short, so the next event is a line of its own
        return journal

    def _apply(self, event: dict) -> None:
        kind, record, student = event.get("event"), event.get("record"), event.get("student")
        if kind in SETTLING and record:
            self.settled.setdefault(record, kind)
        if kind == "graded" and record and student:
            if record not in {name for name, _when in self.graded[student]}:
                self.graded[student].append((record, float(event.get("when", 0.0))))
        if kind == "secret" and event.get("secret") and student:
            self.secrets.setdefault(event["secret"], student)
        if kind == "grading" and record:
            self.begun.add(record)
        if kind == "revealed" and student:
            self.revealed.add(student)

    def write(self, event: str, **fields) -> None:
        """Record an event, on disk before this returns."""
        entry = {"event": event, "at": round(time.time(), 3), **fields}
        self._file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._apply(entry)

    def close(self) -> None:
        self._file.close()

    # ------------------------------------------------------------------ questions

    def is_settled(self, record: str) -> bool:
        return record in self.settled

    def attempts(self, student: str) -> list[tuple[str, float]]:
        """The student's graded submissions: (record name, its time), oldest first."""
        return sorted(self.graded.get(student, []), key=lambda item: item[1])

    def began_grading(self, record: str) -> bool:
        return record in self.begun

    def was_graded(self, record: str, student: str) -> bool:
        return any(name == record for name, _when in self.graded.get(student, []))

    def claim_secret(self, secret: str, student: str) -> bool:
        """Whether ``secret`` is this student's: the first student seen with a secret keeps it, so a student who
        copied another's secret into a submission never has a page released under it."""
        digest = hashlib.sha256(secret.encode()).hexdigest()  # the journal keeps no student's key
        owner = self.secrets.get(digest)
        if owner is None:
            self.write("secret", secret=digest, student=student)
            return True
        return owner == student
