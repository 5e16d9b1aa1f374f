"""Verdicts: every test cell's outcome, decided in the grading process from what it handed over (``decide``)."""
