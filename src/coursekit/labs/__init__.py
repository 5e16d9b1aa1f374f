"""The course's labs, one module each: its description (``LAB``) and its self-checks.

``coursekit.lab.find_lab(assignment)`` finds them, and those a course keeps outside the packages
(``COURSEKIT_LABS``); see ``coursekit.lab`` for what a lab is.
"""
