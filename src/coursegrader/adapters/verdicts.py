"""``TrustedVerdicts``: nbgrader's step that writes each test cell's verdict, decided in the grading process.

Placed after ``SandboxedExecute`` and before nbgrader's ``SaveAutoGrades`` in
``c.Autograde.autograde_preprocessors``; ``coursegrader.verdicts.decide`` does the work.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrader.verdicts.decide import write_verdicts


class TrustedVerdicts(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        state = resources.get("coursekit", {})
        write_verdicts(nb, resources["nbgrader"]["assignment"], resources["nbgrader"]["student"],
                       state.get("handovers", {}), state.get("stopped"), self.log)
        return nb, resources
