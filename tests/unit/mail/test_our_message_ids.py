"""Our Message-IDs cannot be predicted, and a reply to one of them joins our ticket whoever claimed it first."""
from __future__ import annotations

import random

from sqlmodel import Session, select

from bot.mail.compose import new_message_id
from bot.store.models import InboundMessage
from tests.support.pipeline_flow import Flow, mail, make_app


def test_message_ids_do_not_come_from_the_seedable_generator():
    random.seed(7)
    predicted = random.getrandbits(64)
    random.seed(7)
    first = new_message_id("support@esl.example")
    random.seed(7)
    second = new_message_id("support@esl.example")
    assert first != second and str(predicted) not in first
    assert first.endswith("@esl.example>") and len(first.split("@")[0]) >= 1 + 22   # 128 bits or more


def test_a_reply_to_our_mail_joins_our_ticket_even_if_a_stranger_claimed_its_id(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path))
    flow.send(mail("victim@example.org", "Delete my account", "Please delete my account and my data.", "<v1@x>"))
    [ack] = flow.outbox("ack")
    # The attacker's own request carries the Message-ID of our acknowledgement to the victim.
    flow.send(mail("attacker@evil.test", "Delete my account", "Please delete my account now.", ack.message_id))
    flow.send(mail("victim@example.org", "Re: Delete", "My phone is 13911112222.", "<v2@x>",
                   In_Reply_To=ack.message_id))
    with Session(flow.app.engine) as s:
        reply = s.exec(select(InboundMessage).where(InboundMessage.message_id == "<v2@x>")).one()
    assert reply.ticket_id == ack.ticket_id == 1 and reply.party == "requester"
