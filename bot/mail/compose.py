"""Builds our outgoing messages: threading headers, our own Message-ID and X-Loop, auto-reply marking."""
from __future__ import annotations

import secrets

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from bot.mail.policies import DEFAULT, SMTP  # email.policy's, faster


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def new_message_id(from_address: str) -> str:
    """160 bits from `secrets`: a Message-ID nobody can claim before we send it (make_msgid uses `random`)."""
    return f"<{secrets.token_hex(20)}@{domain_of(from_address)}>"


def compose(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    text: str,
    message_id: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str | None = "auto-replied",
    kind: str = "",
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    html: str | None = None,
) -> bytes:
    """The message as bytes ready for SMTP (CRLF line ends, encoded headers)."""
    msg = EmailMessage(policy=DEFAULT)
    msg["From"] = formataddr((from_name, from_address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [ref for ref in references if ref] + ([in_reply_to] if in_reply_to else [])
    if refs:
        msg["References"] = " ".join(dict.fromkeys(refs))  # keep order, drop repeats
    # Our own loop marker, on every mail: whatever comes back carrying it is never answered.
    msg["X-Loop"] = from_address
    if kind:
        msg["X-Supportbot-Kind"] = kind  # lets mail filters (and tests) tell ours apart
    if auto_submitted:
        # RFC 3834: tells well-behaved auto-responders not to answer us.
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text, charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")  # multipart/alternative: text first
    for filename, content_type, data in attachments:  # (name, "type/subtype", bytes)
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    # An internationalised address stays readable only in a UTF-8 header (RFC 6532), sent with SMTPUTF8.
    return msg.as_bytes(policy=SMTP if to.isascii() else SMTP.clone(utf8=True))
