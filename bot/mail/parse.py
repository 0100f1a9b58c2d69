"""Parse raw RFC 822 bytes into a ParsedMessage, repairing broken mail instead of raising."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.parser import BytesParser
from types import MappingProxyType

from bot.mail.body import Attachment, content_type_of, read_body
from bot.mail.charsets import decode_bytes
from bot.mail.addresses import read_mailboxes
from bot.mail.headers import (clean, header_map, header_text, index_headers, message_ids, parse_date,
                              raw_headers, raw_values)
from bot.mail.quotes import split_reply
from bot.mail.subject import normalize_subject

__all__ = ["Attachment", "ParsedMessage", "parse_message", "unparseable"]

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I)
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")   # a raw 8-bit byte, as the parser keeps it
# compat32 keeps header values as the raw strings we read ourselves (policy.default would model
# every header the parser touches, a third of the cost of a parse, for values we never use).
_PARSER = BytesParser(policy=policy.compat32)
_MAX_DEFECTS = 40
_UNPARSED = "message could not be parsed"


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    subject: str
    normalized_subject: str
    date: datetime | None
    text: str
    new_text: str
    quoted_text: str
    signature: str
    attachments: tuple[Attachment, ...]
    headers: Mapping[str, tuple[str, ...]] = field(hash=False)
    content_type: str = "text/plain"
    report_type: str | None = None
    return_path: str | None = None
    defects: tuple[str, ...] = ()
    sender_refusal: str = ""      # why from_address is empty: the From names no usable sender


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one message; never raises, whatever the input."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    try:
        raw = bytes(raw)
        return _parse(raw)
    except Exception as error:  # the last line of defence: keep the words, drop the structure
        return _unparsed(raw if isinstance(raw, bytes) else b"", error)


def _parse(raw: bytes) -> ParsedMessage:
    notes = []
    if raw.startswith((b"\xef\xbb\xbf", b"\r", b"\n")):
        # A byte-order mark or blank line before the headers hides every header from the parser.
        raw = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
        notes.append("byte-order mark or blank lines before the headers removed")
    msg = _PARSER.parsebytes(raw)
    # Raw 8-bit header bytes are most likely in the charset the body declares.
    hint_match = _CHARSET_PARAM.search(raw, 0, 65536)
    hint = hint_match.group(1).decode("ascii") if hint_match else None
    body = read_body(msg, hint)
    fields = raw_headers(msg)
    named = index_headers(fields)
    (from_name, from_address), refusal = _sender(raw_values(named, "from"), hint)
    reply_to = read_mailboxes(raw_values(named, "reply-to"), hint).found
    recipients = read_mailboxes(raw_values(named, "to") + raw_values(named, "cc"), hint).found
    subject = header_text(named, "subject", hint)
    dates = raw_values(named, "date")
    new_text, quoted_text, signature = split_reply(body.text)
    return ParsedMessage(
        message_id=next(iter(message_ids(raw_values(named, "message-id")[:1])), None),
        in_reply_to=message_ids(raw_values(named, "in-reply-to")),
        references=message_ids(raw_values(named, "references")),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(dict.fromkeys(addr for _, addr in recipients)),
        subject=subject,
        normalized_subject=normalize_subject(subject),
        date=parse_date(dates[0]) if dates else None,
        text=body.text,
        new_text=new_text,
        quoted_text=quoted_text,
        signature=signature,
        attachments=tuple(body.attachments),
        headers=MappingProxyType(header_map(fields, hint)),
        content_type=content_type_of(msg),
        report_type=body.report_type,
        return_path=_return_path(raw_values(named, "return-path")),
        defects=tuple(notes + _header_defects(named) + body.defects)[:_MAX_DEFECTS],
        sender_refusal=refusal,
    )


def unparseable(message: ParsedMessage) -> bool:
    """Rule: only the last-resort fallback read this message (its words, no structure)."""
    return bool(message.defects) and message.defects[0].startswith(_UNPARSED)


def _sender(values: list[str], hint: str | None = None) -> tuple[tuple[str, str], str]:
    """(name, address) of the one sender in From and ""; or ("", "") and why there is none."""
    mailboxes = read_mailboxes(values, hint)
    if len(mailboxes.found) > 1:
        return ("", ""), "From names several addresses: whose request it is is unclear"
    return (mailboxes.found[0] if mailboxes.found else ("", "")), mailboxes.refusal


def _return_path(values: list[str]) -> str | None:
    if not values:
        return None
    found = read_mailboxes(values[:1]).found
    return found[0][1] if found else clean(values[0].strip().strip("<>").strip().lower())


def _header_defects(named: dict[str, list[str]]) -> list[str]:
    notes = []
    for name in ("subject", "from", "to"):
        if any(_ESCAPED_BYTE.search(value) for value in named.get(name, ()) if not value.isascii()):
            notes.append(f"raw 8-bit bytes in {name.title()} header; charset guessed")
    return notes


def _unparsed(raw: bytes, error: Exception) -> ParsedMessage:
    text, _ = decode_bytes(raw)
    text = clean(text)
    try:  # the top-level header alone still says who sent it, for staff
        head = _PARSER.parsebytes(raw, headersonly=True)
        (from_name, from_address), refusal = _sender(raw_values(head, "from"))
        subject, ids = header_text(head, "subject"), message_ids(raw_values(head, "message-id")[:1])
    except Exception:
        from_name = from_address = subject = ""
        refusal, ids = "the header could not be read", ()
    return ParsedMessage(
        message_id=next(iter(ids), None), in_reply_to=(), references=(), from_address=from_address,
        from_name=from_name, reply_to=None, to=(), subject=subject, normalized_subject=normalize_subject(subject),
        date=None, text=text, new_text=text, quoted_text="", signature="", attachments=(), headers=MappingProxyType({}),
        defects=(f"{_UNPARSED} ({type(error).__name__}); kept as plain text",), sender_refusal=refusal,
    )
