"""Subject normalisation and ticket-reference lookup."""

from __future__ import annotations

import pytest

from bot.mail.subject import find_ticket_references, normalize_subject


@pytest.mark.parametrize("subject, expected", [
    ("Re: RE: Fwd: FW: Fw: hello", "hello"),
    ("AW: WG: Datenlöschung", "Datenlöschung"),
    ("SV: VS: Antw: RIF: TR: tietojen poisto", "tietojen poisto"),
    ("回复：转发：删除请求", "删除请求"),
    ("回复: 回覆: 答复：轉寄：轉發: 删除请求", "删除请求"),
    ("Re[2]: Re(3): RE : hello", "hello"),
    ("re:re:Fwd:hello", "hello"),
    ("R: R: R: I: FR-selca LA selcaE", "FR-selca LA selcaE"),
    ("[ESL-000123] Re: 删除请求", "[ESL-000123] 删除请求"),
    ("Re: [ESL-000123] 删除请求", "[ESL-000123] 删除请求"),
    ("RE: [EXTERNAL] Re: Lorem Ipsum", "[EXTERNAL] Lorem Ipsum"),
    ("Re: [list] [ESL-000123] 回复：topic", "[list] [ESL-000123] topic"),
    ("[list] topic", "[list] topic"),
    ("Re:   spaced \t  out  ", "spaced out"),
    ("Re:", ""),
    ("", ""),
])
def test_prefixes_are_stripped(subject, expected):
    assert normalize_subject(subject) == expected


@pytest.mark.parametrize("subject", [
    "Research results", "Reply needed", "Fwd request for data", "Aware: of the policy",
    "Travel: plans", "Information request", "回复速度太慢", "转发给法务部门的请求",
])
def test_words_that_merely_start_like_prefixes_are_kept(subject):
    assert normalize_subject(subject) == subject


@pytest.mark.parametrize("subject, expected", [
    ("Re: [ESL-000123] 删除请求", ["ESL-000123"]),
    ("esl-000123 please", ["ESL-000123"]),
    ("关于ESL-000123的请求", ["ESL-000123"]),
    ("【ESL-000123】回复", ["ESL-000123"]),
    ("ESL－000123 full-width hyphen", ["ESL-000123"]),
    ("[ESL-0001234567] long number", ["ESL-0001234567"]),
    ("ESL-000123 and [ESL-000124] and esl-000123", ["ESL-000123", "ESL-000124"]),
    ("ESL-00012 too short", []),
    ("XESL-000123 glued to a word", []),
    ("ESL000123 without hyphen", []),
    ("no reference here", []),
    ("Re: [ESL-000123-K7M] 删除请求", ["ESL-000123-K7M"]),                 # with check letters
    ("esl-000123-k7m please", ["ESL-000123-K7M"]),
    ("关于ESL－000123－K7M的请求", ["ESL-000123-K7M"]),
    ("ESL-000123-K7MX four letters", ["ESL-000123"]),                     # not check letters: the number only
    ("ESL-000123-K7M and ESL-000123", ["ESL-000123-K7M", "ESL-000123"]),
])
def test_ticket_references(subject, expected):
    assert find_ticket_references(subject, "ESL") == expected


def test_ticket_prefix_is_configurable_and_escaped():
    assert find_ticket_references("Re: [tkt-123456] ESL-000001", "TKT") == ["TKT-123456"]
    assert find_ticket_references("A.B-123456 AxB-123456", "A.B") == ["A.B-123456"]
    assert find_ticket_references("ESL-000123", "") == []
