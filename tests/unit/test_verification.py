"""Verification end to end through the pipeline: nothing is verified for someone who merely wrote From."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlmodel import Session, select

from bot.accounts.embedded import import_accounts, read_account_file
from bot.app import build_app
from bot.config import Settings
from bot.db import transaction
from bot.fetcher import drain_folder
from bot.models import AuditEvent, Challenge, OutboxMessage, Ticket
from bot.verify.flow import NotVerified, require_verified
from bot.verify.sms import LoggingSmsSender
from tests.support.memory_mailbox import MemoryMailbox

ACCOUNTS = """account_id,nickname,phone,email,wechat_bound,status
A1,alice_c,+86 138 0013 8000,owner@example.org,true,active
A2,bobby,13900139000,shared@example.org,false,active
A3,bobby2,139-0013-9001,shared@example.org,false,active
A4,nomail,13700137000,,true,active
"""
TRUSTED_PASS = "mx.esl.example; spf=pass smtp.mailfrom=owner@example.org; dmarc=pass header.from=example.org"


@pytest.fixture
def app(engine, clock, tmp_path):
    settings = Settings(smtp={"from_address": "support@esl.example"},
                        verification={"trusted_authserv_ids": ["mx.esl.example"]})
    app = build_app(settings, engine=engine, clock=clock, create_schema=False, sms=LoggingSmsSender())
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    with transaction(app.sessions) as session:
        import_accounts(session, read_account_file(path))
    return app


def mail(sender, subject, body, msgid, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "support@esl.example", subject, msgid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


class Flow:
    def __init__(self, app):
        self.app, self.box = app, MemoryMailbox()

    def send(self, raw: bytes):
        self.box.add(raw)
        return drain_folder(self.box, self.app.pipeline, folder="INBOX")

    def ticket(self, n=1) -> Ticket:
        with Session(self.app.engine) as s:
            return s.exec(select(Ticket).where(Ticket.id == n)).one()

    def outbox(self, kind=None) -> list[OutboxMessage]:
        with Session(self.app.engine) as s:
            rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            return [r for r in rows if kind is None or r.kind == kind]

    def code_and_id(self) -> tuple[str, str, str]:
        row = self.outbox("challenge")[-1]
        body = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
        return re.search(r"\d{4}-\d{4}", body).group(), row.message_id, row.to_address

    def actions(self) -> list[str]:
        with Session(self.app.engine) as s:
            return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]

    def reply(self, sender, text, in_reply_to, n) -> None:
        self.send(mail(sender, "Re: [ESL-000001] code", text, f"<r{n}@x>", In_Reply_To=in_reply_to))


@pytest.fixture
def flow(app):
    return Flow(app)


def test_forged_deletion_request_only_challenges_the_real_owner_who_then_verifies(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account and all data.", "<f@x>"))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id) == ("challenged", "A1")
    with pytest.raises(NotVerified):
        require_verified(ticket)
    assert {row.to_address for row in flow.outbox()} == {"owner@example.org"}  # nobody else hears a thing
    code, challenge_id, to = flow.code_and_id()
    flow.reply("owner@example.org", f"It was me: {code}", challenge_id, 1)
    ticket = flow.ticket()
    assert ticket.verification == "verified"
    require_verified(ticket)
    assert flow.actions()[-1] == "verification.verified"
    assert {"account.match", "verification.headers_not_enough", "verification.challenged"} <= set(flow.actions())


@pytest.mark.parametrize("results", [
    None,                                                                     # no header at all
    "mx.esl.example; dmarc=fail header.from=example.org",                      # our MX says fail
    "evil.example; dmarc=pass header.from=example.org",                        # forged by a stranger
    "mx.esl.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example",  # unaligned
])
def test_spoofed_or_unauthenticated_sender_is_challenged(flow, results):
    headers = {"Authentication_Results": results} if results else {}
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my data.", "<s@x>", **headers))
    assert flow.ticket().verification == "challenged"


def test_trusted_dmarc_pass_from_the_registered_address_verifies(flow):
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my personal data.", "<v@x>",
                   Authentication_Results=TRUSTED_PASS))
    assert flow.ticket().verification == "verified" and flow.outbox("challenge") == []


def test_wrong_code_five_times_locks_even_the_right_one(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<w@x>"))
    code, msgid, _ = flow.code_and_id()
    wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
    for n in range(5):
        flow.reply("owner@example.org", f"code {wrong}", msgid, n)
    flow.reply("owner@example.org", f"code {code}", msgid, 9)
    ticket = flow.ticket()
    assert (ticket.verification, ticket.waiting_on) == ("challenged", "staff")  # locked: staff decide
    assert len(flow.outbox("challenge")) == 1  # and no fresh code on demand
    with Session(flow.app.engine) as s:
        assert s.exec(select(Challenge)).one().status == "locked"


def test_expired_code_does_not_verify(flow, clock):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<e@x>"))
    code, msgid, _ = flow.code_and_id()
    clock.advance(timedelta(hours=73))
    flow.reply("owner@example.org", code, msgid, 1)
    assert flow.ticket().verification == "challenged"
    assert "expired" in flow.app.engine.connect().exec_driver_sql(
        "SELECT detail FROM auditevent ORDER BY id DESC LIMIT 1").scalar()


def test_code_from_another_address_or_reused_never_verifies(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<o@x>"))
    code, msgid, _ = flow.code_and_id()
    flow.reply("attacker@evil.example", f"code {code}", msgid, 1)
    assert flow.ticket().verification == "challenged"
    flow.reply("owner@example.org", f"code {code}", msgid, 2)
    assert flow.ticket().verification == "verified"
    # A second request gets a fresh code; the old one is worthless there.
    flow.send(mail("owner@example.org", "Also send my data", "Please send me a copy of my data.", "<o2@x>"))
    second = flow.ticket(2)
    assert second.verification == "challenged"
    new_code, new_id, _ = flow.code_and_id()
    flow.send(mail("owner@example.org", "Re: code", f"code {code}", "<r9@x>", In_Reply_To=new_id))
    assert flow.ticket(2).verification == "challenged" and code != new_code


def test_sender_matching_two_accounts_is_not_guessed_then_a_phone_number_decides(flow):
    flow.send(mail("shared@example.org", "Delete my data", "Please delete all my personal data.", "<t@x>"))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id, ticket.waiting_on) == ("unknown", None, "requester")
    ask = flow.outbox("ask-details")[0]
    assert ask.to_address == "shared@example.org"
    flow.send(mail("shared@example.org", "Re: [ESL-000001]", "My number is 139-0013-9001.", "<t2@x>",
                   In_Reply_To=ask.message_id))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id) == ("challenged", "A3")


@pytest.mark.parametrize("written", ["+86 138 0013 8000", "13800138000", "138-0013-8000", "(+86) 138 0013 8000"])
def test_unknown_sender_naming_a_phone_gets_code_at_the_registered_address_only(flow, written):
    flow.send(mail("new@elsewhere.example", "删除账号", f"请删除我的账号，手机号 {written}", "<p@x>"))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id) == ("challenged", "A1")
    code, msgid, to = flow.code_and_id()
    assert to == "owner@example.org"          # never the unverified sender
    flow.reply("new@elsewhere.example", code, msgid, 1)
    assert flow.ticket().verification == "challenged"


def test_account_without_email_gets_an_sms_code(flow):
    flow.send(mail("someone@example.org", "注销", "请注销账号，昵称：nomail", "<n@x>"))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id) == ("challenged", "A4")
    assert flow.app.sms.sent == [("+8613700137000", "ESL-000001")]
    with Session(flow.app.engine) as s:
        challenge = s.exec(select(Challenge)).one()
    assert (challenge.channel, challenge.reply_from) == ("sms", "someone@example.org")
    detail = [json.loads(e) for e in flow.app.engine.connect().exec_driver_sql(
        "SELECT detail FROM auditevent WHERE action = 'verification.challenged'").scalars()]
    assert detail[0]["sent_to"] == "+86137****7000"   # the audit trail does not spell the number out


def test_other_requests_need_no_verification_and_the_code_leaves_no_plaintext(flow):
    flow.send(mail("erin@example.org", "How do I change my avatar?", "Where is the setting?", "<h@x>"))
    assert flow.ticket().verification == "pending"
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<d@x>"))
    code, _, _ = flow.code_and_id()
    with Session(flow.app.engine) as s:
        challenge = s.exec(select(Challenge)).one()
    assert code.replace("-", "") not in challenge.code_hash and len(challenge.code_hash) == 128
