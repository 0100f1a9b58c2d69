"""Varied human requests and machine mail for integration tests (synthetic, bilingual)."""
from __future__ import annotations

import random
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REQUESTS = [
    ("Delete my account", "I no longer use ESL. Please delete my account and all my personal data."),
    ("Copy of my data", "Please send me a copy of all the personal information you hold about me."),
    ("Wrong phone number", "The phone number on my account is wrong, please correct it to 139 1234 5678."),
    ("注销账号", "我已经不再使用了，请注销我的账号并删除我的个人信息。"),
    ("查阅个人信息", "根据个人信息保护法，我要求查阅并复制你们收集的我的个人信息。"),
    ("更正昵称", "我的昵称登记错了，请帮我更正。"),
    ("", "Please erase everything you have about me, I withdraw my consent."),
    ("Data request", "What personal data do you store about me? Please export it and send it to me."),
]


def request(n: int, *, sender: str | None = None, rng: random.Random | None = None) -> bytes:
    rng = rng or random.Random(n)
    subject, body = REQUESTS[rng.randrange(len(REQUESTS))]
    msg = EmailMessage()
    msg["From"] = sender or f"user{n}@example.org"
    msg["To"] = "support@esl.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<req-{n}@example.org>"
    msg.set_content(f"{body}\n\n(ref {n})\n")
    return msg.as_bytes(policy=SMTP)


def auto_reply(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = f"away{n}@example.com", "support@esl.example"
    msg["Subject"] = "Automatic reply: out of office"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = f"<auto-{n}@example.com>"
    msg.set_content("I am out of the office until next week.")
    return msg.as_bytes(policy=SMTP)


def bounce(n: int) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: support@esl.example\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-{n}@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1--\r\n"
    ).encode()


def corpus_machine_mail(corpora: Path) -> list[bytes]:
    """Real RFC 3834 auto-replies from the shared corpora, if present."""
    picks = sorted((corpora / "sisimai-set-of-emails" / "bsd").glob("rfc3834-*.eml"))
    return [p.read_bytes() for p in picks]
