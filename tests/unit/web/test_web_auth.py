"""Console logins: passwords, sessions, logout, disabled accounts, and nothing visible without a login."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.store.db import transaction
from bot.web.app import create_web_app
from bot.web.auth import set_active
from bot.store.console_models import StaffSession, WebSecret
from bot.config.web import WebSettings
from tests.unit.web.test_web_helpers import (MANAGER, PASSWORD, STAFF, anon, bot, challenged_deletion, client,  # noqa: F401
                                         csrf_of, events, fast_hashes, flow, login, pending_draft, post,
                                         verified_access)

PAGES = ["/", "/?status=all&kind=access", "/quarantine", "/quarantine/1", "/quarantine/1/raw",
         "/tickets/ESL-000001", "/drafts/1/attachments/1"]


def test_login_page_shows_a_form_and_nothing_else(anon):
    page = anon.get("/login")
    assert page.status_code == 200
    assert 'name="password"' in page.text and csrf_of(page.text)
    assert "ESL-0" not in page.text and "Log out" not in page.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_stranger_to_login(anon, flow, path):
    verified_access(flow)
    response = anon.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2F")
    assert "owner@example.org" not in response.text


def test_login_with_the_right_password_opens_the_queue_and_returns_to_next(anon, flow, bot):
    verified_access(flow)
    response = login(anon, STAFF, PASSWORD, next="/tickets/ESL-000001")
    assert (response.status_code, response.headers["location"]) == (303, "/tickets/ESL-000001")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    queue = anon.get("/")
    assert queue.status_code == 200 and "ESL-000001" in queue.text and STAFF in queue.text
    assert [e.actor for e in events(bot, "staff.login")] == [f"staff:{STAFF}"]


@pytest.mark.parametrize("email,password", [(STAFF, "wrong password here"), ("nobody@esl.example", PASSWORD),
                                            (STAFF, "")])
def test_a_bad_login_is_refused_with_one_message_for_every_failure(anon, email, password):
    response = login(anon, email, password)
    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    assert anon.get("/").status_code == 303


def test_login_addresses_are_not_case_sensitive(anon):
    assert login(anon, STAFF.upper(), PASSWORD).status_code == 303


def test_a_disabled_account_cannot_log_in_and_is_logged_out_at_once(client, bot):
    assert client.get("/").status_code == 200
    with transaction(bot.sessions) as session:
        set_active(session, STAFF, False)
    assert client.get("/").status_code == 303
    assert login(client, STAFF, PASSWORD).status_code == 401
    assert login(client, MANAGER, PASSWORD).status_code == 303  # others are unaffected


def test_logout_ends_the_session_on_the_server_too(client, bot):
    stolen = dict(client.cookies)
    response = post(client, "/logout")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/").status_code == 303
    with Session(bot.engine) as s:
        assert s.exec(select(StaffSession)).all() == []
    replay = TestClient(client.app, follow_redirects=False, cookies=stolen)
    assert replay.get("/").status_code == 303   # a copied cookie is worthless after logout
    assert [e.actor for e in events(bot, "staff.logout")] == [f"staff:{STAFF}"]


def test_a_session_expires_after_session_hours(client, clock):
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/").status_code == 303


def test_login_without_or_with_a_wrong_csrf_token_is_refused(anon):
    anon.get("/login")
    for token in ({}, {"csrf_token": "forged"}):
        response = anon.post("/login", data={"email": STAFF, "password": PASSWORD, **token})
        assert response.status_code == 403
    assert anon.get("/").status_code == 303


def test_a_login_token_from_another_browser_does_not_count(bot, anon):
    other = TestClient(anon.app, follow_redirects=False)
    token = csrf_of(other.get("/login").text)
    anon.get("/login")
    assert anon.post("/login", data={"email": STAFF, "password": PASSWORD, "csrf_token": token}).status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_the_site(anon, target):
    assert login(anon, next=target).headers["location"] == "/"


def test_pages_carry_protective_headers(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_the_generated_cookie_key_is_kept_and_shared_by_every_process(bot):
    create_web_app(bot)
    with Session(bot.engine) as s:
        first = s.exec(select(WebSecret)).one().value
    create_web_app(bot)
    with Session(bot.engine) as s:
        assert [w.value for w in s.exec(select(WebSecret))] == [first]
    assert len(first) >= 40


def test_a_configured_key_is_used_and_none_is_stored(bot):
    create_web_app(bot, WebSettings(secret_key="k" * 40))
    with Session(bot.engine) as s:
        assert s.exec(select(WebSecret)).all() == []


def test_cookies_are_secure_unless_the_console_listens_on_loopback_only():
    assert not WebSettings().secure_cookies
    assert not WebSettings(host="::1").secure_cookies
    assert WebSettings(host="0.0.0.0").secure_cookies
    assert WebSettings(cookie_secure=True).secure_cookies


def test_a_secure_console_sets_a_host_only_secure_cookie(bot):
    secure = TestClient(create_web_app(bot, WebSettings(cookie_secure=True)), base_url="https://testserver",
                        follow_redirects=False)
    response = login(secure)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-supportbot=") and "secure" in cookie.lower()
    assert secure.get("/").status_code == 200
