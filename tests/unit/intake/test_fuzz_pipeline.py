"""Bounded fuzzing of the parser and of the whole pipeline with mutated real messages (hypothesis)."""
from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, or_, select

from bot.mail.parse import ParsedMessage, parse_message
from bot.store.models import InboundMessage
from bot.mail.context import Location
from tests.conftest import CORPORA
from tests.support.pipeline_flow import make_app

OUTCOMES = {"new-ticket", "follow-up", "machine-mail", "stored", "duplicate", "quarantined"}
CHARSETS = ["utf-8", "gb2312", "gbk", "gb18030", "big5", "iso-2022-jp", "shift_jis", "koi8-r", "utf-7",
            "utf-16", "utf-32-le", "x-unknown", "unknown-8bit", "punycode", "idna", "unicode-escape",
            "x-gbk", "ks_c_5601-1987", "bogus-charset", "", "\"", "utf-8*en", "us-ascii"]
HEADERS = [b"Content-Type: multipart/mixed; boundary=b", b"Content-Type: multipart/alternative; boundary=\"\"",
           b"Content-Type: text/html", b"Content-Type: message/rfc822", b"Content-Type: message/delivery-status",
           b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
           b"Content-Transfer-Encoding: x-uuencode", b"From: \"\x00\xff\" <a@b@c>", b"From: <>", b"Reply-To: ,,,",
           b"Subject: =?utf-8?B?5Lit", b"Subject: =?gb2312?Q?=D6=D0?= =?bogus?B?AAAA?=", b"Message-ID: <<@>>",
           b"References: <a@b> <", b"In-Reply-To: <x@y>", b"Date: 99 Foo 99999 99:99", b"Auto-Submitted: auto-replied",
           b"Content-Disposition: attachment; filename*=utf-8''%E4%B8%2F..%2Fetc", b"X-\x00: \r", b"\tcontinued",
           b"Subject: " + "中文".encode("gb18030"), b"Content-Type: text/plain; charset*=utf-8''%FF"]


def _seeds() -> list[bytes]:
    """Real messages to mutate: small corpus files where present, and a few made here."""
    made = []
    for charset, body in (("utf-8", "请删除我的账户和所有个人信息。"), ("gb2312", "请删除我的账户"), ("us-ascii", "Delete my data")):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "user@example.org", "support@esl.example", "Request"
        msg["Message-ID"] = "<seed@example.org>"
        msg.set_content(body, charset=charset)
        msg.add_alternative(f"<p>{body}</p>", subtype="html", charset=charset)
        made.append(msg.as_bytes(policy=SMTP))
    if CORPORA.is_dir():
        files = sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.suffix not in (".md", ".jsonl")
                       and p.stat().st_size < 16_000)
        made += [p.read_bytes() for p in files[::6]]
    return made


SEEDS = _seeds()


@st.composite
def mutated_mail(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "header", "charset", "nest", "huge", "splice"]))
        if kind == "flip" and raw:
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del raw[draw(st.integers(0, len(raw))):]
        elif kind == "header":
            raw[:0] = draw(st.sampled_from(HEADERS)) + draw(st.sampled_from([b"\n", b"\r\n", b"\r", b""]))
        elif kind == "charset":
            label = draw(st.sampled_from(CHARSETS)).encode()
            raw = bytearray(raw.replace(b"charset=", b"charset=" + label + b";x=", 1))
        elif kind == "nest":
            depth, how = draw(st.integers(1, 60)), draw(st.sampled_from(["multipart", "rfc822"]))
            for level in range(depth):
                head = (b"Content-Type: message/rfc822\n\n" if how == "rfc822" else
                        b'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (level, level))
                raw[:0] = head
        elif kind == "huge":
            value = draw(st.sampled_from([b"x", b"=?utf-8?B?5Lit?= ", b"<a@b> ", "中".encode(), b"\x00"]))
            raw[:0] = b"X-Huge: " + value * (60_000 // len(value)) + b"\n"
        else:
            raw[draw(st.integers(0, len(raw))):0] = draw(st.binary(max_size=64))
    return bytes(raw)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated_mail())
def test_parser_never_raises_on_mutated_mail(raw):
    message = parse_message(raw)
    assert isinstance(message, ParsedMessage)
    for value in (message.subject, message.from_address, message.new_text, message.message_id or "",
                  *message.defects, *(a.filename for a in message.attachments)):
        assert "\x00" not in value
        value.encode("utf-8")   # no lone surrogates: every database and JSON encoder takes it


@pytest.fixture
def app(engine, clock, tmp_path):
    return make_app(engine, clock, tmp_path, imap={"max_message_bytes": 200_000})


def test_pipeline_never_raises_on_mutated_mail(app):
    uids = itertools.count(1)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_mail())
    def run(raw):
        uid = next(uids)
        outcome = app.pipeline.handle(raw, Location("INBOX", 1, uid))
        assert outcome in OUTCOMES
        if outcome == "duplicate":
            return
        with Session(app.engine) as s:
            # Over max_message_bytes (four "huge" mutations) only the header is kept: found by its UID.
            rows = [r for r in s.exec(select(InboundMessage).where(
                    or_(InboundMessage.raw == raw, InboundMessage.uid == uid)))
                    if r.raw == raw or (len(raw) > 200_000 and r.uid == uid)]
        assert rows, "the message must be stored, handled or quarantined"
        status = "quarantined" if outcome == "quarantined" else "handled"
        assert any(r.status == status for r in rows)
        assert all(r.status != "quarantined" or r.quarantine_reason for r in rows)

    run()
