"""What a bounce reports: recipients that failed for good or for now, and the Message-IDs of mail it returns."""
from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message

from bot.mail.headers import message_ids

log = logging.getLogger(__name__)
# The detectors log every run at INFO and every trip with a traceback at ERROR; a trip only
# means "no recipients found", which read_bounce notes itself.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

# A Message-ID line in returned headers, also when quoted ("> ") or folded onto the next line.
_RETURNED_ID = re.compile(r"^[ \t>]*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# Used only when no detector found a recipient: a delay warning must not read as a bounce.
_DELAY_SUBJECT = re.compile(r"delay|warning|will\s+(?:be\s+)?retr|not\s+(?:yet\s+)?been\s+delivered|still\s+trying"
                            r"|延迟|延遲|延误", re.IGNORECASE)
_TEXT_PARTS = ("text/plain", "text/rfc822-headers", "message/delivery-status")
_MAX_TEXT = 200_000   # returned headers sit near the top of their part


@dataclass(frozen=True)
class BounceReport:
    failed: frozenset[str]          # lower-case addresses the bounce says failed permanently
    delayed: frozenset[str]         # ... or only for now (a delay warning)
    returned_ids: tuple[str, ...]   # Message-IDs of the returned mail, in order, without repeats
    warning: bool = False           # no recipient found, and the subject reads like a delay warning


def read_bounce(raw: bytes) -> BounceReport:
    """Read a delivery report in any of the formats Mailman's detectors know; never raises."""
    from flufl.bounce import all_failures   # here, not above: only delivery reports need the detectors
    msg = email.message_from_bytes(raw)
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # noqa: BLE001 - a detector tripping on odd mail means "no recipients found"
        log.info("bounce detectors gave up: %s", type(exc).__name__)
        temporary, permanent = frozenset(), frozenset()
    failed, delayed = _addresses(permanent), _addresses(temporary) - _addresses(permanent)
    warning = not (failed or delayed) and bool(_DELAY_SUBJECT.search(str(msg.get("subject", ""))))
    return BounceReport(failed=failed, delayed=delayed, returned_ids=_returned_ids(msg), warning=warning)


def _addresses(found: frozenset[bytes]) -> frozenset[str]:
    return frozenset(address.decode("ascii", "replace").strip().lower() for address in found if b"@" in address)


def _returned_ids(msg: Message) -> tuple[str, ...]:
    ids: list[str] = []
    for part in msg.walk():
        if part is not msg:
            ids.extend(str(value) for value in part.get_all("message-id", ()))  # a message/rfc822 part
        if part.get_content_type() in _TEXT_PARTS and not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            ids.extend(_RETURNED_ID.findall(payload[:_MAX_TEXT].decode("latin-1")))
    return message_ids(ids)
