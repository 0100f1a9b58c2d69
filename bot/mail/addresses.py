"""Addresses are parsed, not guessed: a header gives its mailboxes (RFC 5322) or a clear refusal."""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from email.errors import InvalidHeaderDefect, NonASCIILocalPartDefect

from bot.mail.charsets import repair_8bit
from bot.mail.headers import clean
from bot.mail.policies import DEFAULT

MAX_ADDRESS = 254   # RFC 5321's limit; a longer "address" cannot be mailed and only burdens indexes
# RFC 5321 Dot-string @ host name or address literal, with RFC 6531's UTF-8 (no controls, no C1).
_UTF8 = "\u00a0-\ud7ff\ue000-\U0010ffff"
_ATOM = rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~\-{_UTF8}]+"
_LABEL = rf"[A-Za-z0-9{_UTF8}](?:[A-Za-z0-9\-{_UTF8}]*[A-Za-z0-9{_UTF8}])?"
# The forms simple_mailboxes reads: ASCII only, no comments, quoted pairs, groups or obsolete syntax.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_WORD = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"      # no "=" or "?": an atom may not open an encoded word
_SIMPLE_MAILBOX = re.compile(
    rf"""(?:(?:(?P<words>{_WORD}(?:[ \t]+{_WORD})*)|(?P<quoted>"[ \t!#-\[\]-~]*")"""
    r"|=\?(?P<charset>[A-Za-z0-9_.:-]+)\?(?:[bB]\?(?P<b64>[A-Za-z0-9+/]+={0,2})"
    r"|[qQ]\?(?P<q>(?:[A-Za-z0-9!*+/_-]|=[0-9A-Fa-f]{2})+))\?=)[ \t]*(?=<))?"
    rf"(?P<open><)?(?P<addr>(?!=\?){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?(open)>)")
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
    found: list[tuple[str, str]] = []
    for value in values:
        text = repair_8bit(value, hint)
        mailboxes = simple_mailboxes(text)
        if mailboxes is None:
            mailboxes = strict_mailboxes(text)
            if isinstance(mailboxes, str):
                return _refused(value, mailboxes)
        found.extend(mailboxes)
    if not found:
        return Mailboxes(refusal="no address given")
    return Mailboxes(tuple(found))


def strict_mailboxes(text: str) -> tuple[tuple[str, str], ...] | str:
    """(name, address) pairs of one header value by the stdlib's RFC 5322 parser, or why none."""
    try:
        header = DEFAULT.header_factory("to", text)
        mailboxes = header.addresses
    except Exception as exc:  # noqa: BLE001 - the stdlib's parser has raised on odd input before
        return f"cannot be parsed ({type(exc).__name__})"
    invalid = [d for d in header.defects if isinstance(d, InvalidHeaderDefect) and not _cosmetic(d)]
    if invalid:
        return str(invalid[0]).strip().rstrip(")")
    found = []
    for mailbox in mailboxes:
        address = clean(mailbox.addr_spec).lower()
        if not mailbox.username or not mailbox.domain:
            return "an address without a domain"
        if len(address) > MAX_ADDRESS:
            return f"an address longer than {MAX_ADDRESS} characters"
        found.append((clean(" ".join(mailbox.display_name.split())), address))
    return tuple(found)


def simple_mailboxes(text: str) -> tuple[tuple[str, str], ...] | None:
    """What strict_mailboxes reads, for the forms most mail uses ('a@b', 'Name <a@b>', '"Name" <a@b>',
    '=?utf-8?b?...?= <a@b>', comma-separated), read at a fraction of its cost; None for any other
    form, which only the strict parser may read. tests/unit/mail/test_addresses.py holds them equal."""
    if not text.isascii():
        return None
    found = []
    for part in [text] if '"' in text else text.split(","):   # a quoted name may hold a comma
        match = _SIMPLE_MAILBOX.fullmatch(part.strip(" \t"))
        if match is None or len(match["addr"]) > MAX_ADDRESS:
            return None
        name = match["words"] or (match["quoted"] or "")[1:-1]
        if match["charset"]:
            name = _decoded_word(match["charset"], match["b64"], match["q"])
            if name is None:
                return None
        elif "=?" in name:   # an encoded word inside quotes: the strict parser's own reading
            return None
        found.append((clean(" ".join(name.split())), clean(match["addr"]).lower()))
    return tuple(found)


def _decoded_word(charset: str, b64: str | None, quoted: str | None) -> str | None:
    """An RFC 2047 word decoded as email._encoded_words decodes a well-formed one."""
    if b64 is not None and len(b64) % 4:
        return None   # the stdlib repairs the padding, with its own defects: left to it
    data = base64.b64decode(b64) if b64 is not None else binascii.a2b_qp(quoted, header=True)
    try:
        text = data.decode(charset)
    except UnicodeDecodeError:
        try:
            text = data.decode(charset, "surrogateescape")
        except UnicodeDecodeError:   # UTF-16 cut short: the stdlib reads the word as plain text
            return None
    except (LookupError, UnicodeEncodeError):
        text = data.decode("ascii", "surrogateescape")
    return None if "\r" in text or "\n" in text else text   # the stdlib refuses line breaks in a name


def _cosmetic(defect: InvalidHeaderDefect) -> bool:
    """A flaw that leaves the address itself clear: UTF-8 in the local part (RFC 6532 allows it), or
    a display name's encoded word misplaced ('"=?utf-8?...?=" <a@b>', common in real mail)."""
    return isinstance(defect, NonASCIILocalPartDefect) or "encoded word" in str(defect) \
        or "encoded-word" in str(defect)


def _refused(value: str, why: str) -> Mailboxes:
    shown = clean(" ".join(value.split()))
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
