"""Walk a parsed MIME tree into readable text and an attachment list, repairing what is broken."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from bot.mail.charsets import decode_bytes, decode_header_text
from bot.mail.headers import clean, raw_values

_MAX_DEPTH = 40
_BCHAR = rb"[0-9A-Za-z'()+_,./:=?-]"  # RFC 2046 boundary characters (space allowed inside)
_BOUNDARY_LINE = re.compile(rb"^--(" + _BCHAR + rb"(?:" + _BCHAR + rb"| ){0,68}" + _BCHAR + rb")[ \t]*\r?$", re.M)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I)
_TAG = re.compile(r"<[^>]*>")
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_NAME_PARAM = re.compile(r"""name\*?=\s*"?([^";]+)""")
_HTML_SOURCE = "html-source"   # a chunk of HTML not yet made text: most lose to their plain alternative


@dataclass(frozen=True)
class Attachment:
    filename: str          # decoded, path components stripped, "" if none
    content_type: str
    size: int


@dataclass
class Body:
    """What a walk of the MIME tree found."""
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    report_type: str | None = None
    defects: list[str] = field(default_factory=list)


def _safe(call, default):
    try:
        return call()
    except Exception:  # any header the stdlib cannot model falls back to the RFC default
        return default


def content_type_of(part: Message) -> str:
    """The part's "type/subtype", lower-case; text/plain when unreadable."""
    found = _MIME_TYPE.match(_safe(part.get_content_type, "text/plain").strip().lower())
    return found.group() if found else "text/plain"


def safe_filename(name: str) -> str:
    """The last path component of name, with control characters removed."""
    name = clean(re.sub(r"[\x00-\x1f\x7f]", "", name)).replace("\\", "/")
    base = posixpath.basename(name.rstrip("/")).strip()
    return "" if base in ("", ".", "..") else base


def html_to_text(html: str) -> str:
    from inscriptis import get_text   # here, not above: a start-up with no HTML-only mail needs none of it
    try:
        return get_text(html)
    except Exception:  # inscriptis chokes on a few pathological documents
        return _TAG.sub(" ", html)


class _Walker:
    def __init__(self, hint: str | None) -> None:
        self.body = Body()
        self.hint = hint

    def note(self, text: str) -> None:
        if text not in self.body.defects:
            self.body.defects.append(text)

    def walk(self, part: Message, depth: int = 0) -> list[tuple[str, str]]:
        """Return (kind, text) chunks of the part, kind being "plain" or "html"."""
        for defect in _safe(lambda: list(part.defects), []):
            doc = (type(defect).__doc__ or "").strip().split("\n")[0]
            self.note(f"{type(defect).__name__}: {doc}".rstrip(": "))
        if depth > _MAX_DEPTH:
            self.note("MIME nesting too deep; inner parts ignored")
            return []
        ctype = content_type_of(part)
        if ctype == "multipart/report" and self.body.report_type is None:
            report_type = _safe(lambda: part.get_param("report-type"), None)
            self.body.report_type = str(report_type).strip().lower() if report_type else None
        if ctype.startswith("multipart/"):
            children = _safe(part.get_payload, []) if part.is_multipart() else self._recover(part, ctype)
            if children is None:
                return self._leaf(part, "text/plain")
            chunks = [self.walk(child, depth + 1) for child in children if isinstance(child, Message)]
            if ctype == "multipart/alternative" and chunks:
                plain = [c for c in chunks if c and all(kind == "plain" for kind, _ in c)
                         and any(text.strip() for _, text in c)]
                if plain:
                    return plain[0]
                chunks = [_as_text(c) for c in chunks]
                filled = [c for c in chunks if any(text.strip() for _, text in c)]
                return filled[-1] if filled else chunks[0]
            return [chunk for child_chunks in chunks for chunk in child_chunks]
        return self._leaf(part, ctype)

    def _recover(self, part: Message, ctype: str) -> list | None:
        """Re-split a multipart whose boundary parameter is missing, guessing it from the body."""
        raw = _safe(lambda: str(part.get_payload()).encode("utf-8", "surrogateescape"), b"")
        counts: dict[bytes, int] = {}
        for match in _BOUNDARY_LINE.finditer(raw):
            token = match.group(1).removesuffix(b"--")
            counts[token] = counts.get(token, 0) + 1
        guess = next((token for token, seen in counts.items()
                      if seen >= 2 and b'"' not in token and re.search(rb"[0-9A-Za-z]", token)), None)
        if guess is None:
            self.note(f"{ctype} without boundary; body read as plain text")
            return None
        head = b'Content-Type: ' + ctype.encode() + b'; boundary="' + guess + b'"\r\n\r\n'
        rebuilt = _safe(lambda: BytesParser(policy=policy.compat32).parsebytes(head + raw), None)
        if rebuilt is None or not rebuilt.is_multipart():
            return None
        self.note(f"{ctype} without boundary; boundary {guess.decode('ascii', 'replace')!r} recovered")
        return rebuilt.get_payload()

    def _leaf(self, part: Message, ctype: str) -> list[tuple[str, str]]:
        described = _safe(lambda: "content-disposition" in part, True)
        # A filename comes from Content-Disposition or a "name" parameter: most text parts have neither.
        named = described or _safe(lambda: "name" in str(part.get("content-type", "")).lower(), True)
        filename = (_safe(part.get_filename, None) or "") if named else ""
        if "\ufffd" in filename:  # raw 8-bit bytes: read the raw headers ourselves, each on its own
            raws = raw_values(part, "content-disposition") + raw_values(part, "content-type")
            found = next(filter(None, (_NAME_PARAM.search(decode_header_text(raw, self.hint))
                                       for raw in raws)), None)
            filename = found.group(1).strip() if found else filename
        filename = safe_filename(decode_header_text(filename, self.hint)) if filename else ""
        disposition = _safe(part.get_content_disposition, None) if described else None
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = self._decode(part, ctype)
            return [(_HTML_SOURCE if ctype == "text/html" else "plain", text)]
        self.body.attachments.append(Attachment(filename, ctype, self._size(part)))
        return []

    def _decode(self, part: Message, ctype: str) -> str:
        data = _safe(lambda: part.get_payload(decode=True), None) or b""
        charset = _safe(part.get_content_charset, None)
        if charset is None and ctype == "text/html" and (meta := _META_CHARSET.search(data[:4096])):
            charset = meta.group(1).decode("ascii")
        text, problem = decode_bytes(data, charset)
        if problem:
            self.note(f"{ctype} body: {problem}")
        return clean(text.replace("\r\n", "\n").replace("\r", "\n"))

    @staticmethod
    def _size(part: Message) -> int:
        if part.is_multipart():  # message/rfc822 and friends: size of the enclosed message
            return _safe(lambda: sum(len(sub.as_bytes(policy=policy.compat32))
                                     for sub in part.get_payload()), 0)
        return len(_safe(lambda: part.get_payload(decode=True), None) or b"")


def _as_text(chunks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("html", html_to_text(text)) if kind == _HTML_SOURCE else (kind, text) for kind, text in chunks]


def read_body(msg: Message, hint: str | None = None) -> Body:
    """Collect text (text/plain preferred over HTML) and attachments of a whole message."""
    walker = _Walker(hint)
    chunks = _as_text(walker.walk(msg))
    walker.body.text = "\n\n".join(text.strip("\n") for _, text in chunks if text.strip())
    return walker.body
