"""Builds our outgoing messages: threading headers, our own Message-ID and X-Loop, auto-reply marking."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache

from bot.mail.mime_text import CONTENT_HEADERS, header_line, text_body
from bot.mail.policies import DEFAULT, SMTP  # email.policy's, faster


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def new_message_id(from_address: str) -> str:
    """160 bits from `secrets`: a Message-ID nobody can claim before we send it (make_msgid uses `random`)."""
    return f"<{secrets.token_hex(20)}@{domain_of(from_address)}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMail:
    """One mail to write, as compose() and compose_mime() take it."""
    from_address: str
    from_name: str
    to: str
    subject: str
    text: str
    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-replied"
    kind: str = ""
    attachments: tuple[tuple[str, str, bytes], ...] = ()   # (name, "type/subtype", bytes)
    html: str | None = None


def compose(mail: OutgoingMail) -> bytes:
    """The message as bytes ready for SMTP (CRLF line ends, encoded headers).

    Plain text to an ASCII address (nearly all we send) is written directly, byte for byte as
    EmailMessage writes it (tests/unit/mail/test_compose.py compares the two): the fixed headers
    are folded once per sender, the rest only when they need folding or encoding. Mail with html
    or attachments, or to an internationalised address, is built as an EmailMessage."""
    if mail.html is not None or mail.attachments or not mail.to.isascii():
        return compose_mime(mail)
    sender_lines, loop_line = _sender_lines(mail.from_name, mail.from_address)
    head = [sender_lines, header_line("To", mail.to), header_line("Subject", mail.subject),
            header_line("Date", format_datetime(mail.date)), header_line("Message-ID", mail.message_id)]
    if mail.in_reply_to:
        head.append(header_line("In-Reply-To", mail.in_reply_to))
    if refs := _references(mail.references, mail.in_reply_to):
        head.append(header_line("References", refs))
    head.append(loop_line)
    if mail.kind:
        head.append(header_line("X-Supportbot-Kind", mail.kind))
    if mail.auto_submitted:
        head.append(header_line("Auto-Submitted", mail.auto_submitted) + b"X-Auto-Response-Suppress: All\r\n")
    encoding, body = text_body(mail.text)
    head.append(CONTENT_HEADERS[encoding])
    return b"".join(head) + b"\r\n" + body


def _references(references: tuple[str, ...], in_reply_to: str | None) -> str:
    refs = [ref for ref in references if ref] + ([in_reply_to] if in_reply_to else [])
    return " ".join(dict.fromkeys(refs))  # keep order, drop repeats


@lru_cache(maxsize=16)
def _sender_lines(from_name: str, from_address: str) -> tuple[bytes, bytes]:
    """From and X-Loop, folded by the policy once per sender."""
    return (SMTP.fold_binary("From", SMTP.header_store_parse("From", formataddr((from_name, from_address)))[1]),
            header_line("X-Loop", from_address))


def compose_mime(mail: OutgoingMail) -> bytes:
    """The message as an EmailMessage writes it: any mail, the reference the direct path matches."""
    msg = EmailMessage(policy=DEFAULT)
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if refs := _references(mail.references, mail.in_reply_to):
        msg["References"] = refs
    # Our own loop marker, on every mail: whatever comes back carrying it is never answered.
    msg["X-Loop"] = mail.from_address
    if mail.kind:
        msg["X-Supportbot-Kind"] = mail.kind  # lets mail filters (and tests) tell ours apart
    if mail.auto_submitted:
        # RFC 3834: tells well-behaved auto-responders not to answer us.
        msg["Auto-Submitted"] = mail.auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(mail.text, charset="utf-8")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", charset="utf-8")  # multipart/alternative: text first
    for filename, content_type, data in mail.attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    # An internationalised address stays readable only in a UTF-8 header (RFC 6532), sent with SMTPUTF8.
    return msg.as_bytes(policy=SMTP if mail.to.isascii() else SMTP.clone(utf8=True))
