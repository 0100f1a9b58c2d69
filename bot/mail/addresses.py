"""Addresses are parsed, not guessed: a header gives its mailboxes (RFC 5322) or a clear refusal."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from email.errors import InvalidHeaderDefect, NonASCIILocalPartDefect

from bot.mail.charsets import repair_8bit
from bot.mail.headers import clean
from bot.mail.policies import DEFAULT

MAX_ADDRESS = 254   # RFC 5321's limit; a longer "address" cannot be mailed and only burdens indexes
_SPACES = re.compile(r"\s+")
# RFC 5321 Dot-string @ host name or address literal, with RFC 6531's UTF-8 (no controls, no C1).
_UTF8 = "\u00a0-\ud7ff\ue000-\U0010ffff"
_ATOM = rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~\-{_UTF8}]+"
_LABEL = rf"[A-Za-z0-9{_UTF8}](?:[A-Za-z0-9\-{_UTF8}]*[A-Za-z0-9{_UTF8}])?"
_MAILBOX = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}(?:\.{_LABEL})*|\[[A-Za-z0-9.:\-]+\])")


@dataclass(frozen=True)
class Mailboxes:
    """What one header names: (display name, lower-case addr-spec) pairs, or none and why."""

    found: tuple[tuple[str, str], ...] = ()
    refusal: str = ""


def read_mailboxes(values: Iterable[str], hint: str | None = None) -> Mailboxes:
    """The mailboxes of a header's raw values, strictly by RFC 5322 (email.headerregistry).

    A quoted local part is kept whole ('"x li@a.example"@b.example' is an address at b.example)
    and never searched for an address inside it; a value with any invalid part names nobody."""
    values = [value for value in values if value.strip()]
    if not values:
        return Mailboxes(refusal="no address given")
    found: list[tuple[str, str]] = []
    for value in values:
        try:
            header = DEFAULT.header_factory("to", repair_8bit(value, hint))
            mailboxes = header.addresses
        except Exception as exc:  # noqa: BLE001 - the stdlib's parser has raised on odd input before
            return _refused(value, f"cannot be parsed ({type(exc).__name__})")
        invalid = [d for d in header.defects if isinstance(d, InvalidHeaderDefect) and not _cosmetic(d)]
        if invalid:
            return _refused(value, str(invalid[0]).strip().rstrip(")"))
        for mailbox in mailboxes:
            address = clean(mailbox.addr_spec).lower()
            if not mailbox.username or not mailbox.domain:
                return _refused(value, "an address without a domain")
            if len(address) > MAX_ADDRESS:
                return _refused(value, f"an address longer than {MAX_ADDRESS} characters")
            found.append((clean(_SPACES.sub(" ", mailbox.display_name).strip()), address))
    if not found:
        return Mailboxes(refusal="no address given")
    return Mailboxes(tuple(found))


def _cosmetic(defect: InvalidHeaderDefect) -> bool:
    """A flaw that leaves the address itself clear: UTF-8 in the local part (RFC 6532 allows it), or
    a display name's encoded word misplaced ('"=?utf-8?...?=" <a@b>', common in real mail)."""
    return isinstance(defect, NonASCIILocalPartDefect) or "encoded word" in str(defect) \
        or "encoded-word" in str(defect)


def _refused(value: str, why: str) -> Mailboxes:
    shown = clean(_SPACES.sub(" ", value).strip())
    return Mailboxes(refusal=f"{shown[:120]!r}: {why}")


def unsafe_to_send(address: str) -> str | None:
    """Why mail must not go to this address (None: it may), for staff: only a plain RFC 5321
    mailbox goes on an SMTP command line. A quoted local part may hold spaces and '<...>' that a
    careless server reads as a second address, so it is refused rather than sent."""
    if _MAILBOX.fullmatch(address):
        return None
    if address.startswith('"') or '"@' in address:
        return "not sent: the address has a quoted local part, which is not safe on an SMTP command line"
    return "not sent: not a plain mailbox address (RFC 5321)"
