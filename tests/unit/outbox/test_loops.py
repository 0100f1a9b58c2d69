"""Loop protection: our X-Loop header, hourly limits on automatic mail, and no automatic mail after a bounce."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.store.db import init_db, make_engine, session_factory
from bot.outbox.loops import sending_budget, withhold_reason
from bot.mail.bounces import read_bounce
from bot.mail.parse import parse_message
from bot.mail.rules import machine_mail_reason
from bot.mail.sink import SmtpSink
from bot.store.models import AuditEvent, Challenge, InboundMessage, OutboxMessage, SuppressedAddress, Ticket
from bot.outbox.queue import queue_mail
from bot.outbox.sender import drain_outbox
from tests.support.pipeline_flow import Flow, make_app, mail
from tests.support.refs import plain

OWN = {"support@esl.example"}


def _events(engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _suppressed(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {row.address: row.reason for row in s.exec(select(SuppressedAddress))}


def _queue(session, settings, clock, kind, to, actor="bot", ticket=None):
    return queue_mail(session, settings=settings, now=clock.now(), ticket=ticket, kind=kind, to=to,
                      subject="s", text="t\n", actor=actor)


# --- X-Loop -------------------------------------------------------------------------------------

def test_every_mail_we_send_carries_our_x_loop_and_mail_carrying_it_is_machine_mail(engine, settings, clock):
    with Session(engine) as s:
        for kind, actor in (("ack", "bot"), ("reply-access", "staff:ann"), ("digest", "bot")):
            row = _queue(s, settings, clock, kind, "a@example.org", actor)
            assert b"\r\nX-Loop: support@esl.example\r\n" in row.raw
    ours = parse_message(mail("someone@example.org", "Fwd: ack", "hi", "<l1@x>", X_Loop="support@esl.example"))
    assert machine_mail_reason(ours, own_addresses=OWN) == "x-loop: support@esl.example"
    assert machine_mail_reason(ours, own_addresses={"SUPPORT@esl.example "}).startswith("x-loop")
    theirs = parse_message(mail("someone@example.org", "Question", "hi", "<l2@x>", X_Loop="helpdesk@other.example"))
    assert machine_mail_reason(theirs, own_addresses=OWN) is None


def test_our_own_acknowledgement_forwarded_back_opens_nothing(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    flow.send(mail("a@example.org", "Copy of my data", "Please send me a copy of my personal data.", "<1@x>"))
    ack = flow.outbox("ack")[0]
    # A forwarding rule at the requester's end sends our mail back under its own From.
    bounced_back = ack.raw.replace(b"From: ESL Privacy Team <support@esl.example>", b"From: fwd@example.net")
    bounced_back = bounced_back.replace(b"Auto-Submitted: auto-replied\r\n", b"")
    before = len(flow.outbox())
    flow.send(bounced_back)
    with Session(app.engine) as s:
        last = s.exec(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last.machine_reason == "x-loop: support@esl.example"   # it may join the ticket, as a note
        assert len(s.exec(select(Ticket)).all()) == 1
    assert len(flow.outbox()) == before                                # ... but is never answered


# --- hourly limits ------------------------------------------------------------------------------

def test_the_rules_name_suppression_then_the_per_address_limit_and_budget_the_global_one():
    limits = dict(per_address_per_hour=5)
    assert withhold_reason(suppressed=None, to_address_recently=4, **limits) is None
    assert withhold_reason(suppressed="bounced", to_address_recently=0, **limits) == "suppressed: bounced"
    assert withhold_reason(suppressed=None, to_address_recently=5, **limits).startswith("per-address limit: 5 ")
    assert withhold_reason(suppressed=None, to_address_recently=0, per_address_per_hour=0).startswith("per-address")
    assert sending_budget(sent_recently=498, global_per_hour=500) == 2
    assert sending_budget(sent_recently=700, global_per_hour=500) == 0


def test_per_address_limit_counts_automatic_mail_of_the_last_hour_only(engine, settings, clock):
    with Session(engine) as s:
        queued = [_queue(s, settings, clock, kind, "A@Example.org" if i % 2 else "a@example.org")
                  for i, kind in enumerate(["ack", "challenge", "ask-details", "duplicate-notice", "ack"])]
        assert all(queued)
        assert _queue(s, settings, clock, "ack", "a@example.org") is None          # the sixth: withheld
        assert _queue(s, settings, clock, "ack", "b@example.org") is not None      # another address is fine
        # Mail a person decided on, and staff reminders, are neither limited nor counted.
        assert _queue(s, settings, clock, "reply-access", "a@example.org", actor="staff:ann") is not None
        assert _queue(s, settings, clock, "extension", "a@example.org", actor="staff:ann") is not None
        assert _queue(s, settings, clock, "challenge", "a@example.org", actor="staff:ann") is not None
        assert _queue(s, settings, clock, "reminder", "a@example.org") is not None
        clock.advance(timedelta(minutes=59))
        assert _queue(s, settings, clock, "ack", "a@example.org") is None
        clock.advance(timedelta(minutes=1, seconds=1))    # the first five are now more than an hour old
        assert _queue(s, settings, clock, "ack", "a@example.org") is not None
        s.commit()
    withheld = _events(engine, "mail.withheld")
    assert [json.loads(e.detail)["reason"].split(":")[0] for e in withheld] == ["per-address limit"] * 2
    assert json.loads(withheld[0].detail)["kind"] == "ack"


def test_over_the_global_limit_automatic_mail_waits_and_goes_later(engine, clock, smtp):
    settings = Settings(smtp={"from_address": "support@esl.example", "host": "127.0.0.1", "port": smtp.port,
                              "security": "none"}, loops={"global_per_hour": 3})
    with Session(engine) as s:
        assert all(_queue(s, settings, clock, "ack", f"u{i}@example.org") for i in range(5))
        assert _queue(s, settings, clock, "digest", "manager@esl.example") is not None
        s.commit()
    send = lambda: asyncio.run(drain_outbox(session_factory(engine), SmtpSink(settings.smtp), clock, settings.smtp,  # noqa: E731
                                            global_per_hour=settings.loops.global_per_hour))
    report = send()
    assert (report.sent, report.delayed) == (4, 2)               # three acks and the digest
    assert send().sent == 0                                      # not yet due again
    clock.advance(timedelta(minutes=61))                         # the first three are an hour old
    assert send().sent == 2
    acks = [m for m in smtp.received if m.message["X-Supportbot-Kind"] == "ack"]
    assert sorted(m.recipients[0] for m in acks) == [f"u{i}@example.org" for i in range(5)]
    assert _events(engine, "mail.withheld") == []
    with Session(engine) as s:
        assert {row.attempts for row in s.exec(select(OutboxMessage))} == {1}   # waiting is no failed attempt


def test_over_the_limit_the_ticket_still_opens_and_staff_see_why_there_was_no_ack(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 1}, tickets={"duplicate_window_days": 0})
    flow = Flow(app)
    flow.send(mail("x@example.org", "Copy of my data", "Please send me a copy of my personal data.", "<1@x>"))
    flow.send(mail("x@example.org", "Delete my account", "Please delete my account and all my data.", "<2@x>"))
    assert [plain(t.reference) for t in (flow.ticket(1), flow.ticket(2))] == ["ESL-000001", "ESL-000002"]
    assert [row.ticket_id for row in flow.outbox()] == [1]    # one automatic mail an hour to x@
    withheld = _events(app.engine, "mail.withheld")
    assert {e.ticket_id for e in withheld} >= {2} and all(
        json.loads(e.detail)["reason"].startswith("per-address limit") for e in withheld)
    assert all(e.ticket_id in (1, 2) for e in withheld)


def test_a_withheld_code_leaves_verification_to_staff_not_waiting_on_the_requester(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 1})
    flow = Flow(app)
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account and all my data.", "<1@o>"))
    flow.send(mail("owner@example.org", "Copy of my data", "Please send me a copy of my personal data.", "<2@o>"))
    assert [(row.kind, row.ticket_id) for row in flow.outbox()] == [("ack-code", 1)]   # the second was over
    ticket = flow.ticket(2)
    assert (ticket.verification, ticket.waiting_on) == ("pending", None)
    with Session(app.engine) as s:
        assert [c.status for c in s.exec(select(Challenge).order_by(Challenge.id))] == ["open", "withheld"]
    assert [e.ticket_id for e in _events(app.engine, "verification.code_withheld")] == [2]
    assert [e.ticket_id for e in _events(app.engine, "verification.challenged")] == [1]


# --- bounces ------------------------------------------------------------------------------------

def test_automatic_mail_queued_before_its_address_bounced_is_withheld_at_sending(engine, clock, smtp):
    settings = Settings(smtp={"from_address": "support@esl.example", "host": "127.0.0.1", "port": smtp.port,
                              "security": "none"})
    with Session(engine) as s:
        assert _queue(s, settings, clock, "ack", "gone@example.org") is not None
        s.commit()
    clock.advance(timedelta(seconds=1))
    with Session(engine) as s:        # a bounce for earlier mail arrives before the sender ran
        s.add(SuppressedAddress(address="gone@example.org", reason="bounced", created_at=clock.now()))
        s.commit()
    clock.advance(timedelta(seconds=1))
    with Session(engine) as s:        # ... and afterwards a person decides to send a code anyway
        assert _queue(s, settings, clock, "challenge", "gone@example.org", actor="staff:ann") is not None
        s.commit()
    report = asyncio.run(drain_outbox(session_factory(engine), SmtpSink(settings.smtp), clock, settings.smtp))
    assert report.sent == 1
    assert [m.message["X-Supportbot-Kind"] for m in smtp.received] == ["challenge"]
    with Session(engine) as s:
        assert {row.kind: row.status for row in s.exec(select(OutboxMessage))} == {"ack": "withheld",
                                                                                  "challenge": "sent"}
    assert [json.loads(e.detail)["reason"] for e in _events(engine, "mail.withheld")] == \
        ["suppressed after it was queued"]


def _request(flow, sender, n):
    flow.send(mail(sender, "Copy of my data", "Please send me a copy of my personal data.", f"<req{n}@x>"))
    return [row for row in flow.outbox() if row.to_address == sender]


RFC3464_RETURNED_ID = b"<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>"


def test_a_bounce_naming_a_recipient_we_wrote_to_but_no_mail_of_ours_suppresses_nothing(engine, clock, tmp_path,
                                                                                       corpora):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    assert _request(flow, "userunknown@bouncehammer.jp", 1)
    # Anyone can write a delivery report naming an address: it must answer mail we sent there.
    flow.send((corpora / "sisimai-set-of-emails/bsd/rfc3464-01.eml").read_bytes())
    flow.send(mail("postmaster@attacker.test", "Undeliverable", "Delivery to userunknown@bouncehammer.jp failed "
                   "permanently: 550 5.1.1 user unknown", "<pm@attacker.test>", Return_Path="<>"))
    assert _suppressed(app.engine) == {}
    with Session(app.engine) as s:
        assert all(m.machine_reason for m in s.exec(select(InboundMessage)) if m.id > 1)   # stored as machine mail
    clock.advance(timedelta(days=60))
    flow.send(mail("userunknown@bouncehammer.jp", "Delete my account", "Please delete my account.", "<req2@x>"))
    assert [r.kind for r in flow.outbox() if r.ticket_id == 2][:1] == ["ack"]


def test_a_real_bounce_of_our_mail_suppresses_the_recipient(engine, clock, tmp_path, corpora):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "userunknown@bouncehammer.jp", 1)[0]      # the ack (and request for details)
    raw = (corpora / "sisimai-set-of-emails/bsd/rfc3464-01.eml").read_bytes()
    flow.send(raw.replace(RFC3464_RETURNED_ID, ack.message_id.encode()))
    assert _suppressed(app.engine) == {"userunknown@bouncehammer.jp": "bounced"}
    event = _events(app.engine, "address.suppressed")[0]
    assert event.ticket_id == 1 and json.loads(event.detail)["matched_by"] == "returned message-id"
    clock.advance(timedelta(days=60))     # long after any hourly limit, and outside the duplicate window
    before = len(flow.outbox())
    flow.send(mail("userunknown@bouncehammer.jp", "Delete my account", "Please delete my account.", "<req2@x>"))
    assert flow.ticket(2).requester == "userunknown@bouncehammer.jp"   # the ticket opens all the same
    assert len(flow.outbox()) == before                              # ... but nothing automatic goes out
    withheld = _events(app.engine, "mail.withheld")
    assert withheld and all(json.loads(e.detail)["reason"] == "suppressed: bounced" and e.ticket_id == 2
                            for e in withheld)


def test_a_bounce_returning_our_message_id_suppresses_the_address_we_sent_it_to(engine, clock, tmp_path, corpora):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "forwarder@example.org", 1)[0]
    # A real Postfix bounce, as if our ack had been forwarded on to the address that failed.
    raw = (corpora / "sisimai-set-of-emails/bsd/lhost-postfix-03.eml").read_bytes()
    original = b"<20140701000000.000000000000@e1.example.ne.jp>"
    assert original in raw
    flow.send(raw.replace(original, ack.message_id.encode()))
    assert _suppressed(app.engine) == {"forwarder@example.org": "bounced"}
    assert json.loads(_events(app.engine, "address.suppressed")[0].detail)["matched_by"] == "returned message-id"


def test_delay_warnings_and_bounces_of_mail_we_never_sent_suppress_nothing(engine, clock, tmp_path, corpora):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    assert _request(flow, "user@example.com", 1)
    flow.send((corpora / "flanker/bounce/no-mx.eml").read_bytes())          # "still trying": a delay
    flow.send((corpora / "sisimai-set-of-emails/bsd/lhost-postfix-03.eml").read_bytes())  # to a stranger
    assert read_bounce((corpora / "flanker/bounce/no-mx.eml").read_bytes()).delayed == {"user@example.com"}
    assert _suppressed(app.engine) == {}


def test_an_auto_reply_to_our_ack_is_not_a_bounce(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "away@example.org", 1)[0]
    flow.send(mail("away@example.org", "Automatic reply: Copy of my data", "I am away.", "<oof@x>",
                   Auto_Submitted="auto-replied", In_Reply_To=ack.message_id))
    flow.send(mail("MAILER-DAEMON@mx.example.net", "Delivery delayed", "Still trying.", "<dly@x>",
                   In_Reply_To=ack.message_id, Content_Type="text/plain"))
    assert _suppressed(app.engine) == {}


def test_a_synthetic_dsn_without_a_sample_still_links_by_message_id(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "gone@example.org", 1)[0]
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: support@esl.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ack.message_id}\r\n"
        "From: support@esl.example\r\n--b1--\r\n").encode()
    report = read_bounce(dsn)
    assert report.failed == {"gone@example.org"} and report.returned_ids == (ack.message_id,)
    flow.send(dsn)
    assert _suppressed(app.engine) == {"gone@example.org": "bounced"}


def test_a_read_receipt_for_our_ack_is_not_a_bounce(engine, clock, tmp_path):
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "reader@example.org", 1)[0]
    receipt = (
        "From: reader@example.org\r\nTo: support@esl.example\r\nSubject: Read: Copy of my data\r\n"
        f"Message-ID: <mdn-1@example.org>\r\nIn-Reply-To: {ack.message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="b2"\r\n\r\n'
        "--b2\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n"
        "--b2\r\nContent-Type: message/disposition-notification\r\n\r\n"
        f"Final-Recipient: rfc822; reader@example.org\r\nOriginal-Message-ID: {ack.message_id}\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n--b2--\r\n").encode()
    flow.send(receipt)
    assert _suppressed(app.engine) == {}


@pytest.mark.parametrize("path, failed", [
    ("sisimai-set-of-emails/bsd/rhost-tencent-01.eml", {"nekochan@qq.example.cn"}),        # QQ mail
    ("flufl-bounce/sina_01.txt", {"alan_t18@sina.com", "boboman76@sina.com"}),            # Sina, GB2312 header
    ("sisimai-set-of-emails/bsd/lhost-qmail-01.eml", {"kijitora@example.ne.jp"}),          # not a DSN at all
    ("mimekit/messages/feedback-report.txt", set()),                                      # a detector trips on it
])
def test_real_bounces_are_read_whatever_their_format(corpora, path, failed):
    assert read_bounce((corpora / path).read_bytes()).failed == failed


def test_no_sample_in_the_corpora_makes_the_bounce_reader_raise(corpora):
    folders = ("sisimai-set-of-emails", "flanker", "bounceparser-perl", "flufl-bounce", "mimekit", "mikel-mail")
    files = [f for folder in folders for f in sorted((corpora / folder).rglob("*"))
             if f.is_file() and f.name != "MANIFEST.md"]
    reports = [read_bounce(f.read_bytes()) for f in files]
    assert len(files) > 100 and sum(bool(r.failed) for r in reports) > 40


# --- lifting a suppression ----------------------------------------------------------------------

def _cli(config, *args, check=True):
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def test_staff_list_and_lift_suppressions_from_the_command_line(tmp_path, clock, database_url):
    config = tmp_path / "cfg.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[smtp]\nfrom_address = "support@esl.example"\n')
    engine = make_engine(database_url)
    init_db(engine)
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    ack = _request(flow, "gone@example.org", 1)[0]
    flow.send(mail("MAILER-DAEMON@mx.example.net", "Undelivered Mail", "user unknown", "<b1@x>",
                   References=ack.message_id))
    engine.dispose()
    listed = [json.loads(line) for line in _cli(config, "suppressions", "list").stdout.splitlines()]
    assert [(row["address"], row["reason"], row["bounce_message_id"]) for row in listed] == \
        [("gone@example.org", "bounced", "<b1@x>")]
    assert "lifted" in _cli(config, "suppressions", "remove", "Gone@Example.org", "--by", "ann").stdout
    assert _cli(config, "suppressions", "list").stdout == ""
    assert _cli(config, "suppressions", "remove", "gone@example.org", check=False).returncode == 1
    assert "suppressed" in _cli(config, "suppressions", "add", "robot@example.org", "--reason", "auto-responder").stdout
    lifted = _events(make_engine(database_url), "address.unsuppressed")
    assert [(e.actor, json.loads(e.detail)["address"]) for e in lifted] == [("staff:ann", "gone@example.org")]
    # With the address lifted, automatic mail may go to it again.
    clock.advance(timedelta(days=60))
    flow.send(mail("gone@example.org", "Delete my account", "Please delete my account.", "<req9@x>"))
    assert any(row.kind == "ack" and row.ticket_id == 2 for row in flow.outbox())
