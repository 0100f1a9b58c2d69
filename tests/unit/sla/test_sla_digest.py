"""The digest's figures against tickets built by hand, and its rendering (HTML chart, plain text)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.store.models import InboundMessage, OutboxMessage
from bot.mail.render import MailRenderer
from bot.sla.clock_rules import assign, mark_completed
from bot.sla.digest import OnTimeShare, StaffLoad, digest_figures
from bot.sla.digest_mail import render_digest
from tests.unit.sla.test_sla_support import add_ticket, sla_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIN = timedelta(minutes=1)
ALICE, BOB = "alice@esl.example", "bob@esl.example"


def _at(m, d, hour=10) -> datetime:
    return datetime(2026, m, d, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


# name: (kind, status, received, completed, assignee, minutes to first ack or None)
TICKETS = {
    "T1": ("access", "open", _at(11, 1), None, ALICE, 30),
    "T2": ("deletion", "open", _at(11, 5), None, None, 120),
    "T3": ("correction", "open", _at(11, 10), None, ALICE, 10),
    "T4": ("other", "open", _at(11, 12), None, None, None),
    "T5": ("access", "in_progress", _at(11, 20), None, BOB, 60),
    "T6": ("access", "answered", _at(11, 2), _at(11, 10), None, 20),
    "T7": ("deletion", "answered", _at(10, 30), _at(11, 16), None, 5),
    "T8": ("correction", "closed", _at(11, 4), _at(11, 19, 23), None, 40),
    "T9": ("other", "answered", _at(10, 1), _at(10, 10), None, 1),
}


@pytest.fixture
def built(engine, clock):
    """The tickets above in the database; `clock` is 2026-11-24 10:00 in Shanghai."""
    settings = sla_settings()
    refs = {}
    with Session(engine) as s:
        for name, (kind, status, received, completed, assignee, ack) in TICKETS.items():
            t = add_ticket(s, settings, received, kind=kind, status="open" if completed else status)
            refs[name] = t.reference
            if completed:
                mark_completed(s, t, settings, completed, status=status)
            if assignee:
                assign(s, t, assignee, received, actor="staff:lead")
            sends = [(ack, "sent")] if ack else [(None, "pending")]
            if name == "T1":
                sends.append((180, "sent"))  # a second acknowledgement later: the first one counts
            for i, (minutes, state) in enumerate(sends):
                s.add(OutboxMessage(ticket_id=t.id, kind="ack", to_address="u@example.org", subject="ack",
                                    message_id=f"<{name}.{i}@esl>", raw=b"", status=state, next_attempt_at=received,
                                    created_at=received, sent_at=received + minutes * MIN if minutes else None))
        s.commit()
        yield settings, refs, digest_figures(s, settings, clock.now())


def test_open_tickets_by_kind_and_status(built):
    _, _, f = built
    assert f.open_by_kind_status == {("access", "open"): 1, ("deletion", "open"): 1, ("correction", "open"): 1,
                                     ("other", "open"): 1, ("access", "in_progress"): 1}
    assert f.open_total == 5


def test_overdue_with_days_over_and_due_soon(built):
    _, refs, f = built
    # T1 due 16 Nov and T2 due 20 Nov, seen on 24 Nov; T3 due 25 Nov, T4 27 Nov; T5 (5 Dec) is later.
    assert [(t.reference, -t.days_left, t.assignee) for t in f.overdue] == [(refs["T1"], 8, ALICE), (refs["T2"], 4, None)]
    assert [(t.reference, t.days_left) for t in f.due_soon] == [(refs["T3"], 1), (refs["T4"], 3)]
    assert (f.overdue_total, f.due_soon_total) == (2, 2)


def test_share_answered_in_time(built):
    _, _, f = built
    # Due 17-23 Nov: T2 (open), T6 (answered early), T8 (answered at 23:00 on its due date) -> 2 of 3.
    # Due 25 Oct-23 Nov adds T1 (open) and T7 (answered two days late) -> 2 of 5. T9 fell due in October.
    assert f.on_time == [OnTimeShare(7, 3, 2), OnTimeShare(30, 5, 2)]
    assert f.on_time[0].percent == pytest.approx(66.67, abs=0.01)


def test_medians(built):
    _, _, f = built
    # Received in the last 30 days and acknowledged: 30, 120, 10, 60, 20, 5, 40 minutes -> 30.
    assert f.median_ack_seconds == pytest.approx(30 * 60)
    # Completed in the last 30 days: T6 8 days, T8 15 days 13 hours, T7 17 days -> 15 d 13 h.
    assert f.median_completion_seconds == pytest.approx(15 * 86400 + 13 * 3600)


def test_load_per_staff_member(built):
    _, _, f = built
    assert f.load == [StaffLoad(ALICE, 2, 1, 1), StaffLoad(BOB, 1, 0, 0), StaffLoad(None, 2, 1, 1)]


def test_backlog_matches_a_count_made_ticket_by_ticket(built, clock):
    _, _, f = built

    def open_at(moment):
        return sum(1 for _, _, received, completed, _, _ in TICKETS.values()
                   if received < moment and (completed is None or completed >= moment))

    days = [date(2026, 11, 24) - timedelta(days=n) for n in range(29, -1, -1)]
    expected = [(d, open_at(min(clock.now(), datetime.combine(d + timedelta(days=1), datetime.min.time(), SHANGHAI))))
                for d in days]
    assert f.backlog == expected
    by_day = dict(f.backlog)
    assert (by_day[date(2026, 10, 26)], by_day[date(2026, 10, 30)], by_day[date(2026, 11, 18)],
            by_day[date(2026, 11, 19)], by_day[date(2026, 11, 24)]) == (0, 1, 5, 4, 5)


def test_rendered_digest_has_the_figures_a_chart_and_a_text_part(built):
    _, refs, f = built
    digest = render_digest(f, MailRenderer())
    assert digest.subject == "SLA digest 2026-11-24: 5 open, 2 overdue, 2 due within 3 days"
    assert digest.html.count('title="2026-') == 30           # one bar per day
    assert "http" not in digest.html.replace("http-equiv", "") and "<img" not in digest.html and "<script" not in digest.html
    for needle in (refs["T1"], "67%", "2 of 3", "30 min", "15.5 days", ALICE, "unassigned (shared list)"):
        assert needle in digest.html and needle in digest.text, needle
    assert f"{refs['T1']}  access      due 2026-11-16  8 days over" in digest.text
    assert any(ch in digest.text for ch in "▁▂▃▄▅▆▇█")


def test_html_escapes_what_people_typed(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        t = add_ticket(s, settings, clock.now() - timedelta(days=20))
        assign(s, t, "<script>x@evil.example", clock.now(), actor="staff:lead")
        s.commit()
        html = render_digest(digest_figures(s, settings, clock.now()), MailRenderer()).html
    assert "<script>" not in html and "&lt;script&gt;x@evil.example" in html


def test_an_empty_database_renders(engine, clock):
    with Session(engine) as s:
        f = digest_figures(s, sla_settings(), clock.now())
    digest = render_digest(f, MailRenderer())
    assert f.open_total == 0 and f.median_ack_seconds is None and len(f.backlog) == 30
    assert "No open requests" in digest.html and "no data" in digest.text


def test_mail_given_up_on_and_quarantined_messages_need_attention(built, engine, clock):
    settings, _, before = built
    assert (before.undelivered, before.quarantined) == (0, 0)
    assert "Needs attention" not in render_digest(before, MailRenderer()).text
    with Session(engine) as s:
        s.add(OutboxMessage(kind="ack", to_address="gone@example.org", subject="ack", message_id="<gone@esl>",
                            raw=b"x", status="failed", next_attempt_at=clock.now(), created_at=clock.now()))
        s.add(InboundMessage(dedup_key="q1", message_id="<q1@x>", sender="a@example.org", subject="?",
                             folder="INBOX", uidvalidity=1, uid=99, raw=b"x", received_at=clock.now(),
                             status="quarantined", quarantine_reason="Boom"))
        s.commit()
        f = digest_figures(s, settings, clock.now())
    digest = render_digest(f, MailRenderer())
    assert (f.undelivered, f.quarantined) == (1, 1)
    assert "Needs attention: 1 undelivered mail (console: Undelivered mail), 1 quarantined message" in digest.text
    assert "<b>1</b> undelivered mail (console: Undelivered mail)" in digest.html
