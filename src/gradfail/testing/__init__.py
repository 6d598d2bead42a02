"""Test support importable by the test suites: templates, recorder, tolerances."""
