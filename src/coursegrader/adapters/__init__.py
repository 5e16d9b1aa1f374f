"""Adapters: every class and function nbgrader loads by name from ``nbgrader_config.py``, each a short shell
over nbgrader's own extension points that delegates to the layers below.

- ``exporter.SubmissionExporter`` (``c.Autograde.exporter_class``): intake, and resuming interrupted runs;
- ``restore.RestoreCells`` (a sanitize step): edited, deleted or foreign grade cells;
- ``execute.SandboxedExecute`` (replaces nbgrader's ``Execute``): the notebook run in a sandbox;
- ``verdicts.TrustedVerdicts``: each test cell's verdict, from the grading process;
- ``editions.UntranslateStubs``, ``editions.TranslateEdition``: another edition graded as the English one;
- ``hooks.record_graded`` (``c.Autograde.post_convert_hook``): the ledger;
- ``feedback.FeedbackExporter``, ``feedback.FeedbackResults``, ``feedback.ClearHiddenTests``,
  ``feedback.ClearMarkScheme``: the student's feedback page;
- ``hooks.keep_only_feedback_pages`` (``c.GenerateFeedback.post_convert_hook``): nothing else in a feedback folder;
- ``htmlsafety`` (``c.HTMLExporter.filters`` and ``preprocessors``): what a student wrote or printed, made
  inert in formgrader's page and the feedback page;
- ``formgrader_guard`` (a Jupyter server extension): formgrader's submission page and files served so
  that nothing in them runs in the instructor's browser.
"""
