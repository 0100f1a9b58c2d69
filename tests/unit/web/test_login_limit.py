"""The console's login limit: failures per account name and per address, shared through the database."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from bot.web.app import create_web_app
from bot.web.login_limit import masked_address
from bot.config.web import WebSettings
from tests.unit.web.test_web_helpers import MANAGER, PASSWORD, STAFF, bot, events, fast_hashes, login  # noqa: F401
from bot.web.serve import serve_web
from tests.unit.web.test_web_helpers import MANAGER, PASSWORD, STAFF, bot, csrf_of, events, fast_hashes, login  # noqa: F401

WRONG = "not the password at all"


@pytest.fixture
def browser(bot):
    """A browser at a given address, each on a console of its own (as several `supportbot run` would serve)."""
    def make(address: str = "203.0.113.7", **settings) -> TestClient:
        return TestClient(create_web_app(bot, WebSettings(**settings)), follow_redirects=False,
                          client=(address, 50000))
    return make


def fail(client: TestClient, times: int, email: str = STAFF) -> None:
    for _ in range(times):
        assert login(client, email, WRONG).status_code == 401


def test_after_five_failures_from_an_address_even_the_right_password_is_refused_there_until_the_window_passes(
        browser, clock):
    attacker = browser()
    fail(attacker, 5)
    refused = login(attacker, STAFF, PASSWORD)
    assert refused.status_code == 429 and 'name="password"' in refused.text
    assert "Too many failed logins from this address" in refused.text
    assert refused.headers["retry-after"] == str(15 * 60)
    assert "Try again in 15 minutes" in refused.text
    clock.advance(timedelta(minutes=10))
    assert login(browser("198.51.100.9"), STAFF, PASSWORD).status_code == 303   # the real user is not locked out
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


def test_failures_for_one_account_from_many_addresses_lock_the_account_at_its_higher_limit(browser):
    for n in range(49):
        fail(browser(f"203.0.113.{n + 1}"), 1)
    assert login(browser("198.51.100.9"), STAFF, PASSWORD).status_code == 303   # 49 (and its own typo gone)
    fail(browser("192.0.2.1"), 1)                                               # the 50th
    elsewhere = browser("198.51.100.9")
    assert login(elsewhere, STAFF, PASSWORD).status_code == 429
    assert "for this account name" in login(elsewhere, STAFF, PASSWORD).text
    assert login(elsewhere, MANAGER, PASSWORD).status_code == 303


def test_a_successful_login_forgets_only_its_own_addresses_failures(browser):
    attacker, owner = browser("203.0.113.7"), browser("198.51.100.9")
    fail(attacker, 3)
    fail(owner, 1)
    assert login(owner, STAFF, PASSWORD).status_code == 303   # the owner's own typo is forgotten ...
    fail(attacker, 2)                                          # ... the attacker's three are not: 3 + 2
    assert login(attacker, STAFF, PASSWORD).status_code == 429
    assert login(browser("192.0.2.1", login_max_account_failures=5), STAFF, PASSWORD).status_code == 429


def test_the_refusal_is_audited_once_and_logged_masked_without_the_password(browser, bot, caplog):
    attacker = browser("203.0.113.7")
    fail(attacker, 5)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert login(attacker, STAFF, PASSWORD).status_code == 429
    (event,) = events(bot, "staff.login_refused")   # once per lock, however many attempts follow
    assert json.loads(event.detail) == {"account": "a***@esl.example", "address": "203.0.113.0/24",
                                        "limits": ["address"], "failures": 5, "window_minutes": 15}
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


def _spray_through_uvicorn(bot, web: WebSettings, forwarded: list[str]) -> list[int]:
    """One wrong login per forwarded header, each for another account name, through the real server."""
    async def scenario() -> list[int]:
        stop, port = asyncio.Event(), asyncio.Future()
        server = asyncio.create_task(serve_web(bot, stop, web=web, ready=port.set_result))
        bound = await asyncio.wait_for(port, 10)
        codes = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound}") as client:
            for n, header in enumerate(forwarded):
                token = csrf_of((await client.get("/login")).text)
                response = await client.post("/login", headers={"X-Forwarded-For": header}, data={
                    "email": f"guess{n}@esl.example", "password": WRONG, "csrf_token": token, "next": "/"})
                codes.append(response.status_code)
        stop.set()
        await asyncio.wait_for(server, 10)
        return codes
    return asyncio.run(scenario())


def test_a_forged_x_forwarded_for_does_not_make_a_new_client(bot):
    """By default no proxy is trusted: rotating X-Forwarded-For from loopback is still one client."""
    codes = _spray_through_uvicorn(bot, WebSettings(port=0), [f"192.0.2.{n}" for n in range(6)])
    assert codes == [401] * 5 + [429]


def test_behind_a_configured_proxy_the_hop_it_appended_is_the_client(bot):
    """The proxy appends the address it saw; what the client wrote to the left of it is not believed."""
    codes = _spray_through_uvicorn(bot, WebSettings(port=0, forwarded_allow_ips="127.0.0.1"),
                                   [f"192.0.2.{n}, 198.51.100.7" for n in range(6)])
    assert codes == [401] * 5 + [429]
