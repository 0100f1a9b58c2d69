"""What the evidence pack withholds: codes however the mail is encoded, other people in audit details."""
from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage

from bot.tickets.evidence.redact import OTHER, WITHHELD_CODE, audit_detail, mail_without_codes


def _mail(body: str, cte: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "owner@example.org", "support@esl.example", "Re: code"
    msg.set_content(body, cte=cte, charset="utf-8")
    return msg.as_bytes()


def test_codes_are_withheld_in_base64_and_quoted_printable_bodies():
    for cte in ("base64", "quoted-printable"):
        raw = _mail("验证码是 4821-0937，谢谢。\nMy code: 48210937\n", cte)
        if cte == "base64":
            assert b"4821" not in raw   # encoded: a byte search alone would miss it
        clean = mail_without_codes(raw)
        msg = message_from_bytes(clean, policy=policy.default)
        text = msg.get_body(("plain",)).get_content()
        assert "4821" not in text and text.count(WITHHELD_CODE) == 2 and "谢谢" in text
        assert msg["X-Evidence-Redacted"]


def test_a_mail_without_codes_is_kept_byte_for_byte():
    raw = _mail("Please delete my account. Phone 13800138000.\n", "7bit")
    assert mail_without_codes(raw) == raw


def test_other_accounts_and_addresses_in_details_are_withheld():
    own = {"owner@example.org", "A1"}
    data, withheld = audit_detail("account.match", json.dumps({"candidates": ["A1", "A2"], "status": "ambiguous"}), own)
    assert data["candidates"] == ["A1", OTHER] and withheld == ["candidates"]
    data, withheld = audit_detail("verification.code_rejected",
                                  json.dumps({"sender": "stranger@example.net", "reason": "reply from another address"}),
                                  own)
    assert data["sender"] == OTHER and withheld == ["sender"]
    data, withheld = audit_detail("mail.queued", json.dumps({"to": "owner@example.org", "kind": "ack"}), own)
    assert data["to"] == "owner@example.org" and withheld == []
