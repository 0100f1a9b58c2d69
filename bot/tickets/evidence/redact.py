"""What an evidence pack leaves out: one-time codes, and other people's addresses and accounts."""
from __future__ import annotations

import json
import re
from email import message_from_bytes, policy

from bot.verify.codes import CODE_SHAPE

WITHHELD_CODE = "[one-time code withheld]"
OTHER = "[another person: withheld]"
_DIGITS = re.compile(rb"\d{4}[ \-]?\d{4}")


def without_codes(text: str) -> str:
    return CODE_SHAPE.sub(WITHHELD_CODE, text)


def mail_without_codes(raw: bytes) -> bytes:
    """The mail as stored, or (when a text part holds something shaped like a code) with it withheld."""
    if not _DIGITS.search(raw) and b"base64" not in raw.lower() and b"quoted-printable" not in raw.lower():
        return raw   # nothing could hide a code: the stored bytes exactly
    msg = message_from_bytes(raw, policy=policy.default)
    changed = False
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError):
            continue
        clean = without_codes(text)
        if clean != text:
            part.set_content(clean, subtype=part.get_content_subtype(), charset="utf-8")
            changed = True
    if not changed:
        return raw
    msg["X-Evidence-Redacted"] = "one-time verification codes withheld"
    return msg.as_bytes(policy=policy.SMTP)


def audit_detail(action: str, detail: str, own: set[str]) -> tuple[dict, list[str]]:
    """The detail with other people's accounts and addresses withheld; `own`: this requester's."""
    data = json.loads(detail)
    withheld = []
    if isinstance(data.get("candidates"), list):
        kept = [c if c in own else OTHER for c in data["candidates"]]
        if kept != data["candidates"]:
            data["candidates"], withheld = kept, withheld + ["candidates"]
    for key in ("sender", "to"):
        value = data.get(key)
        if isinstance(value, str) and "@" in value and value.lower() not in own:
            data[key], withheld = OTHER, withheld + [key]
    if isinstance(data.get("tickets"), list):
        data["tickets"], withheld = OTHER, withheld + ["tickets"]
    return data, withheld
