"""Duplicate requests: the same requester asking the same thing again joins the open ticket, and is told so."""
from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes, policy

from sqlmodel import Session, select

from bot.store.models import AuditEvent, Challenge, InboundMessage, Ticket
from bot.tickets.duplicates import same_request
from bot.sla import local_date
from tests.support.pipeline_flow import Flow, mail, make_app
from tests.support.refs import plain

DELETE = ("Delete my account", "I no longer use ESL. Please delete my account and all my personal data.")
DELETE_AGAIN = ("Delete my account!!", "Why is my account still there? Please erase my account and my data.")
COPY = ("Copy of my data", "Please send me a copy of all the personal information you hold about me.")
DELETE_ZH = ("注销账号", "我已经不再使用了，请注销我的账号并删除我的个人信息。")


def _send(flow, sender, request, n, **headers):
    return flow.send(mail(sender, request[0], request[1], f"<d{n}@x>", **headers))


def _tickets(flow) -> list[Ticket]:
    with Session(flow.app.engine) as s:
        return list(s.exec(select(Ticket).order_by(Ticket.id)))


def _body(row) -> str:
    return message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()


def test_the_rule_matches_a_shared_right_never_other_by_kind():
    assert same_request("deletion", ["deletion"], "deletion", ("deletion",))
    assert same_request("deletion", ["deletion", "access"], "access", ("access",))
    assert not same_request("deletion", ["deletion"], "access", ("access",))
    assert not same_request("access", ["access", "other"], "correction", ("correction", "other"))
    assert not same_request("other", ["other"], "other", ("other",))   # other: only near-identical text


def test_asking_again_joins_the_open_ticket_with_a_notice_instead_of_a_second_ack(flow, clock):
    _send(flow, "stranger@example.org", DELETE, 1)
    clock.advance(timedelta(days=3))
    report = _send(flow, "stranger@example.org", DELETE_AGAIN, 2)
    assert report.outcomes == {"follow-up": 1}
    [ticket] = _tickets(flow)
    with Session(flow.app.engine) as s:
        assert [m.ticket_id for m in s.exec(select(InboundMessage).order_by(InboundMessage.id))] == [1, 1]
    assert [row.kind for row in flow.outbox()].count("ack") == 1
    [notice] = flow.outbox("duplicate-notice")
    assert notice.to_address == "stranger@example.org" and plain(notice.subject).startswith("[ESL-000001] ")
    assert b"In-Reply-To: <d2@x>" in notice.raw and b"Auto-Submitted: auto-replied" in notice.raw
    due = str(local_date(ticket.due_at, flow.app.settings.sla))
    assert "ESL-000001" in _body(notice) and f"Reply due by:  {due} (Asia/Shanghai)" in _body(notice)
    linked = [e for e in flow.actions() if e == "message.duplicate_linked"]
    assert linked == ["message.duplicate_linked"]
    # The account question went once, with the ack: the duplicate does not start verification over.
    assert [row.kind for row in flow.outbox()] == ["ack", "duplicate-notice"]


def test_another_right_a_closed_ticket_another_sender_or_too_late_is_a_new_ticket(flow, clock):
    _send(flow, "a@example.org", DELETE, 1)
    _send(flow, "a@example.org", COPY, 2)                     # another right
    _send(flow, "b@example.org", DELETE, 3)                   # another requester
    assert [(t.requester, t.kind) for t in _tickets(flow)] == [
        ("a@example.org", "deletion"), ("a@example.org", "access"), ("b@example.org", "deletion")]
    with Session(flow.app.engine) as s:
        first = s.get(Ticket, 1)
        first.status = "answered"
        s.add(first)
        s.commit()
    _send(flow, "a@example.org", DELETE_AGAIN, 4)             # the matching ticket is answered
    assert len(_tickets(flow)) == 4
    clock.advance(timedelta(days=31))
    _send(flow, "a@example.org", DELETE, 5)                   # the open one is outside the 30-day window
    assert len(_tickets(flow)) == 5 and flow.outbox("duplicate-notice") == []
    _send(flow, "a@example.org", DELETE_AGAIN, 6)             # ... but the one just opened is not
    assert len(_tickets(flow)) == 5 and len(flow.outbox("duplicate-notice")) == 1


def test_the_window_is_configurable_and_zero_turns_linking_off(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path, tickets={"duplicate_window_days": 0}))
    _send(flow, "a@example.org", DELETE, 1)
    _send(flow, "a@example.org", DELETE_AGAIN, 2)
    assert len(_tickets(flow)) == 2 and "message.duplicate_linked" not in flow.actions()


def test_a_duplicate_in_another_language_gets_a_bilingual_notice(flow):
    _send(flow, "a@example.org", DELETE, 1)
    _send(flow, "a@example.org", DELETE_ZH, 2)
    [notice] = flow.outbox("duplicate-notice")
    assert "already asked us" in _body(notice) and "不会重复登记" in _body(notice)
    assert "Already registered / 已登记" in notice.subject


def test_a_duplicate_while_a_code_is_outstanding_keeps_the_challenge_and_the_code_still_works(flow):
    _send(flow, "owner@example.org", DELETE, 1)
    assert flow.ticket().verification == "challenged"
    code, challenge_id, _ = flow.code_and_id()
    _send(flow, "owner@example.org", DELETE_AGAIN, 2)
    assert len(_tickets(flow)) == 1 and flow.ticket().verification == "challenged"
    with Session(flow.app.engine) as s:
        assert [(c.status, c.attempts) for c in s.exec(select(Challenge))] == [("open", 0)]
    flow.reply("owner@example.org", f"Here is the code: {code}", challenge_id, 3)
    assert flow.ticket().verification == "verified"


def test_a_duplicate_carrying_the_details_we_asked_for_moves_verification_on(flow):
    _send(flow, "someone@example.net", DELETE, 1)
    assert flow.ticket().verification == "unknown"
    _send(flow, "someone@example.net", ("Delete my account", "My ESL phone number is 138 0013 8000. Delete it."), 2)
    ticket = flow.ticket()
    assert len(_tickets(flow)) == 1 and (ticket.verification, ticket.account_id) == ("challenged", "A1")
    assert [row.to_address for row in flow.outbox("challenge")] == ["owner@example.org"]


def test_duplicate_notices_count_towards_the_hourly_limit(engine, clock, tmp_path):
    flow = Flow(make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 3}))
    for n in range(1, 5):
        _send(flow, "stranger@example.org", DELETE_AGAIN if n % 2 else DELETE, n)
    assert len(_tickets(flow)) == 1
    assert len([r for r in flow.outbox() if r.to_address == "stranger@example.org"]) == 3  # ack, 2 notices
    withheld = [json.loads(e) for e in _details(flow, "mail.withheld")]
    assert [w["kind"] for w in withheld] == ["duplicate-notice"]


def _details(flow, action):
    with Session(flow.app.engine) as s:
        return [e.detail for e in s.exec(select(AuditEvent).where(AuditEvent.action == action))]
