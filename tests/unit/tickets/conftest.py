"""Fixtures for the ticket tests: the whole pipeline on the test database, fed mail one by one."""
from __future__ import annotations

import pytest

from tests.support.pipeline_flow import Flow, make_app


@pytest.fixture
def flow(engine, clock, tmp_path):
    return Flow(make_app(engine, clock, tmp_path))
