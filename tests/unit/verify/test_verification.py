"""Verification end to end through the pipeline: nothing is verified for someone who merely wrote From."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.config import SmtpSettings
from bot.mail.sink import SmtpSink
from bot.store.models import Challenge
from bot.outbox.sender import drain_outbox
from bot.verify.flow import NotVerified, require_verified
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app
from tests.support.refs import plain

@pytest.fixture
def app(engine, clock, tmp_path):
    return make_app(engine, clock, tmp_path)


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
    assert flow.actions()[-2:] == ["verification.verified", "draft.created"]
    assert {"account.match", "verification.headers_not_enough", "verification.challenged"} <= set(flow.actions())


@pytest.mark.parametrize("results", [
    None,                                                                     # no header at all
    "mx.esl.example; dmarc=fail header.from=example.org",                      # our MX says fail
    "evil.example; dmarc=pass header.from=example.org",                        # forged by a stranger
    "mx.esl.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example",  # unaligned
    "mx.esl.example; dkim=pass header.d=org",                                  # a bare public suffix
    "mx.esl.example; spf=pass smtp.mailfrom=x@org",
    "mx.esl.example; dmarc=pass header.from=org",
    "mx.esl.example; dkim=pass header.d=le.org",                               # a suffix of the name, not a parent
])
def test_spoofed_or_unauthenticated_sender_is_challenged(flow, results):
    headers = {"Authentication_Results": results} if results else {}
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my data.", "<s@x>", **headers))
    assert flow.ticket().verification == "challenged"


def test_trusted_dmarc_pass_from_the_registered_address_verifies(flow):
    flow.send(mail("owner@example.org", "Send me my data", "Please send me a copy of my personal data.", "<v@x>",
                   Authentication_Results=TRUSTED_PASS))
    assert flow.ticket().verification == "verified" and flow.outbox("challenge") == []


def test_each_code_in_a_reply_counts_as_an_attempt(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<w@x>"))
    code, msgid, _ = flow.code_and_id()
    wrong = [f"{n}{n}{n}{n}-000{n}" for n in range(1, 7) if f"{n}{n}{n}{n}-000{n}" != code][:6]
    flow.reply("owner@example.org", "codes " + " ".join([*wrong, code]), msgid, 1)   # seven codes in one reply
    ticket = flow.ticket()
    assert (ticket.verification, ticket.waiting_on) == ("challenged", "staff")
    with Session(flow.app.engine) as s:
        challenge = s.exec(select(Challenge)).one()
    assert (challenge.status, challenge.attempts) == ("locked", 5)


def test_the_right_code_after_a_wrong_one_in_the_same_reply_verifies_and_counts_one_attempt(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<w@x>"))
    code, msgid, _ = flow.code_and_id()
    wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
    flow.reply("owner@example.org", f"typo: {wrong}, sorry, it is {code}", msgid, 1)
    assert flow.ticket().verification == "verified"
    with Session(flow.app.engine) as s:
        assert s.exec(select(Challenge)).one().attempts == 1


def test_wrong_code_five_times_locks_even_the_right_one(flow):
    flow.send(mail("owner@example.org", "Delete my account", "Please delete my account.", "<w@x>"))
    code, msgid, _ = flow.code_and_id()
    wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
    for n in range(5):
        flow.reply("owner@example.org", f"code {wrong}", msgid, n)
    flow.reply("owner@example.org", f"code {code}", msgid, 9)
    ticket = flow.ticket()
    assert (ticket.verification, ticket.waiting_on) == ("challenged", "staff")  # locked: staff decide
    assert [row.kind for row in flow.outbox()] == ["ack-code"]  # and no fresh code on demand
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
    ask = flow.outbox("ack")[0]   # the acknowledgement asks which account
    assert ask.to_address == "shared@example.org" and len(flow.outbox()) == 1
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


def test_account_without_email_gets_an_sms_code(flow, smtp):
    flow.send(mail("someone@example.org", "注销", "请注销账号，昵称：nomail", "<n@x>"))
    ticket = flow.ticket()
    assert (ticket.verification, ticket.account_id) == ("challenged", "A4")
    assert flow.app.sms.sent == []                      # queued with the ticket, sent after the commit
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    asyncio.run(drain_outbox(flow.app.sessions, SmtpSink(settings), flow.app.clock, settings, sms=flow.app.sms))
    assert [plain(sent) for sent in flow.app.sms.sent] == [("+8613700137000", "ESL-000001")]
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
