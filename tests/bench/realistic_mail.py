"""Requests shaped like real inbound mail (relay headers, DKIM, HTML part, quotes, signatures) for benchmarks."""
from __future__ import annotations

import base64
import random
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

from tests.support.mailgen import REQUESTS

NAMES_EN = ["Alice Walker", "Bob Chen", "Carol Smith", "David Li", "Emma Jones", ""]
NAMES_ZH = ["王芳", "李娜", "张伟", "刘洋", "陈静", ""]
FILLER_EN = [
    "I have been a user of the app for about three years and I registered with this address.",
    "I read your privacy policy, which says you answer such requests within fifteen days.",
    "Please confirm when this has been done and let me know if you need anything else from me.",
    "My account was created on my old phone; I no longer have access to that device.",
]
FILLER_ZH = [
    "我用这个邮箱注册了大概三年，最近换了手机。",
    "你们的隐私政策里说会在十五天内答复，请按规定处理。",
    "处理完成后请回复确认，如果需要我提供其他信息也请告诉我。",
    "我的账号是用以前的手机号注册的，现在那个号码已经不用了。",
]
SIGNATURES = ["-- \n{name}\nSent from my iPhone", "-- \n{name}", "发自我的iPhone", "\n谢谢！\n{name}", ""]
QUOTE = ("On Mon, 3 Mar 2025 at 10:02, ESL Support <support@esl.example> wrote:\n"
         "> Thank you for contacting ESL. For questions about your account, please see\n"
         "> the help centre in the app, or reply to this message.\n> \n> ESL Support\n")
START = datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc)


def _trace_headers(rng: random.Random, at: datetime) -> bytes:
    """What relays and our MX put on top, folded as they fold it (written raw, as they write it)."""
    hops = [("mx1.esl.example", "mail-sor-f41.google.com", "209.85.220.41"),
            ("mail-sor-f41.google.com", "smtp.example.org", "10.12.0.7"),
            ("smtp.example.org", "localhost", "127.0.0.1")]
    lines = [f"Received: from {frm} ({frm} [{ip}])\r\n\tby {by} with ESMTPS id {rng.getrandbits(40):x};\r\n"
             f"\t{format_datetime(at - timedelta(seconds=i))}" for i, (by, frm, ip) in enumerate(hops)]
    signature = base64.b64encode(rng.randbytes(256)).decode()
    lines.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n"
                 f"\tt={int(at.timestamp())}; h=from:to:subject:date:message-id;\r\n"
                 f"\tbh={base64.b64encode(rng.randbytes(32)).decode()};\r\n\tb="
                 + "\r\n\t ".join(signature[i:i + 70] for i in range(0, len(signature), 70)))
    lines.append("Authentication-Results: mx1.esl.example;\r\n\tdkim=pass header.d=example.org;"
                 " spf=pass; dmarc=pass")
    return ("\r\n".join(lines) + "\r\n").encode()


def realistic_request(n: int, *, message_id: str | None = None) -> bytes:
    """The n-th request: English or Chinese, 3-12 KB, some with a quote or a small attachment."""
    rng = random.Random(n)
    subject, body = REQUESTS[rng.randrange(len(REQUESTS))]
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in subject + body)
    name = rng.choice(NAMES_ZH if chinese else NAMES_EN)
    filler = rng.sample(FILLER_ZH if chinese else FILLER_EN, rng.randint(1, 4))
    text = "\n\n".join([body, *filler, rng.choice(SIGNATURES).format(name=name or "ESL user")])
    if rng.random() < 0.3:
        text += "\n\n" + QUOTE
    at = START + timedelta(seconds=n * 7)
    msg = EmailMessage()
    msg["Return-Path"] = f"<user{n}@example.org>"
    msg["From"] = f"{name} <user{n}@example.org>" if name else f"user{n}@example.org"
    msg["To"] = "ESL Support <support@esl.example>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id or f"<req-{n}.{rng.getrandbits(32):x}@example.org>"
    msg["X-Mailer"] = rng.choice(["iPhone Mail (20D47)", "Foxmail 7.2", "Microsoft Outlook 16.0"])
    charset = "gb18030" if chinese and rng.random() < 0.3 else "utf-8"
    msg.set_content(text, charset=charset)
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
    msg.add_alternative(f"<html><head><meta charset=\"{charset}\"></head><body><div dir=\"ltr\">"
                        f"{paragraphs}</div></body></html>", subtype="html", charset=charset)
    if rng.random() < 0.05:
        msg.add_attachment(rng.randbytes(24_000), maintype="image", subtype="png", filename="screenshot.png")
    return _trace_headers(rng, at) + msg.as_bytes(policy=SMTP)
