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


# Questions that are no privacy right ("other"), each a topic of its own.
OTHER_TOPICS = [
    ("Do you ship to Canada?", "Hi, do you ship orders to Canada? I could not find it in the app."),
    ("Password reset e-mail never arrives", "I asked for a password reset three times but the e-mail never arrives."),
    ("App crashes on start", "Since the last update the app crashes every time I open it on my Android phone."),
    ("Refund for my subscription", "I was charged twice for the yearly subscription, please refund one payment."),
    ("How do I change the language?", "How can I switch the app from Chinese to English? I cannot find the setting."),
    ("Partnership proposal", "We are a marketing agency and would like to discuss a partnership with ESL."),
    ("支付失败", "我用微信支付的时候一直提示失败，但是钱已经扣了，请帮忙查一下。"),
    ("无法登录", "我的手机收不到验证码，登录不了，请问怎么办？"),
    ("Feature request: dark mode", "Please add a dark mode, the white screen hurts my eyes at night."),
    ("Invoice needed", "Could you send me an invoice for my purchase last month? I need it for my company."),
]
# The right each privacy request in REQUESTS asks for, in order.
REQUEST_RIGHTS = ["deletion", "access", "correction", "deletion", "access", "correction", "deletion", "access"]


def mixed_mailbox(n: int = 200, *, senders: int = 60, seed: int = 13) -> list[tuple[bytes, str]]:
    """n mails from a small pool of senders: privacy requests, other questions, and some sent again.
    Each comes with its topic: the right it asks for ("right:deletion"), or "other:<subject>"."""
    rng = random.Random(seed)
    sent: dict[str, list[tuple[str, str, str]]] = {}
    box: list[tuple[bytes, str]] = []
    for i in range(n):
        sender = f"person{rng.randrange(senders)}@example.net"
        earlier = sent.get(sender, [])
        if earlier and rng.random() < 0.15:   # the same mail again, a few words added
            subject, body, topic = rng.choice(earlier)
            body = f"{body}\n\nSending this again, as I have not heard back."
        elif rng.random() < 0.5:
            k = rng.randrange(len(REQUESTS))
            (subject, body), topic = REQUESTS[k], f"right:{REQUEST_RIGHTS[k]}"
        else:
            subject, body = OTHER_TOPICS[rng.randrange(len(OTHER_TOPICS))]
            topic = f"other:{subject}"
        sent.setdefault(sender, []).append((subject, body, topic))
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, "support@esl.example", subject
        msg["Message-ID"] = f"<mixed-{seed}-{i}@example.net>"
        msg.set_content(body + "\n")
        box.append((msg.as_bytes(policy=SMTP), topic))
    return box
