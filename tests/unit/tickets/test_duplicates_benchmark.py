"""Issue 13.7: on a 200-mail generated mailbox no request is merged into a ticket about something else."""
from __future__ import annotations

from email import message_from_bytes

from sqlmodel import Session, select

from bot.intake.fetcher import drain_folder
from bot.store.models import InboundMessage
from tests.support.mailgen import mixed_mailbox
from tests.support.pipeline_flow import Flow, make_app


def test_no_request_is_merged_into_a_ticket_about_something_else(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 1000}))
    box = mixed_mailbox(200)
    topic_of = {message_from_bytes(raw)["Message-ID"]: topic for raw, topic in box}
    for raw, _ in box:
        flow.box.add(raw)
    drain_folder(flow.box, flow.app.pipeline, folder="INBOX")
    with Session(flow.app.engine) as s:
        messages = list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))
    opening = {m.ticket_id: m for m in messages if m.opened_ticket}
    merged = [m for m in messages if not m.opened_ticket and m.ticket_id is not None]
    wrong = [(topic_of[m.message_id], topic_of[opening[m.ticket_id].message_id]) for m in merged
             if topic_of[m.message_id] != topic_of[opening[m.ticket_id].message_id]]
    notices = flow.outbox("duplicate-notice")
    print(f"\n200 mails: {len(opening)} tickets, {len(merged)} merged, {len(notices)} duplicate notices, "
          f"{len(wrong)} into a ticket about something else")
    assert wrong == []
    # Real duplicates are still found: every mail sent again joins its first ticket.
    assert len(merged) >= 10
