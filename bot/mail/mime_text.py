"""Plain-text mail written as the SMTP policy writes it, without building an EmailMessage."""
from __future__ import annotations

import base64
import binascii
import re
from email import quoprimime

from bot.mail.policies import DEFAULT, SMTP


def header_line(name: str, value: str) -> bytes:
    """One header as the SMTP policy writes it. A short printable ASCII value that cannot be taken
    for an encoded word is written as it is, which is what folding it would give; any other is folded."""
    line = f"{name}: {value}"
    if len(line) <= SMTP.max_line_length and line.isascii() and line.isprintable() and "=?" not in value \
            and value and not value[0].isspace() and not value[-1].isspace():
        return line.encode("ascii") + b"\r\n"
    return SMTP.fold_binary(name, SMTP.header_store_parse(name, value)[1])


# In the order set_content() sets them.
CONTENT_HEADERS = {cte: (f'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
                         f"MIME-Version: 1.0\r\n").encode("ascii")
                   for cte in ("7bit", "8bit", "quoted-printable", "base64")}


def text_body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body with CRLF line ends) as EmailMessage.set_content(text,
    charset="utf-8") chooses and the SMTP policy writes them (email.contentmanager's rules)."""
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= DEFAULT.max_line_length:
        body = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if body.isascii() else "8bit"), body
    # Long lines: whichever of quoted-printable and base64 the first ten lines come out shorter in.
    sniff = b"\n".join(lines[:10]) + b"\n"
    base64_length = len(binascii.b2a_base64(sniff))
    # Each non-ASCII byte takes three characters in quoted-printable: in Chinese text that alone
    # settles it, without encoding the lines to measure them.
    if len(sniff) + 2 * len(sniff.translate(None, _ASCII)) > base64_length:
        return "base64", _base64(lines)
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), DEFAULT.max_line_length)
    if len(sniff_qp) > base64_length:
        return "base64", _base64(lines)
    if len(lines) > 10:   # quoted-printable encodes line by line: the first ten are done
        rest = (b"\n".join(lines[10:]) + b"\n").decode("latin-1")
        sniff_qp += quoprimime.body_encode(rest, DEFAULT.max_line_length)
    return "quoted-printable", _crlf(sniff_qp)


_ASCII = bytes(range(128))
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def _crlf(payload: str) -> bytes:
    return _LINE_ENDS.sub("\r\n", payload).encode("ascii")


def _base64(lines: list[bytes]) -> bytes:
    return base64.encodebytes(b"\n".join(lines) + b"\n").replace(b"\n", b"\r\n")
