"""Releasing and dismissing quarantined mail, from the console and `supportbot quarantine`: audited, once."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.classify import Classification
from bot.cli.quarantine import register
from bot.config import Settings
from bot.store.db import open_database, transaction
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent, InboundMessage, OutboxMessage, Ticket
from bot.mail.context import Location
from bot.store.retention import run_purge
from tests.support.pipeline_flow import mail
from tests.unit.web.test_web_helpers import anon, bot, client, csrf_of, events, fast_hashes, flow, post  # noqa: F401
from tests.support.cli_app import cli_with
from tests.support.refs import plain

REQUEST = mail("owner@example.org", "Delete my account", "Please delete my account and all my data.", "<q1@x>")


class FlakyClassifier:
    """The real classifier, or an error while `broken` says what it is (the cause staff fix before a release)."""

    def __init__(self, real) -> None:
        self.real, self.broken = real, "model file missing"

    def classify(self, subject: str, body: str) -> Classification:
        if self.broken:
            raise RuntimeError(self.broken)
        return self.real.classify(subject, body)


@pytest.fixture
def flaky(bot) -> FlakyClassifier:
    bot.classifier = FlakyClassifier(bot.classifier)
    return bot.classifier


def messages(bot) -> list[InboundMessage]:
    with Session(bot.engine) as s:
        return list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))


def tickets(bot) -> list[Ticket]:
    with Session(bot.engine) as s:
        return list(s.exec(select(Ticket)))


def menu_count(html: str) -> str | None:
    found = re.search(r'Quarantine(?: <span class="count" title="messages waiting for staff">(\d+)</span>)?</a>', html)
    return found.group(1)


def quarantine_one(flow, flaky) -> InboundMessage:
    assert flow.send(REQUEST).outcomes == {"quarantined": 1}
    (row,) = messages(flow.app)
    assert row.status == "quarantined" and "model file missing" in row.quarantine_reason
    return row


def test_release_after_the_fix_handles_it_as_if_just_fetched(client, flow, flaky, bot, clock):
    row = quarantine_one(flow, flaky)
    assert menu_count(client.get("/quarantine").text) == "1"
    page = client.get(f"/quarantine/{row.id}").text
    assert f'action="/quarantine/{row.id}/release"' in page and f'action="/quarantine/{row.id}/dismiss"' in page
    flaky.broken = ""   # the cause is fixed
    clock.advance(timedelta(hours=3))
    response = post(client, f"/quarantine/{row.id}/release")
    assert (response.status_code, response.headers["location"]) == (303, "/quarantine")
    listing = plain(client.get("/quarantine").text)
    assert f"Message {row.id} released: it opened ticket ESL-000001." in listing
    assert menu_count(listing) is None and "The quarantine is empty." in listing

    stub, handled = messages(bot)
    assert (stub.status, stub.uid, stub.raw) == ("released", -stub.id, REQUEST)
    assert (handled.status, handled.folder, handled.uid, handled.raw) == ("handled", "INBOX", 1, REQUEST)
    assert handled.flagged and handled.received_at == stub.received_at   # the clock runs from its arrival
    (ticket,) = tickets(bot)
    assert ticket.received_at == stub.received_at and handled.ticket_id == ticket.id
    assert [o.kind for o in flow.outbox()] == ["ack-code"]   # the acknowledgement carries the code
    (event,) = events(bot, "message.released")
    assert (event.actor, event.inbound_id, event.ticket_id) == ("staff:amy@esl.example", stub.id, ticket.id)
    assert json.loads(event.detail) == {"outcome": "new-ticket", "handled_id": handled.id, "folder": "INBOX",
                                        "uidvalidity": 1, "uid": 1}
    # Never doubled: a re-scan of the folder recognises it, and the stub cannot be released again.
    flow.box.renumber()
    assert drain_folder(flow.box, bot.pipeline, folder="INBOX").outcomes == {"duplicate": 1}
    again = post(client, f"/quarantine/{row.id}/release")
    assert again.headers["location"] == "/quarantine"
    assert f"Message {row.id} is not in the quarantine" in client.get("/quarantine").text
    assert len(tickets(bot)) == 1 and len(flow.outbox()) == 1
    # Counted once as handled, and once as what staff did with the quarantined copy; not as "stored".
    metrics = client.get("/metrics").text
    assert 'supportbot_messages_total{outcome="released",status="released"} 1.0' in metrics
    assert 'supportbot_messages_total{outcome="new-ticket",status="handled"} 1.0' in metrics
    assert 'outcome="stored"' not in metrics


def test_a_release_that_fails_again_stays_quarantined_with_the_new_reason(client, flow, flaky, bot):
    row = quarantine_one(flow, flaky)
    flaky.broken = "still broken: model version 2"
    response = post(client, f"/quarantine/{row.id}/release")
    assert response.headers["location"] == f"/quarantine/{row.id}"
    page = client.get(f"/quarantine/{row.id}").text
    assert "failed again and stays in the quarantine: RuntimeError: still broken: model version 2" in page
    (same,) = messages(bot)   # nothing of the attempt is left: no copy, ticket or mail
    assert (same.status, same.uid, same.quarantine_reason) == ("quarantined", 1,
                                                               "RuntimeError: still broken: model version 2")
    assert tickets(bot) == [] and flow.outbox() == [] and events(bot, "message.released") == []
    (failed,) = events(bot, "message.release_failed")
    assert failed.actor == "staff:amy@esl.example" and "model version 2" in json.loads(failed.detail)["reason"]
    assert menu_count(page) == "1"
    assert drain_folder(flow.box, bot.pipeline, folder="INBOX").outcomes == {}   # nothing retries it by itself


def test_releasing_a_message_handled_since_does_nothing_twice(client, flow, flaky, bot):
    row = quarantine_one(flow, flaky)
    flaky.broken = ""
    assert flow.send(REQUEST).outcomes == {"new-ticket": 1}   # delivered again meanwhile, and handled
    post(client, f"/quarantine/{row.id}/release")
    assert "the same message was already stored, so nothing more was done" in client.get("/quarantine").text
    stub, handled = messages(bot)
    assert (stub.status, handled.uid, len(tickets(bot)), len(flow.outbox())) == ("released", 2, 1, 1)
    (event,) = events(bot, "message.released")
    assert (json.loads(event.detail)["handled_id"], event.ticket_id) == (handled.id, handled.ticket_id)


def test_a_message_kept_header_only_cannot_be_released_and_the_page_says_why(client, bot):
    header = b"From: big@example.org\r\nSubject: scan\r\nMessage-ID: <big@x>\r\n\r\n"
    assert bot.pipeline.handle_oversized(header, Location("INBOX", 1, 7), 30_000_000) == "quarantined"
    (row,) = messages(bot)
    page = client.get(f"/quarantine/{row.id}").text
    assert "Cannot be released" in page and "over the size limit" in page
    assert f'action="/quarantine/{row.id}/release"' not in page and f'/quarantine/{row.id}/dismiss' in page
    post(client, f"/quarantine/{row.id}/release")
    assert "cannot be released" in client.get(f"/quarantine/{row.id}").text
    assert messages(bot)[0].status == "quarantined" and events(bot, "message.released") == []


def test_mail_with_no_usable_sender_cannot_be_released_and_the_page_says_why(client, flow, bot):
    # Releasing it would only quarantine it again: nobody changes the From of a stored message.
    nobody = REQUEST.replace(b"From: owner@example.org\r\n", b"From: undisclosed-recipients:;\r\n")
    assert flow.send(nobody).outcomes == {"quarantined": 1}
    (row,) = messages(bot)
    assert row.quarantine_reason.startswith("no usable sender")
    page = plain(client.get(f"/quarantine/{row.id}").text)
    assert "Cannot be released" in page and "no sender the bot can answer" in page
    assert f'action="/quarantine/{row.id}/release"' not in client.get(f"/quarantine/{row.id}").text
    post(client, f"/quarantine/{row.id}/release")
    assert "cannot be released" in client.get(f"/quarantine/{row.id}").text
    assert messages(bot)[0].status == "quarantined" and events(bot, "message.release_failed") == []
    post(client, "/me/language", language="zh")   # and staff reading Chinese read why in Chinese
    assert "无法放行：" in client.get(f"/quarantine/{row.id}").text and "放行只会让它再次进入隔离区" in \
        client.get(f"/quarantine/{row.id}").text


def test_dismiss_needs_a_reason_then_leaves_the_list_and_retention_purges_it(client, flow, flaky, bot, clock):
    row = quarantine_one(flow, flaky)
    assert post(client, f"/quarantine/{row.id}/dismiss", reason="   ").headers["location"] == f"/quarantine/{row.id}"
    assert "Give a short reason" in client.get("/quarantine").text and messages(bot)[0].status == "quarantined"
    response = post(client, f"/quarantine/{row.id}/dismiss", reason="spam,  handled by hand")
    assert response.headers["location"] == "/quarantine"
    listing = client.get("/quarantine").text
    assert f"Message {row.id} dismissed" in listing and menu_count(listing) is None
    assert client.get(f"/quarantine/{row.id}").status_code == 404
    (event,) = events(bot, "message.dismissed")
    assert (event.actor, event.inbound_id) == ("staff:amy@esl.example", row.id)
    assert json.loads(event.detail) == {"reason": "spam, handled by hand"}
    assert messages(bot)[0].raw == REQUEST   # kept until the retention rule
    run_purge(bot.sessions, clock.now() + timedelta(days=364), bot.settings.retention.days)
    assert messages(bot)[0].raw == REQUEST
    run_purge(bot.sessions, clock.now() + timedelta(days=366), bot.settings.retention.days)
    (purged,) = messages(bot)
    assert (purged.status, purged.raw, purged.purged_at is not None) == ("dismissed", b"", True)


def test_the_actions_need_the_forms_token(client, flow, flaky, bot):
    row = quarantine_one(flow, flaky)
    flaky.broken = ""
    for action, data in (("release", {}), ("dismiss", {"reason": "spam"})):
        assert client.post(f"/quarantine/{row.id}/{action}", data={"csrf_token": "forged", **data}).status_code == 403
    assert messages(bot)[0].status == "quarantined" and tickets(bot) == []


def test_a_stranger_is_sent_to_login(anon, flow, flaky, bot):
    row = quarantine_one(flow, flaky)
    token = csrf_of(anon.get("/login").text)
    response = anon.post(f"/quarantine/{row.id}/dismiss", data={"csrf_token": token, "reason": "spam"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert messages(bot)[0].status == "quarantined"


# The command line, on a SQLite file and PostgreSQL.

@pytest.fixture
def cli(database_url, clock):
    settings = Settings(database={"url": database_url}, smtp={"from_address": "support@esl.example"},
                        classifier={"kind": "rules"})
    app = cli_with(settings, register)
    runner = CliRunner()
    sessions = open_database(database_url)
    with transaction(sessions) as session:   # as quarantined by a fault fixed since, and a spam message
        for uid, raw in ((1, REQUEST), (2, mail("spam@example.net", "WIN", "cheap pills", "<s@x>"))):
            session.add(InboundMessage(dedup_key=f"quarantine:{uid}", folder="INBOX", uidvalidity=1, uid=uid,
                                       raw=raw, received_at=clock.now(), status="quarantined",
                                       quarantine_reason="OperationalError: disk I/O error"))
    return (lambda *args: runner.invoke(app, list(args))), sessions


def test_cli_lists_releases_and_dismisses(cli):
    run, sessions = cli
    listed = [json.loads(line) for line in run("quarantine", "list").output.splitlines()]
    assert [(m["id"], m["uid"], m["releasable"]) for m in listed] == [(2, 2, True), (1, 1, True)]
    result = run("quarantine", "release", "1", "--by", "amy@esl.example")
    assert result.exit_code == 0 and "message 1 released: new-ticket, ticket ESL-000001" in result.output
    assert run("quarantine", "dismiss", "2", "--reason", "").exit_code == 1
    result = run("quarantine", "dismiss", "2", "--reason", "spam", "--by", "amy@esl.example")
    assert result.exit_code == 0, result.output
    assert run("quarantine", "list").output == ""
    again = run("quarantine", "release", "1")
    assert again.exit_code == 1 and "not in the quarantine" in again.output
    with sessions() as s:
        statuses = [(m.status, m.uid) for m in s.exec(select(InboundMessage).order_by(InboundMessage.id))]
        assert statuses == [("released", -1), ("dismissed", 2), ("handled", 1)]
        assert s.exec(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all() == ["ack"]   # carrying the account question
        trail = {e.action: (e.actor, e.inbound_id, json.loads(e.detail)) for e in s.exec(select(AuditEvent))}
    assert trail["message.released"][:2] == ("staff:amy@esl.example", 1)
    assert trail["message.dismissed"] == ("staff:amy@esl.example", 2, {"reason": "spam"})
