"""Bench fixtures: the integration suite's real Dovecot (the SMTP recorder comes from tests/conftest.py)."""
from tests.integration.conftest import dovecot  # noqa: F401  (a pytest fixture, shared rather than copied)
