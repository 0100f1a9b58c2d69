"""Benchmark: queueing acknowledgements and sending them to the SMTP recorder; prints ms a mail."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.config import Settings, SmtpSettings
from bot.mail.compose import OutgoingMail, compose
from bot.mail.render import MailRenderer
from bot.mail.sink import SmtpSink
from bot.outbox.queue import queue_mail
from bot.outbox.sender import drain_outbox
from bot.store.db import init_db, make_engine, session_factory
from bot.store.models import OutboxMessage, Ticket

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
LANGUAGES = ("en", "zh")
NAMES = ("Alice Walker", "王芳", "", "Bob Chen")


def _acknowledgements(n: int, renderer: MailRenderer) -> list[tuple[Ticket, str, str]]:
    """Tickets with their rendered acknowledgement (rendering is not what this measures)."""
    mails = []
    for i in range(n):
        language = LANGUAGES[i % 2]
        ticket = Ticket(reference=f"ESL-{i:06d}", requester=f"user{i}@example.org", language=language,
                        kind="deletion", received_at=NOW, due_at=NOW + timedelta(days=15))
        mail = renderer.render("ack", language, reference=ticket.reference, kind=ticket.kind,
                               original_subject=f"删除我的数据 request {i}", received_date="2026-11-24",
                               due_date="2026-12-09", timezone="Asia/Shanghai", sla_days=15,
                               name=NAMES[i % 4], code="" if i % 5 else "482913", hours=72, ask_account=False)
        mails.append((ticket, mail.subject, mail.text))
    return mails


def test_queue_and_send_throughput(tmp_path, smtp):
    n, batch = 1000, 50
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'bench.db'}"},
                        smtp={"from_address": "support@esl.example", "host": "127.0.0.1", "port": smtp.port,
                              "security": "none"},
                        loops={"per_address_per_hour": 1000, "global_per_hour": 10_000_000})
    engine = make_engine(settings.database.url)
    init_db(engine)
    mails = _acknowledgements(n, MailRenderer())

    composing = time.thread_time()
    for ticket, subject, text in mails:
        compose(OutgoingMail(from_address="support@esl.example", from_name="ESL Privacy", to=ticket.requester,
                             subject=subject, text=text, message_id="<x@esl.example>", date=NOW,
                             in_reply_to="<in@example.org>", references=("<r1@example.org>",), kind="ack"))
    composing = time.thread_time() - composing

    queueing = 0.0
    for start in range(0, n, batch):
        with Session(engine, expire_on_commit=False) as session:
            tickets = [ticket for ticket, _, _ in mails[start:start + batch]]
            session.add_all(tickets)
            session.flush()
            began = time.thread_time()   # the ticket rows are intake's cost; the mail, its audit rows and commit ours
            for ticket, subject, text in mails[start:start + batch]:
                queue_mail(session, settings=settings, now=NOW, ticket=ticket, kind="ack", to=ticket.requester,
                           subject=subject, text=text, in_reply_to=f"<in{ticket.id}@example.org>",
                           references=(f"<r{ticket.id}@example.org>",))
            session.commit()
            queueing += time.thread_time() - began

    smtp_settings = SmtpSettings(**settings.smtp.model_dump())
    wall, sending = time.perf_counter(), time.thread_time()   # the recorder runs in its own thread
    report = asyncio.run(drain_outbox(session_factory(engine), SmtpSink(smtp_settings), FixedClock(NOW), smtp_settings,
                                      global_per_hour=settings.loops.global_per_hour))
    sending, wall = time.thread_time() - sending, time.perf_counter() - wall
    print(f"\noutbox, SQLite file, {n} acknowledgements: compose alone {1000 * composing / n:.3f} ms a mail; "
          f"queue_mail (+ its commit) {1000 * queueing / n:.3f} ms CPU a mail; "
          f"sending {1000 * sending / n:.3f} ms CPU a mail ({1000 * wall / n:.3f} ms wall, "
          f"aiosmtplib to the aiosmtpd recorder in this process)")
    assert report.sent == n and len(smtp.received) == n
    with Session(engine) as session:
        assert set(session.exec(select(OutboxMessage.status))) == {"sent"}
    engine.dispose()

