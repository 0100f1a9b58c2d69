"""Reminders: each ticket and threshold once, across restarts; downtime gives one catch-up mail per recipient."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.config import SmtpSettings
from bot.store.db import session_factory
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from bot.mail.sink import SmtpSink
from bot.store.models import OutboxMessage
from bot.mail.render import MailRenderer
from bot.outbox.sender import drain_outbox
from bot.sla.clock_rules import assign, mark_completed
from bot.sla.extension import extend_due
from bot.store.sla_models import ReminderSent
from bot.sla.reminders import crossed_thresholds
from bot.service.scheduler import SlaJobs
from tests.unit.sla.test_sla_support import BOSS, STAFF, add_ticket, sla_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _sweep(engine, settings, clock):
    """A fresh job object each time, as after a restart: only the database remembers."""
    return SlaJobs(sessions=session_factory(engine), clock=clock, settings=settings, renderer=MailRenderer()).sweep()


def _reminders(engine, after_id=0) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder", OutboxMessage.id > after_id)
                           .order_by(OutboxMessage.id)))


def test_thresholds_crossed():
    assert crossed_thresholds(6, [5, 2, 1]) == []
    assert crossed_thresholds(5, [5, 2, 1]) == ["5d"]
    assert crossed_thresholds(1, [5, 2, 1]) == ["1d", "2d", "5d"]
    assert crossed_thresholds(-1, [5, 2, 1]) == ["overdue", "1d", "2d", "5d"]


def test_each_threshold_fires_once_at_the_right_moment(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        ref = add_ticket(s, settings, clock.now()).reference   # due 2026-12-09, 10:00 in Shanghai
        s.commit()
    fired, last = [], 0
    for _ in range(4 * 20):                                      # every 6 hours for 20 days
        _sweep(engine, settings, clock)
        for mail in _reminders(engine, last):
            fired.append((clock.now().astimezone(SHANGHAI).strftime("%m-%d %H:%M"), mail.to_address, mail.subject))
            last = mail.id
        clock.advance(6 * HOUR)
    # The first sweep of each local date that brings the ticket to 5, 2, 1 days left, then overdue.
    assert [(when, to) for when, to, _ in fired] == [
        ("12-04 04:00", STAFF), ("12-07 04:00", STAFF), ("12-08 04:00", STAFF),
        ("12-10 04:00", STAFF), ("12-10 04:00", BOSS)]
    assert all("[SLA]" in subject for _, _, subject in fired)
    with Session(engine) as s:
        assert sorted(r.threshold for r in s.exec(select(ReminderSent))) == ["1d", "2d", "5d", "overdue"]
    assert ref in _reminders(engine)[-1].raw.decode()


def test_a_restart_does_not_repeat_reminders(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        add_ticket(s, settings, clock.now() - 11 * DAY)          # 4 days left: the 5-day reminder is due
        s.commit()
    assert _sweep(engine, settings, clock).mails == {STAFF: 1}
    for _ in range(3):                                          # restarts within the same day
        clock.advance(2 * HOUR)
        assert _sweep(engine, settings, clock).mails == {}
    assert len(_reminders(engine)) == 1


def test_a_week_of_downtime_gives_one_catch_up_mail_per_recipient(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        crossing_all = add_ticket(s, settings, clock.now() - 9 * DAY).reference    # 6 days left -> overdue
        going_late = add_ticket(s, settings, clock.now() - 12 * DAY).reference     # 3 days left -> overdue
        nearly = add_ticket(s, settings, clock.now() - 4 * DAY).reference          # 11 left -> 4 left
        s.commit()
    assert _sweep(engine, settings, clock).mails == {STAFF: 1}                    # going_late: 5 days
    clock.advance(7 * DAY)                                                        # the bot is down
    report = _sweep(engine, settings, clock)
    assert report.mails == {STAFF: 3, BOSS: 2}
    mails = _reminders(engine)[1:]
    assert sorted(m.to_address for m in mails) == [BOSS, STAFF]
    boss = next(m for m in mails if m.to_address == BOSS).raw.decode()
    assert crossing_all in boss and going_late in boss and nearly not in boss
    with Session(engine) as s:  # every threshold crossed while down is recorded, so none fires later
        rows = s.exec(select(ReminderSent.threshold).where(ReminderSent.ticket_id == int(crossing_all[-6:]))).all()
    assert sorted(rows) == ["1d", "2d", "5d", "overdue"]
    clock.advance(DAY)
    assert _sweep(engine, settings, clock).mails == {}


def test_assignee_gets_their_tickets_and_managers_only_overdue_ones(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        mine = add_ticket(s, settings, clock.now() - 14 * DAY)   # 1 day left
        late = add_ticket(s, settings, clock.now() - 17 * DAY)   # 2 days over
        for ticket in (mine, late):
            assign(s, ticket, "Alice@ESL.example", clock.now(), actor="staff:lead")
        add_ticket(s, settings, clock.now() - 13 * DAY)          # unassigned, 2 days left
        s.commit()
    assert _sweep(engine, settings, clock).mails == {"alice@esl.example": 2, STAFF: 1, BOSS: 1}


def test_no_reminder_for_done_or_paused_tickets_nor_when_nobody_is_configured(engine, clock):
    settings = sla_settings(sla={"pause_while_waiting": True})
    with Session(engine) as s:
        done = add_ticket(s, settings, clock.now() - 20 * DAY)
        mark_completed(s, done, settings, clock.now())
        add_ticket(s, settings, clock.now() - 20 * DAY, waiting_on="requester")
        s.commit()
    assert _sweep(engine, settings, clock).mails == {}
    nobody = sla_settings(sla={"pause_while_waiting": True}, staff={"reminders_to": [], "managers": []})
    with Session(engine) as s:
        ref = add_ticket(s, nobody, clock.now() - 12 * DAY).reference
        s.commit()
    assert _sweep(engine, nobody, clock).no_recipient == [ref]
    with Session(engine) as s:  # not recorded: once someone is configured, the reminder goes
        assert s.exec(select(ReminderSent)).all() == []
    assert _sweep(engine, settings, clock).mails == {STAFF: 1}


def test_an_extension_re_arms_the_reminders_for_the_new_date(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        ticket = add_ticket(s, settings, clock.now() - 11 * DAY)   # 4 days left
        s.commit()
        assert _sweep(engine, settings, clock).mails == {STAFF: 1}
        extend_due(s, ticket, days=10, reason="export needs a second check", actor="staff:li", settings=settings,
                   renderer=MailRenderer(), now=clock.now())
        s.commit()
    assert _sweep(engine, settings, clock).mails == {}
    clock.advance(9 * DAY)                                          # 5 days left of the new date
    assert _sweep(engine, settings, clock).mails == {STAFF: 1}


def test_the_same_reminder_cannot_be_recorded_twice(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        ticket = add_ticket(s, settings, clock.now())
        s.add(ReminderSent(ticket_id=ticket.id, threshold="5d", due_at=ticket.due_at, sent_at=clock.now()))
        s.commit()
        s.add(ReminderSent(ticket_id=ticket.id, threshold="5d", due_at=ticket.due_at, sent_at=clock.now()))
        with pytest.raises(IntegrityError):
            s.commit()


def test_reminders_and_the_escalation_reach_the_mailboxes(engine, clock):
    """Done when: crossing each threshold gives exactly one mail; an overdue ticket reaches the managers."""
    settings = sla_settings()
    with Session(engine) as s:
        ref = add_ticket(s, settings, clock.now()).reference
        s.commit()
    with RecordingSmtpServer() as smtp:
        smtp_settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none",
                                     from_address="support@esl.example")
        for _ in range(18):
            _sweep(engine, settings, clock)
            asyncio.run(drain_outbox(session_factory(engine), SmtpSink(smtp_settings), clock, smtp_settings))
            clock.advance(DAY)
        got = [(m.recipients, m.message) for m in smtp.received]
    assert [r for r, _ in got] == [[STAFF], [STAFF], [STAFF], [STAFF], [BOSS]]
    texts = [m.get_content() for _, m in got]
    assert [("5 days left" in t, "2 days left" in t, "1 day left" in t, "OVERDUE" in t) for t in texts[:3]] == [
        (True, False, False, False), (False, True, False, False), (False, False, True, False)]
    assert all(ref in t for t in texts) and "OVERDUE by 1 day" in texts[-1]
    assert all(m["Auto-Submitted"] == "auto-generated" for _, m in got)


def test_reminders_in_chinese(engine, clock):
    settings = sla_settings(reminders={"language": "zh"})
    with Session(engine) as s:
        ref = add_ticket(s, settings, clock.now() - 17 * DAY).reference     # 2 days over
        s.commit()
    _sweep(engine, settings, clock)
    mails = {m.to_address: m for m in _reminders(engine)}
    assert set(mails) == {STAFF, BOSS}
    body = message_from_bytes(mails[BOSS].raw, policy=policy.default).get_content()
    assert "1 件已逾期" in mails[BOSS].subject and f"{ref}  access  期限 2026-11-22  已逾期 2 天" in body
