"""Mail to staff and managers: an HTML part when asked for, plain text exactly as before otherwise."""
from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy

from sqlmodel import Session, select

from bot.mail.compose import OutgoingMail, compose
from bot.store.models import AuditEvent
from bot.outbox.queue import queue_mail
from tests.unit.sla.test_sla_support import sla_settings

WHEN = datetime(2026, 11, 24, 2, tzinfo=timezone.utc)
BASE = dict(from_address="support@esl.example", from_name="ESL", to="a@example.org", subject="Hi",
            text="plain 你好\n", message_id="<1@esl.example>", date=WHEN)


def _parse(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_without_html_the_message_is_single_part_text():
    msg = _parse(compose(OutgoingMail(**BASE)))
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    assert msg.get_content().splitlines() == ["plain 你好"]  # CRLF on the wire


def test_html_makes_multipart_alternative_with_text_first():
    msg = _parse(compose(OutgoingMail(**BASE, html="<p>rich 你好</p>")))
    assert msg.get_content_type() == "multipart/alternative"
    plain, rich = msg.iter_parts()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content().splitlines() == ["plain 你好"] and "rich 你好" in rich.get_content()


def test_html_and_attachments_together():
    msg = _parse(compose(OutgoingMail(**BASE, html="<p>x</p>", attachments=(("a.json", "application/json", b"{}"),))))
    assert msg.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in msg.walk()][1:] == ["multipart/alternative", "text/plain", "text/html",
                                                              "application/json"]


def test_staff_mail_is_queued_auto_generated_and_audited(engine):
    with Session(engine) as s:
        row = queue_mail(s, settings=sla_settings(), now=WHEN, ticket=None, kind="digest", to="boss@esl.example",
                         subject="SLA digest", text="t\n", html="<p>h</p>", auto_submitted="auto-generated",
                         about=(1, 2))
        s.commit()
        msg = _parse(row.raw)
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "mail.queued")).one()
    assert row.ticket_id is None and row.status == "pending"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Supportbot-Kind"] == "digest"
    assert '"tickets": [1, 2]' in event.detail
