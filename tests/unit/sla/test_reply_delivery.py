"""Completed = delivered: a ticket's clock stops when the SMTP server accepts its approved reply,
and a reply the server refuses for good reopens the ticket as "reply-undelivered"."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session

from bot.store.db import transaction
from bot.drafts.approve import approve
from bot.store.models import Draft, Ticket
from bot.sla.digest import digest_figures
from bot.store.sla_models import TicketSla
from bot.web.undelivered import requeue
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app


def approved_access_reply(engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path, smtp={"host": smtp.host, "port": smtp.port, "security": "none",
                                                   "max_attempts": 1})
    flow = Flow(app)
    flow.send(mail("owner@example.org", "Copy of my data", "Please send me a copy of all my personal data.",
                   "<v1@x>", Authentication_Results=TRUSTED_PASS))
    asyncio.run(app.drain_outbox())   # the acknowledgement
    with transaction(app.sessions) as session:
        draft = session.exec(Draft.__table__.select()).first()
        approve(session, draft.id, app.pipeline, actor="staff:li@esl.example")
    return app, flow


def state(app) -> tuple[str, object, object]:
    with Session(app.engine) as s:
        sla = s.get(TicketSla, 1)
        return s.get(Ticket, 1).status, sla and sla.completed_at, sla and sla.on_time


def test_the_clock_stops_when_the_reply_is_accepted_not_when_it_is_approved(engine, clock, tmp_path, smtp):
    app, _ = approved_access_reply(engine, clock, tmp_path, smtp)
    status, completed_at, _ = state(app)
    assert status != "answered" and completed_at is None      # approved, but nothing has left yet
    clock.advance(timedelta(hours=3))                         # the mail server was away a while
    asyncio.run(app.drain_outbox())
    assert state(app) == ("answered", clock.now(), True)
    assert [m.message["X-Supportbot-Kind"] for m in smtp.received][-1] == "reply-access"


def test_a_reply_refused_for_good_reopens_the_ticket_and_the_digest_counts_it_open(engine, clock, tmp_path, smtp):
    app, _ = approved_access_reply(engine, clock, tmp_path, smtp)
    smtp.fail("550 5.1.1 mailbox unavailable")
    asyncio.run(app.drain_outbox())
    assert state(app) == ("reply-undelivered", None, None)
    with Session(app.engine) as s:
        figures = digest_figures(s, app.settings, clock.now())
    assert figures.open_by_kind_status == {("access", "reply-undelivered"): 1}
    assert figures.median_completion_seconds is None and figures.undelivered == 1

    smtp.accept_all()                                          # staff retry it once the address works
    clock.advance(timedelta(days=1))
    with transaction(app.sessions) as session:
        draft = session.get(Draft, 1)
        requeue(session, draft.outbox_id, actor="staff:li@esl.example", now=clock.now())
    asyncio.run(app.drain_outbox())
    assert state(app) == ("answered", clock.now(), True)
    with Session(app.engine) as s:
        assert digest_figures(s, app.settings, clock.now()).median_completion_seconds == 86400.0
