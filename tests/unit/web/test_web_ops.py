"""Operations: /healthz, /metrics counted from the database, and undelivered mail staff can retry."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from bot.config import SmtpSettings
from bot.store.db import make_engine, transaction
from bot.service.health import WATCHER, WatcherLiveness
from bot.store.locks import NoLock
from bot.mail.sink import SmtpSink
from bot.store.models import InboundMessage, OutboxMessage, Ticket
from bot.outbox.sender import drain_outbox
from bot.service.watcher import MailboxWatcher
from bot.sla import days_left
from bot.web.app import create_web_app
from bot.config.web import WebSettings
from tests.support.memory_mailbox import MemoryMailbox
from tests.support.pipeline_flow import TRUSTED_PASS, mail
from tests.unit.web.test_web_helpers import anon, bot, client, events, fast_hashes, flow, post  # noqa: F401
from tests.unit.web.test_web_helpers import anon, bot, client, events, fast_hashes, flow, post  # noqa: F401
from tests.support.refs import plain

HOUR = timedelta(hours=1)


def send_all(app, smtp, max_attempts: int = 8):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example",
                            max_attempts=max_attempts)
    return asyncio.run(drain_outbox(app.sessions, SmtpSink(settings), app.clock, settings))


def ops_client(app, liveness: WatcherLiveness | None = None, **web) -> TestClient:
    return TestClient(create_web_app(app, WebSettings(secret_key="k" * 40, **web), liveness=liveness or WatcherLiveness()),
                      follow_redirects=False)


def test_healthz_without_a_watcher_checks_the_database(bot):
    response = ops_client(bot).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failing": [], "checks": {"database": {"ok": True, "detail": "answers"}}}


def test_healthz_fails_naming_a_database_that_does_not_answer(bot):
    away = dataclasses.replace(bot, engine=make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                                        connect_args={"connect_timeout": 2}))
    response = ops_client(away).get("/healthz")
    assert response.status_code == 503 and response.json()["failing"] == ["database"]


def test_healthz_fails_when_the_watcher_stops_finishing_rounds(bot, clock):
    liveness = WatcherLiveness()
    web = ops_client(bot, liveness, watcher_stale_seconds=300)
    liveness.started(clock.now())
    assert web.get("/healthz").json()["checks"]["mailbox_watcher"] == {"ok": True, "detail": "starting"}
    clock.advance(timedelta(seconds=200))
    liveness.drained(clock.now())
    clock.advance(timedelta(seconds=250))
    assert web.get("/healthz").status_code == 200
    clock.advance(timedelta(seconds=100))               # 350 s since the last round, limit 300
    response = web.get("/healthz")
    assert response.status_code == 503 and response.json()["failing"] == ["mailbox_watcher"]
    assert "350s" in response.json()["checks"]["mailbox_watcher"]["detail"]
    liveness.stopped()                                   # shut down: no watcher here any more
    assert web.get("/healthz").status_code == 200


def test_the_stale_limit_is_at_least_three_poll_intervals(bot, clock):
    slow = dataclasses.replace(bot, settings=bot.settings.model_copy(
        update={"imap": bot.settings.imap.model_copy(update={"poll_seconds": 600})}))
    liveness = WatcherLiveness()
    liveness.started(clock.now())
    liveness.drained(clock.now())
    clock.advance(timedelta(seconds=1000))              # over the 300 s setting, under 3 * 600
    assert ops_client(slow, liveness, watcher_stale_seconds=300).get("/healthz").status_code == 200
    assert ops_client(bot, liveness, watcher_stale_seconds=300).get("/healthz").status_code == 503


def test_a_running_watcher_reports_its_rounds(bot, clock):
    box = MemoryMailbox()
    box.add(mail("owner@example.org", "Send me my data", "Please send my data.", "<w1@x>"))
    app = dataclasses.replace(bot, mailbox_factory=lambda: box)
    watcher = MailboxWatcher(app, notify=lambda: None, lock=NoLock())
    watcher.start()
    try:
        deadline = time.monotonic() + 30
        while WATCHER.snapshot()[1] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert WATCHER.snapshot() == (clock.now(), clock.now())
        health = ops_client(bot, WATCHER).get("/healthz").json()
        assert health["checks"]["mailbox_watcher"]["ok"] is True
    finally:
        watcher.stop()
        watcher.join(10)
    assert WATCHER.snapshot() == (None, None)


def metric_values(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_metrics_are_counted_from_the_database(bot, flow, clock, smtp):
    flow.send(mail("owner@example.org", "Send me my data", "Please send my personal data.", "<m1@x>"))
    flow.send(mail("someone@example.org", "Delete my account", "Please delete my account.", "<m2@x>"))
    flow.send(mail("someone@example.org", "Re: [ESL-000002]", "Any news?", "<m3@x>", In_Reply_To="<m2@x>"))
    flow.send(mail("mailer-daemon@example.org", "Auto: away", "I am away.", "<m4@x>", Auto_Submitted="auto-replied"))
    with transaction(bot.sessions) as session:
        session.add(InboundMessage(dedup_key="q", sender="x@example.org", raw=b"x", received_at=clock.now(),
                                   status="quarantined", quarantine_reason="Boom"))
        session.get(Ticket, 2).status = "answered"
    smtp.fail("550 5.1.1 no such user", count=1)
    send_all(bot, smtp)                                   # the first mail fails for good, the rest go
    flow.send(mail("third@example.org", "Correct my name", "Please correct my nickname.", "<m5@x>"))
    clock.advance(HOUR)                                   # that acknowledgement waits an hour unsent
    with Session(bot.engine) as s:
        outbox = {status: len([o for o in s.exec(select(OutboxMessage)) if o.status == status])
                  for status in ("pending", "sending", "sent", "failed")}
        tickets = list(s.exec(select(Ticket)))
    values = metric_values(ops_client(bot).get("/metrics").text)
    assert outbox["failed"] == 1 and outbox["pending"] >= 1 and outbox["sent"] >= 1
    for status, count in outbox.items():
        assert values[("supportbot_outbox_messages", (("status", status),))] == count
    assert values[("supportbot_failed_mail", ())] == 1
    assert values[("supportbot_oldest_unsent_mail_age_seconds", ())] == 3600
    assert values[("supportbot_quarantined_messages", ())] == 1
    messages = {labels: v for (name, labels), v in values.items() if name == "supportbot_messages_total"}
    assert messages == {(("outcome", "new-ticket"), ("status", "handled")): 3,
                        (("outcome", "follow-up"), ("status", "handled")): 1,
                        (("outcome", "machine-mail"), ("status", "handled")): 1,
                        (("outcome", "quarantined"), ("status", "quarantined")): 1}
    by_ticket = {(t.status, t.kind) for t in tickets}
    for status, kind in by_ticket:
        expected = len([t for t in tickets if (t.status, t.kind) == (status, kind)])
        assert values[("supportbot_tickets", (("kind", kind), ("status", status)))] == expected
    nearest = min(t.due_at for t in tickets if t.status == "open")
    assert values[("supportbot_nearest_due_days", ())] == days_left(nearest, clock.now(), bot.settings.sla) == 15


def test_metrics_need_the_bearer_token_when_one_is_set(bot):
    web = ops_client(bot, metrics_token="s3cret-token")
    assert web.get("/metrics").status_code == 401
    assert web.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    good = web.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert good.status_code == 200 and good.headers["content-type"].startswith("text/plain")
    assert "supportbot_tickets" in good.text and "supportbot_nearest_due_days" not in good.text   # no open ticket
    assert ops_client(bot).get("/metrics").status_code == 200   # no token set: open, like /healthz


def failed_mail(bot, flow, smtp) -> OutboxMessage:
    flow.send(mail("owner@example.org", "Send me my data", "Please send my personal data.", "<f1@x>",
                   Authentication_Results=TRUSTED_PASS))   # verified at once: the acknowledgement is all
    smtp.fail("451 4.3.0 try later")
    send_all(bot, smtp, max_attempts=1)
    smtp.accept_all()
    [row] = flow.outbox()
    return row


def test_undelivered_mail_is_listed_and_counted_for_staff(bot, flow, client, smtp):
    row = failed_mail(bot, flow, smtp)
    assert row.status == "failed" and row.attempts == 1
    page = plain(client.get("/mail/failed").text)
    assert 'href="/tickets/ESL-000001"' in page and "451" in page and "try later" in page
    assert 'action="/mail/1/retry"' in page and "owner@example.org" in page
    assert 'title="mail the bot gave up sending">1</span>' in client.get("/").text   # the menu's count
    with TestClient(create_web_app(bot, WebSettings(page_size=10)), follow_redirects=False) as anonymous:
        assert anonymous.get("/mail/failed").status_code == 303                      # staff only


def test_retry_requeues_the_mail_once_and_audits_who(bot, flow, client, smtp, clock):
    row = failed_mail(bot, flow, smtp)
    assert client.post("/mail/1/retry", data={"csrf_token": "forged"}).status_code == 403
    assert flow.outbox()[0].status == "failed"
    clock.advance(HOUR)
    assert post(client, "/mail/1/retry").headers["location"] == "/mail/failed"
    again = flow.outbox()[0]
    assert (again.status, again.attempts, again.last_error, again.next_attempt_at) == ("pending", 0, None, clock.now())
    [event] = events(bot, "mail.retry")
    assert event.actor == "staff:amy@esl.example" and event.ticket_id == row.ticket_id
    assert json.loads(event.detail) == {"outbox_id": 1, "kind": "ack", "previous_attempts": 1,
                                        "previous_error": row.last_error}
    post(client, "/mail/1/retry")
    assert "not waiting for a retry" in client.get("/mail/failed").text and len(events(bot, "mail.retry")) == 1
    assert send_all(bot, smtp).sent == 1 and flow.outbox()[0].status == "sent"
    assert [m.recipients for m in smtp.received] == [["owner@example.org"]]
    assert "No undelivered mail" in client.get("/mail/failed").text


def test_undelivered_mail_pages_newest_first_and_keeps_the_page_in_range(engine, settings, clock):
    from sqlmodel import Session as DbSession
    from bot.outbox.queue import queue_mail
    from bot.web.undelivered import failed_page
    with DbSession(engine) as s:
        for i in range(5):
            row = queue_mail(s, settings=settings, now=clock.now(), ticket=None, kind="reminder",
                             to=f"staff{i}@esl.example", subject=f"s{i}", text="t\n")
            s.get(OutboxMessage, row.id).status = "failed"   # the row returned is detached
        s.commit()
        first, page, pages, total = failed_page(s, 1, 2)
        assert ([r["to"] for r in first], page, pages, total) == (["staff4@esl.example", "staff3@esl.example"], 1, 3, 5)
        last, page, *_ = failed_page(s, 99, 2)          # past the end: the last page
        assert ([r["to"] for r in last], page) == (["staff0@esl.example"], 3)
