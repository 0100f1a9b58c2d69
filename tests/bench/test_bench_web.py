"""Benchmark: the console's pages over 100,000 tickets (SQLite file, and PostgreSQL where reachable); prints figures."""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot.service.app import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.db import init_db, make_engine, transaction
from bot.store.models import (AccountEmail, AccountRecord, AuditEvent, Draft, DraftAttachment, InboundMessage,
                        OutboxMessage, Ticket)
from bot.web.app import create_web_app
from bot.web.auth import add_user
from tests.conftest import POSTGRES_URL, _postgres_reachable
from tests.unit.web.test_web_helpers import PASSWORD, STAFF, login

TICKETS, QUARANTINED, BATCH = 100_000, 500, 5_000
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
BODY = ("Hello, I would like a copy of all the personal information you hold about me. " * 8 + "\n") * 2
RAW_IN = (f"From: someone@example.org\r\nSubject: data request\r\n\r\n{BODY}").encode()   # about 1.3 KB
RAW_OUT = (f"Subject: [ESL-000001] We have received your request\r\n\r\n{BODY}").encode()
# Asked of bot/store/models.py (not created by the application): they make the queue's counts an
# index-only scan and let the quarantine skip the stored mail; measured here with and without.
RECOMMENDED_INDEXES = [
    "CREATE INDEX ix_ticket_facets ON ticket (status, kind, language, verification)",
    "CREATE INDEX ix_inboundmessage_status ON inboundmessage (status)",
]
PAGES = [
    ("queue (open, default)", "/"),
    ("queue, all statuses", "/?status=all"),
    ("queue kind=deletion lang=zh", "/?kind=deletion&language=zh"),
    ("queue verification=refused kind=other", "/?verification=refused&kind=other"),
    ("queue, page 500", "/?page=500"),
    ("queue, search requester", "/?status=all&q=user4242@example.org"),
    ("queue, search part of a name", "/?q=user4242"),
    ("ticket page", "/tickets/ESL-000007"),
    ("quarantine", "/quarantine"),
    ("quarantined message", "/quarantine/{quarantined}"),
]


def _fill(engine) -> None:
    """Bulk inserts: tickets with a message, an acknowledgement and audit events; some drafts; the quarantine."""
    rng = random.Random(7)
    kinds, states = ["access", "deletion", "correction", "other"], ["verified", "challenged", "unknown", "pending",
                                                                     "refused"]
    with engine.begin() as conn:
        conn.execute(AccountRecord.__table__.insert(), [{"account_id": "A1", "nickname": "alice_c", "emails":
                     "user7@example.org", "phone": "+8613800138000", "wechat_bound": True, "status": "active"}])
        conn.execute(AccountEmail.__table__.insert(), [{"email": "user7@example.org", "account_id": "A1"}])
    for start in range(1, TICKETS + 1, BATCH):
        tickets, inbound, outbox, audit, drafts = [], [], [], [], []
        for n in range(start, min(start + BATCH, TICKETS + 1)):
            received = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 720))
            tickets.append(dict(id=n, reference=f"ESL-{n:06d}", subject=f"Request number {n} 请删除我的账号",
                                kind=rng.choices(kinds, [40, 25, 20, 15])[0], labels="access", confidence=0.9,
                                needs_triage=False, status="open" if rng.random() < 0.3 else "answered",
                                requester=f"user{n}@example.org", language=rng.choice(["en", "zh"]),
                                received_at=received, due_at=received + timedelta(days=15),
                                verification=rng.choices(states, [50, 20, 15, 10, 5])[0],
                                account_id="A1" if n % 10 == 7 else None))
            inbound.append(dict(id=n, dedup_key=f"k{n}", message_id=f"<m{n}@example.org>", sender=f"user{n}@example.org",
                                subject=f"Request number {n}", folder="INBOX", uidvalidity=1, uid=n, raw=RAW_IN,
                                received_at=received, ticket_id=n, opened_ticket=True, new_text=BODY,
                                attachments="[]", language="en", status="handled", flagged=True))
            outbox.append(dict(id=n, ticket_id=n, kind="ack", to_address=f"user{n}@example.org", subject="ack",
                               message_id=f"<o{n}@esl.example>", raw=RAW_OUT, status="sent", attempts=1,
                               next_attempt_at=received, created_at=received, sent_at=received))
            audit += [dict(at=received, actor="bot", action=action, ticket_id=n, detail='{"kind": "access"}')
                      for action in ("ticket.opened", "mail.queued", "mail.sent")]
            if n % 3 == 1:
                drafts.append(dict(id=n, ticket_id=n, kind="access", language="en", to_address=f"user{n}@example.org",
                                   subject="Your data", text=BODY, status="pending", created_at=received,
                                   edited=False))
        with engine.begin() as conn:
            for table, rows in ((Ticket, tickets), (InboundMessage, inbound), (OutboxMessage, outbox),
                                (AuditEvent, audit), (Draft, drafts)):
                conn.execute(table.__table__.insert(), rows)
    with engine.begin() as conn:
        conn.execute(DraftAttachment.__table__.insert(), [
            dict(id=1, draft_id=7, filename="personal-data-ESL-000007.json", content_type="application/json",
                 data=b"{}" * 500)])
        conn.execute(InboundMessage.__table__.insert(), [
            dict(id=TICKETS + n, dedup_key=f"quarantine:{n}", sender="broken@example.net", subject="???", folder="INBOX",
                 uidvalidity=1, uid=TICKETS + n, raw=RAW_IN, received_at=NOW, status="quarantined",
                 quarantine_reason="ValueError: broken", new_text="", attachments="[]", flagged=True)
            for n in range(1, QUARANTINED + 1)])


def _timed(client: TestClient, path: str, runs: int = 7) -> tuple[float, float]:
    client.get(path)   # warm the caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, path
    return statistics.median(times), max(times)


def _engine(backend: str, tmp_path):
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'bench.db'}"), None
    if not _postgres_reachable():
        pytest.skip("PostgreSQL not reachable")
    schema = f"sb_bench_{random.randrange(10**8)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}), (admin, schema)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pages_with_100k_tickets(tmp_path, backend):
    engine, cleanup = _engine(backend, tmp_path)
    try:
        init_db(engine)
        start = time.perf_counter()
        _fill(engine)
        if backend == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        filled = time.perf_counter() - start
        app = build_app(Settings(), engine=engine, clock=FixedClock(NOW), create_schema=False)
        with transaction(app.sessions) as session:
            add_user(session, STAFF, PASSWORD, role="staff", now=NOW, min_length=12)
        client = TestClient(create_web_app(app), follow_redirects=False)
        assert login(client).status_code == 303
        with app.sessions() as session:
            quarantined = session.exec(text("SELECT max(id) FROM inboundmessage")).scalar()
        print(f"\nweb console, {backend}: {TICKETS:,} tickets (+ messages, mail, audit, drafts) inserted in "
              f"{filled:.1f}s; {QUARANTINED} quarantined")
        for label in ("schema as it is", "with the recommended indexes"):
            if label != "schema as it is":
                with engine.begin() as conn:
                    for statement in RECOMMENDED_INDEXES:
                        conn.execute(text(statement))
            print(f"  {label}:")
            for name, path in PAGES:
                median, worst = _timed(client, path.format(quarantined=quarantined))
                print(f"    {name:40s} median {median:6.1f} ms   max {worst:6.1f} ms")
    finally:
        if cleanup:
            engine.dispose()
            admin, schema = cleanup
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
