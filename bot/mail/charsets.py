"""Decode bytes whose charset label is missing, wrong or unknown, without ever raising."""

from __future__ import annotations

import binascii
import codecs
import re

import charset_normalizer

# Mail clients label GBK (and worse) text as GB2312; GB18030 is a superset of
# all of them, so decoding with it never loses characters the sender typed.
_ALIASES = {
    **dict.fromkeys(
        ("gb2312", "gb_2312-80", "gb_2312", "gb2312-80", "csgb2312", "euc-cn",
         "x-euc-cn", "euccn", "x-gbk", "gbk", "cp936", "ms936", "windows-936",
         "chinese", "iso-ir-58", "gb18030"), "gb18030"),
    "big5": "big5hkscs", "x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "x-sjis": "cp932", "sjis": "cp932", "x-mac-cyrillic": "mac_cyrillic",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "windows-874": "cp874",
    "unicode-1-1-utf-7": "utf-7", "x-unknown": "", "unknown-8bit": "", "default": "",
}
# Text codecs that are not charsets: a label naming them is treated as unknown.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "mbcs", "oem"}
_UTF8_BLIND = {"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
_REPLACEMENT_TOLERANCE = 0.01
_SNIFF_LIMIT = 200_000


def canonical_charset(label: object) -> str | None:
    """Return a Python codec name for a MIME charset label, or None if unknown."""
    if not isinstance(label, str):
        return None
    name = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    name = _ALIASES.get(name, name)
    if not name or len(name) > 40:
        return None
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    return None if codec in _NOT_CHARSETS else codec


def _strict(data: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None


def _sniffed(data: bytes) -> str | None:
    try:
        best = charset_normalizer.from_bytes(data[:_SNIFF_LIMIT]).best()
    except Exception:  # the detector is a heuristic; never let it break parsing
        return None
    return canonical_charset(best.encoding) if best is not None else None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode data, returning the text and a note when the declared charset was not used."""
    if not data:
        return "", None
    codec = canonical_charset(declared)
    unknown = f"unknown charset {declared!r}; " if declared and not codec else ""
    if data.isascii() and codec not in _UTF8_BLIND:
        if not codec:
            return data.decode("ascii"), unknown or None
        if (text := _strict(data, codec)) is not None:
            return text, None
        # Only 7-bit stateful charsets (ISO-2022-*, UTF-7) fail here, usually on a vendor
        # extension; replacing the odd character beats showing raw escape sequences.
        return data.decode(codec, errors="replace"), f"{declared!r} text had invalid sequences, replaced"
    # Valid multi-byte UTF-8 is almost never legacy-charset text by accident, while
    # GB18030 or Latin-1 happily "decode" UTF-8 into mojibake: so UTF-8 wins.
    if codec not in _UTF8_BLIND and (text := _strict(data, "utf-8")) is not None:
        wrong = codec and codec != "utf-8"
        note = f"declared {declared!r} but the bytes are UTF-8" if wrong else None
        return text, (unknown + "decoded as utf-8") if unknown else note
    if (text := _strict(data, codec)) is not None:
        return text, None
    if codec:
        # A few corrupt bytes in otherwise correct text should not throw the label away.
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(1, len(text) * _REPLACEMENT_TOLERANCE):
            return text, f"{declared!r} text had invalid bytes, replaced"
    for fallback in (_sniffed(data), "gb18030"):
        if fallback and fallback != codec and (text := _strict(data, fallback)) is not None:
            return text, f"{unknown}{declared or 'undeclared'} charset failed, decoded as {fallback}"
    return data.decode("latin-1"), f"{unknown}no charset fitted, decoded as latin-1"


_ENCODED_WORD = re.compile(
    r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\r\n]{0,4000}?)(?:\?=|(?=\s|$))")
_ONLY_SPACE = re.compile(r"[ \t\r\n]*")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")   # a raw 8-bit byte, as the parser keeps it


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            clean = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            clean = clean[: len(clean) - (len(clean) % 4 == 1)]
            return binascii.a2b_base64(clean + "=" * (-len(clean) % 4))
        return binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None


def repair_8bit(raw: str, hint: str | None = None) -> str:
    """Turn raw 8-bit header bytes (kept as surrogate escapes by the parser) into text."""
    if raw.isascii() or not _ESCAPED_BYTE.search(raw):
        return raw
    data = raw.encode("utf-8", "surrogateescape")
    # GB2312/GBK text is made of byte pairs; Latin-1 accents are mostly lone high bytes.
    paired = all(len(run) % 2 == 0 for run in _HIGH_RUN.findall(data))
    for codec in ("utf-8", canonical_charset(hint), "gb18030" if paired else None, "cp1252"):
        if (text := _strict(data, codec)) is not None:
            return text
    return data.decode("latin-1")


def decode_header_text(raw: str, hint: str | None = None) -> str:
    """Decode an unfolded raw header value: raw 8-bit bytes and RFC 2047 words, leniently."""
    if raw.isascii() and "=?" not in raw:
        return raw
    raw = repair_8bit(raw, hint)
    pieces: list[str] = []
    pending: tuple[str, bytes] | None = None  # adjacent words of one charset share bytes
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[position:match.start()]
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            continue
        if pending and _ONLY_SPACE.fullmatch(gap) and pending[0] == match.group(1).lower():
            pending = (pending[0], pending[1] + data)
        else:
            if pending:
                pieces.append(decode_bytes(pending[1], pending[0])[0])
            if not (pending and _ONLY_SPACE.fullmatch(gap)):
                pieces.append(gap)
            pending = (match.group(1).lower(), data)
        position = match.end()
    if pending:
        pieces.append(decode_bytes(pending[1], pending[0])[0])
    pieces.append(raw[position:])
    return "".join(pieces)
