"""Read message ids, dates and header text out of raw header values, tolerating garbage."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime

from bot.mail.charsets import decode_header_text

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
# Bounded so that a stored id always fits a database index entry (PostgreSQL: 2704 bytes).
_BRACKETED_ID = re.compile(r"<\s*([^<>\s@]{1,250}@[^<>\s@]{1,250})\s*>")
_BARE_ID = re.compile(r"[^<>\s@\"(),;]{1,250}@[^<>\s@\"(),;]{1,250}")
_CONTROL = re.compile(r"[\x00\ud800-\udfff]")
_C0_C1 = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Drop NULs and lone surrogates, which databases and JSON encoders reject."""
    if text.isascii() and "\x00" not in text:
        return text
    return _CONTROL.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def unfold(raw: str) -> str:
    """Join folded header lines and drop stray line breaks."""
    if "\n" not in raw and "\r" not in raw:
        return raw
    return _FOLD.sub("", raw).replace("\r", " ").replace("\n", " ")


def raw_headers(msg: Message) -> list[tuple[str, str]]:
    """(name, unfolded raw value) of every header, in order; none when the block cannot be read."""
    try:
        return [(str(key), unfold(str(value))) for key, value in msg.raw_items()]
    except Exception:  # a broken header block must not stop the rest of the parse
        return []


def index_headers(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """raw_headers() by lower-case name, for reading many headers of one message."""
    index: dict[str, list[str]] = {}
    for key, value in fields:
        index.setdefault(key.lower(), []).append(value)
    return index


def raw_values(msg: Message | Mapping[str, list[str]], name: str) -> list[str]:
    """Unfolded raw values of every header called name (case-insensitive), of a message or of its
    index_headers()."""
    index = index_headers(raw_headers(msg)) if isinstance(msg, Message) else msg
    return list(index.get(name.lower(), ()))


def header_text(msg: Message | Mapping[str, list[str]], name: str, hint: str | None = None) -> str:
    """First value of a header, decoded, whitespace folded; "" when absent."""
    values = raw_values(msg, name)
    if not values:
        return ""
    text = _C0_C1.sub("", decode_header_text(values[0], hint))  # escape codes of broken charsets
    return clean(" ".join(text.split()))   # str.split's whitespace is the regex \s


def header_map(msg: Message | list[tuple[str, str]], hint: str | None = None) -> dict[str, tuple[str, ...]]:
    """Every header (of a message, or its raw_headers()) as lower-case name -> decoded values, in order."""
    decoded: dict[str, list[str]] = {}
    for key, value in raw_headers(msg) if isinstance(msg, Message) else msg:
        text = " ".join(decode_header_text(value, hint).split())
        decoded.setdefault(clean(key).strip().lower(), []).append(clean(text))
    return {key: tuple(values) for key, values in decoded.items()}


def message_ids(values: Iterable[str]) -> tuple[str, ...]:
    """Normalised "<local@domain>" ids found in the values, first occurrence kept."""
    found: list[str] = []
    for value in values:
        ids = _BRACKETED_ID.findall(value)
        if not ids and (bare := _BARE_ID.fullmatch(value.strip())):
            ids = [bare.group()]
        found.extend(f"<{clean(one)}>" for one in ids)
    return tuple(dict.fromkeys(found))


def parse_date(value: str) -> datetime | None:
    """An aware datetime, or None; a date without zone (-0000) is taken as UTC."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except Exception:  # the stdlib raises several types on garbage dates
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
