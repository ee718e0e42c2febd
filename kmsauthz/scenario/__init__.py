"""Scenario files: a small AWS world plus requests with expected outcomes (``shared/spec/scenarios.md``)."""
