"""Clock rules: start on verification, pause while waiting on the requester, extensions, completion."""
from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlmodel import Session, select

from bot.store.models import AuditEvent, InboundMessage, OutboxMessage
from bot.mail.render import MailRenderer
from bot.sla import mark_completed, recompute_due
from bot.sla.extension import extend_due
from bot.store.sla_models import SlaExtension, SlaPause
from tests.unit.sla.test_sla_support import add_ticket, sla_settings

DAY = timedelta(days=1)


def _actions(session, ticket_id):
    return [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id))]


def test_default_rules_leave_the_due_date_alone(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now())
        t.verification, t.waiting_on = "verified", "requester"
        assert recompute_due(s, t, settings, clock.now() + 3 * DAY) == clock.now() + 15 * DAY
        assert "sla.due_changed" not in _actions(s, t.id)
        assert s.exec(select(SlaPause)).all() == []  # pauses are only kept when they count


def test_clock_can_start_on_verification(engine, clock):
    settings = sla_settings(sla={"clock_starts": "verified"})
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now())
        assert recompute_due(s, t, settings, clock.now() + DAY) == clock.now() + 15 * DAY  # not verified yet
        t.verification = "verified"
        verified_at = clock.now() + 3 * DAY
        assert recompute_due(s, t, settings, verified_at) == verified_at + 15 * DAY
        # Later changes do not move the start again.
        assert recompute_due(s, t, settings, verified_at + 5 * DAY) == verified_at + 15 * DAY
        s.commit()
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "sla.due_changed")).one()
        assert json.loads(event.detail)["clock_starts"] == "verified"


def test_waiting_on_the_requester_pauses_the_clock(engine, clock):
    settings = sla_settings(sla={"pause_while_waiting": True})
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now())
        t.waiting_on = "requester"                       # a code was sent on day 1
        recompute_due(s, t, settings, clock.now() + DAY)
        assert t.due_at == clock.now() + 15 * DAY        # unchanged while the wait runs
        t.waiting_on = None                              # the code came back on day 4
        assert recompute_due(s, t, settings, clock.now() + 4 * DAY) == clock.now() + 18 * DAY
        t.waiting_on = "requester"                       # a second wait, day 6 to day 8
        recompute_due(s, t, settings, clock.now() + 6 * DAY)
        t.waiting_on = "staff"
        assert recompute_due(s, t, settings, clock.now() + 8 * DAY) == clock.now() + 20 * DAY
        assert len(s.exec(select(SlaPause).where(SlaPause.ticket_id == t.id)).all()) == 2


def test_pauses_count_working_days_in_working_mode(engine, clock):
    settings = sla_settings(sla={"pause_while_waiting": True, "day_kind": "working"})
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now())         # Tue 24 Nov 2026, 10:00 in Shanghai
        # 25-27 Nov, 30 Nov-4 Dec, 7-11 Dec, 14-15 Dec: the 15th working day is Tue 15 Dec.
        assert t.due_at == clock.now() + 21 * DAY
        t.waiting_on = "requester"
        recompute_due(s, t, settings, clock.now() + 3 * DAY)   # Fri 27 Nov
        t.waiting_on = None
        recompute_due(s, t, settings, clock.now() + 6 * DAY)   # Mon 30 Nov: Sat, Sun off, Mon counts
        assert t.due_at == clock.now() + 22 * DAY              # Wed 16 Dec


def test_extension_moves_the_date_records_why_and_tells_the_requester(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now(), language="zh", requester="wang@example.cn")
        s.add(InboundMessage(dedup_key="k1", message_id="<first@example.cn>", raw=b"", received_at=clock.now(),
                             ticket_id=t.id, sender="wang@example.cn", party="requester"))
        # A stranger's later mail on the thread is not what the requester's client threads on.
        s.add(InboundMessage(dedup_key="k2", message_id="<planted@evil.test>", raw=b"", received_at=clock.now(),
                             ticket_id=t.id, sender="x@evil.test", party="third-party", uid=2))
        s.flush()
        ext, notice = extend_due(s, t, days=10, reason="导出数据需要额外核对", actor="staff:li",
                                 settings=settings, renderer=MailRenderer(), now=clock.now() + 5 * DAY)
        s.commit()
        assert t.due_at == clock.now() + 25 * DAY
        assert (ext.old_due_at, ext.new_due_at) == (clock.now() + 15 * DAY, clock.now() + 25 * DAY)
        mail = message_from_bytes(s.get(OutboxMessage, notice.id).raw, policy=policy.default)
        body = mail.get_content()
        assert mail["To"] == "wang@example.cn" and t.reference in mail["Subject"]
        assert "2026-12-19" in body and "2026-12-09" in body and "导出数据需要额外核对" in body
        assert mail["In-Reply-To"] == "<first@example.cn>" and mail["Auto-Submitted"] is None
        assert "sla.extended" in _actions(s, t.id)
        assert len(s.exec(select(SlaExtension)).all()) == 1


def test_an_extension_needs_a_reason_and_an_open_ticket(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now())
        with pytest.raises(ValueError, match="reason"):
            extend_due(s, t, days=5, reason="  ", actor="staff:li", settings=settings,
                       renderer=MailRenderer(), now=clock.now())
        mark_completed(s, t, settings, clock.now())
        with pytest.raises(ValueError, match="answered"):
            extend_due(s, t, days=5, reason="late", actor="staff:li", settings=settings,
                       renderer=MailRenderer(), now=clock.now())


def test_completion_is_in_time_until_the_end_of_the_due_date(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        early, late = add_ticket(s, settings, clock.now()), add_ticket(s, settings, clock.now())
        # Due 2026-12-09 10:00 Shanghai: 23:00 that day is still in time, the next morning is not.
        assert mark_completed(s, early, settings, clock.now() + 15 * DAY + timedelta(hours=13)).on_time is True
        assert mark_completed(s, late, settings, clock.now() + 15 * DAY + timedelta(hours=15)).on_time is False
        assert (early.status, late.status) == ("answered", "answered")
