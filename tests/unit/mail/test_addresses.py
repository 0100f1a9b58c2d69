"""One reading of address headers: RFC 5322 mailboxes or a clear refusal; what may go on an SMTP line."""
from __future__ import annotations

import pytest

from bot.mail.addresses import read_mailboxes, unsafe_to_send
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
