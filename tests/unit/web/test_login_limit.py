"""The console's login limit: failures per account name and per address, shared through the database."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.web.app import create_web_app
from bot.web.login_limit import masked_address
from bot.config.web import WebSettings
from tests.unit.web.test_web_helpers import MANAGER, PASSWORD, STAFF, bot, events, fast_hashes, login  # noqa: F401

WRONG = "not the password at all"


@pytest.fixture
def browser(bot):
    """A browser at a given address, each on a console of its own (as several `supportbot run` would serve)."""
    def make(address: str = "203.0.113.7") -> TestClient:
        return TestClient(create_web_app(bot, WebSettings()), follow_redirects=False, client=(address, 50000))
    return make


def fail(client: TestClient, times: int, email: str = STAFF) -> None:
    for _ in range(times):
        assert login(client, email, WRONG).status_code == 401


def test_after_five_failures_for_an_account_even_the_right_password_is_refused_until_the_window_passes(
        browser, clock):
    attacker = browser()
    fail(attacker, 5)
    refused = login(attacker, STAFF, PASSWORD)
    assert refused.status_code == 429 and 'name="password"' in refused.text
    assert "Too many failed logins for this account name and from this address" in refused.text
    assert refused.headers["retry-after"] == str(15 * 60)
    assert "Try again in 15 minutes" in refused.text
    clock.advance(timedelta(minutes=10))
    assert login(browser("198.51.100.9"), STAFF, PASSWORD).status_code == 429   # the account, from anywhere
    assert login(attacker, STAFF, PASSWORD).headers["retry-after"] == str(5 * 60)   # refusals do not prolong it
    assert login(attacker, MANAGER, PASSWORD).status_code == 429   # the address, for any account
    clock.advance(timedelta(minutes=5, seconds=1))
    assert login(attacker, STAFF, PASSWORD).status_code == 303


def test_failures_from_one_address_lock_that_address_only(browser):
    attacker = browser("203.0.113.7")
    for n in range(5):
        fail(attacker, 1, f"guess{n}@esl.example")
    assert login(attacker, STAFF, PASSWORD).status_code == 429
    assert "from this address" in login(attacker, STAFF, PASSWORD).text
    assert login(browser("198.51.100.9"), STAFF, PASSWORD).status_code == 303


def test_failures_for_one_account_from_many_addresses_lock_the_account(browser):
    for n in range(5):
        fail(browser(f"203.0.113.{n + 1}"), 1)
    elsewhere = browser("198.51.100.9")
    assert login(elsewhere, STAFF, PASSWORD).status_code == 429
    assert login(elsewhere, MANAGER, PASSWORD).status_code == 303


def test_a_successful_login_forgets_only_its_own_addresses_failures(browser):
    attacker, owner = browser("203.0.113.7"), browser("198.51.100.9")
    fail(attacker, 3)
    fail(owner, 1)
    assert login(owner, STAFF, PASSWORD).status_code == 303   # the owner's own typo is forgotten ...
    fail(attacker, 2)                                          # ... the attacker's three are not: 3 + 2
    assert login(browser("192.0.2.1"), STAFF, PASSWORD).status_code == 429


def test_the_refusal_is_audited_once_and_logged_masked_without_the_password(browser, bot, caplog):
    attacker = browser("203.0.113.7")
    fail(attacker, 5)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert login(attacker, STAFF, PASSWORD).status_code == 429
    (event,) = events(bot, "staff.login_refused")   # once per lock, however many attempts follow
    assert json.loads(event.detail) == {"account": "a***@esl.example", "address": "203.0.113.0/24",
                                        "limits": ["account name", "address"], "failures": 5, "window_minutes": 15}
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3 and "a***@esl.example" in refusals[0] and "203.0.113.0/24" in refusals[0]
    for text in [event.detail, *(r.getMessage() for r in caplog.records)]:
        assert PASSWORD not in text and WRONG not in text and STAFF not in text and "203.0.113.7" not in text


def test_the_counts_survive_a_restart(browser, bot):
    fail(browser(), 5)
    restarted = TestClient(create_web_app(bot, WebSettings()), follow_redirects=False, client=("203.0.113.7", 1))
    assert login(restarted, STAFF, PASSWORD).status_code == 429


def test_the_limit_and_window_are_settings(bot, clock):
    strict = TestClient(create_web_app(bot, WebSettings(login_max_failures=2, login_window_minutes=1)),
                        follow_redirects=False)
    fail(strict, 2)
    assert login(strict, STAFF, PASSWORD).status_code == 429
    clock.advance(timedelta(minutes=1))
    assert login(strict, STAFF, PASSWORD).status_code == 303


@pytest.mark.parametrize("host,shown", [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2::5", "2001:db8:1::/48"),
                                        ("testclient", "testclient")])
def test_addresses_are_masked_to_their_network(host, shown):
    assert masked_address(host) == shown
