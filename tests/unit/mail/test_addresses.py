"""One reading of address headers: RFC 5322 mailboxes or a clear refusal; what may go on an SMTP line."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.mail.addresses import read_mailboxes, simple_mailboxes, strict_mailboxes, unsafe_to_send
from bot.mail.parse import parse_message


@pytest.mark.parametrize("value, address", [
    ('"x li.hua@example.com"@attacker.test', '"x li.hua@example.com"@attacker.test'),   # kept whole
    ('"a RCPT TO:<victim@evil.test> b"@attacker.test', '"a rcpt to:<victim@evil.test> b"@attacker.test'),
    ("Li <李华@example.cn>", "李华@example.cn"),
    ("=?utf-8?B?5p2O5Y2O?= <li@x.cn>", "li@x.cn"),
    ('"=?utf-8?B?5p2O5Y2O?=" <li@x.cn>', "li@x.cn"),       # a misplaced encoded word in the name only
    ("Joe.Doe@Example.COM (comment)", "joe.doe@example.com"),
    ('"john.doe"@x.org', "john.doe@x.org"),
])
def test_a_mailbox_is_read_whole(value, address):
    assert [found for _, found in read_mailboxes([value]).found] == [address]


@pytest.mark.parametrize("value", ["=?utf-8?B?broken", "", "   ", "junk", "Bob <bob@x.org> trailing",
                                   '"x" <junk x@y>', "a@b@c", "<>", "undisclosed-recipients:;",
                                   "x@" + "a" * 260 + ".org"])
def test_no_usable_address_is_a_refusal_never_a_guess(value):
    read = read_mailboxes([value])
    assert read.found == () and read.refusal


def test_a_from_with_several_addresses_names_no_sender():
    msg = parse_message(b"From: a@x.org, b@y.org\r\nSubject: hi\r\n\r\nbody\r\n")
    assert msg.from_address == "" and "several" in msg.sender_refusal


@pytest.mark.parametrize("address, safe", [
    ("li@x.cn", True), ("李华@example.cn", True), ("a+b@[192.0.2.1]", True), ("o'neil@x.ie", True),
    ('"x li.hua@example.com"@attacker.test', False), ('"a rcpt to:<victim@evil.test> b"@attacker.test', False),
    ("a b@x.org", False), ("a@x.org>", False), ("a\r\nRCPT TO:<v@e.test>@x.org", False),
])
def test_only_plain_mailboxes_may_go_on_an_smtp_command_line(address, safe):
    assert (unsafe_to_send(address) is None) == safe


# The fast reading (simple_mailboxes) must read exactly as the strict one wherever it reads at all.
_ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
_AWKWARD = ".,;:@<>()[]\"\\ \t=?"
_piece = st.text(st.sampled_from(_ATEXT), min_size=1, max_size=6)
_noise = st.sampled_from(["", "", "", "", "", "", None]).flatmap(   # mostly clean, sometimes not
    lambda clean: st.just(clean) if clean is not None else st.text(st.sampled_from(_ATEXT + _AWKWARD), max_size=3))
_CHARSETS = ["utf-8", "UTF-8", "gb2312", "gbk", "iso-8859-1", "x-unknown", "bogus", "utf-16", "us-ascii"]


@st.composite
def _encoded_word(draw) -> str:
    data = draw(st.one_of(st.binary(max_size=12), st.text(max_size=6).map(str.encode)))
    if draw(st.booleans()):
        payload = base64.b64encode(data).decode()
        if draw(st.booleans()):
            payload = payload.rstrip("=")   # missing padding: the fast path must step aside
        return f"=?{draw(st.sampled_from(_CHARSETS))}?{draw(st.sampled_from('bB'))}?{payload}?="
    payload = "".join(chr(b) if chr(b).isalnum() and b < 128 else ("_" if b == 32 else f"={b:02X}")
                      for b in data)
    return f"=?{draw(st.sampled_from(_CHARSETS))}?{draw(st.sampled_from('qQ'))}?{payload or 'x'}?="


@st.composite
def _mailbox(draw) -> str:
    local = ".".join(draw(st.lists(_piece, min_size=1, max_size=3))) + draw(_noise)
    domain = ".".join(draw(st.lists(st.text(st.sampled_from("abz09-"), min_size=1, max_size=5),
                                    min_size=1, max_size=3)))
    address = f"{local}@{domain}{draw(_noise)}"
    name = draw(st.one_of(
        st.just(""),
        st.lists(_piece, min_size=1, max_size=3).map(" ".join),
        st.text(st.sampled_from(_ATEXT + " \t,.=?\\()<>@"), max_size=8).map(lambda text: f'"{text}"'),
        _encoded_word(),
        st.tuples(_encoded_word(), _piece).map(" ".join),
    ))
    space = draw(st.sampled_from(["", " ", "\t", "  "]))
    if name or draw(st.booleans()):
        return f"{name}{space}<{address}>" if draw(st.integers(0, 9)) else f"{name}{space}<{address}"
    return f"{space}{address}{draw(_noise)}"


@given(st.lists(_mailbox(), min_size=1, max_size=3).map(", ".join))
@settings(max_examples=1500, deadline=None)
def test_the_fast_reading_is_the_strict_reading(value):
    fast = simple_mailboxes(value)
    if fast is not None:
        assert fast == strict_mailboxes(value)


@pytest.mark.parametrize("value", [
    "li@x.cn", "<li@x.cn>", "Li Hua <li@x.cn>", '"Li, Hua" <li@x.cn>', "=?utf-8?B?5p2O5Y2O?= <li@x.cn>",
    "=?gbk?b?zfW3vA==?= <x@y.cn>", "=?utf-8?q?Li_=E5=8D=8E?= <li@x.cn>", "a@x.org, Bob <b@y.org>",
])
def test_the_common_forms_take_the_fast_reading(value):
    assert simple_mailboxes(value) is not None and simple_mailboxes(value) == strict_mailboxes(value)
