"""Shared fixtures for the web console tests: a bot with accounts and staff, clients, forms, requests."""
from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.store.db import transaction
from bot.store.models import AuditEvent, Draft, DraftAttachment, OutboxMessage, Ticket
from bot.web import auth
from bot.web.app import create_web_app
from bot.web.auth import add_user
from bot.config.web import WebSettings
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app

PASSWORD = "correct horse battery staple"
STAFF, MANAGER = "amy@esl.example", "max@esl.example"


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheaper argon2 parameters, so that dozens of logins stay quick; same code path."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))


@pytest.fixture
def bot(engine, clock, tmp_path, fast_hashes):
    app = make_app(engine, clock, tmp_path)
    with transaction(app.sessions) as session:
        add_user(session, STAFF, PASSWORD, role="staff", now=clock.now(), min_length=12)
        add_user(session, MANAGER, PASSWORD, role="manager", now=clock.now(), min_length=12)
    return app


@pytest.fixture
def flow(bot):
    return Flow(bot)


@pytest.fixture
def anon(bot):
    with TestClient(create_web_app(bot, WebSettings(page_size=10)), follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(anon):
    response = login(anon)
    assert response.status_code == 303, response.text
    return anon


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: TestClient, email: str = STAFF, password: str = PASSWORD, next: str = "/"):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": next})


def post(client: TestClient, path: str, **data):
    """A form post with the session's CSRF token, as the page's own form sends it."""
    return client.post(path, data={"csrf_token": csrf_of(client.get("/").text), **data})


def verified_access(flow: Flow) -> Ticket:
    """An access request from the account's registered address, DMARC-passed by our MX: draft ready."""
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my personal data.", "<v@x>",
                   Authentication_Results=TRUSTED_PASS))
    return flow.ticket()


def challenged_deletion(flow: Flow, n: int = 1) -> Ticket:
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account and all data.", f"<d{n}@x>"))
    return flow.ticket(n)


def pending_draft(bot, ticket_id: int) -> Draft | None:
    with Session(bot.engine) as s:
        return s.exec(select(Draft).where(Draft.ticket_id == ticket_id, Draft.status == "pending")).first()


def draft_files(bot, draft_id: int) -> list[DraftAttachment]:
    with Session(bot.engine) as s:
        return list(s.exec(select(DraftAttachment).where(DraftAttachment.draft_id == draft_id)))


def replies(bot) -> list[OutboxMessage]:
    with Session(bot.engine) as s:
        return [o for o in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)) if o.kind.startswith("reply")]


def events(bot, action: str) -> list[AuditEvent]:
    with Session(bot.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def plain_text(raw: bytes) -> str:
    """The text part as a reader gets it: the wire's CRLF line ends read as newlines."""
    return message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content().replace("\r\n", "\n")


def attachments(raw: bytes) -> set[tuple[str, bytes]]:
    """(file name, exact bytes) of each attachment of a mail."""
    msg = message_from_bytes(raw, policy=policy.default)
    return {(part.get_filename(), part.get_payload(decode=True)) for part in msg.iter_attachments()}
