"""Ticket references without their random check letters ("ESL-000001-K7M" -> "ESL-000001"), for
tests that name tickets by number; tests/unit/tickets/test_third_party.py checks the letters themselves."""
from __future__ import annotations

import re

_CHECK = re.compile(r"\b([A-Z]+-\d{6,})-[0-9A-Z]{3}\b")


def plain(value):
    """The same text, list, tuple or dict keys with every reference's check letters dropped."""
    if isinstance(value, str):
        return _CHECK.sub(r"\1", value)
    if isinstance(value, dict):
        return {plain(k): v for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value
