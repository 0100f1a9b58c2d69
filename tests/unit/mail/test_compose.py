"""The direct composition of plain-text mail writes exactly the bytes EmailMessage writes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings, strategies as st

from bot.mail.compose import OutgoingMail, compose, compose_mime

WORDS = st.sampled_from(["We", "have", "received", "your", "request", "删除", "我的", "个人信息", "[ESL-000123]",
                         "Re:", "=?utf-8?q?x?=", "(note)", "a@b.example", "\"quoted\"", "Ünïcode", "x" * 90,
                         "", " ", "  ", "\t", "🙂"])
LINES = st.lists(st.one_of(st.text(max_size=120), st.lists(WORDS, max_size=30).map(" ".join)), max_size=25)
SUBJECTS = st.one_of(st.lists(WORDS, max_size=25).map(" ".join), st.text(max_size=200))
NAMES = st.sampled_from(["ESL Privacy", "ESL 隐私团队", "", "Support, Team", "O'Brien \"Privacy\""])
ADDRESSES = st.sampled_from(["user@example.org", "Wang.Fang+ticket@mail.example.cn", "a@b", "odd name@x.example",
                             '"a RCPT TO:<victim@evil.test> b"@attacker.test', "a@b, c@d", "x <y@z> (note)",
                             "a@[127.0.0.1]", "Undisclosed:;"])
IDS = st.sampled_from(["<abc@esl.example>", "<x.y@in.example.org>", "", "<" + "r" * 80 + "@example.org>"])
DATES = st.sampled_from([datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc),
                         datetime(2026, 1, 5, 23, 59, 7, tzinfo=timezone(timedelta(hours=8))),
                         datetime(2025, 3, 3, 8, 0)])


def both(**mail) -> tuple[object, object]:
    """What each way gives: the bytes, or the kind of error (a header with a line break is refused)."""
    return _outcome(compose, mail), _outcome(compose_mime, mail)


def _outcome(way, mail) -> object:
    try:
        return way(OutgoingMail(**mail))
    except ValueError as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(from_name=NAMES, to=ADDRESSES, subject=SUBJECTS, lines=LINES, date=DATES, in_reply_to=IDS,
       references=st.lists(IDS, max_size=12).map(tuple), kind=st.sampled_from(["", "ack", "reply-access"]),
       auto_submitted=st.sampled_from([None, "auto-replied", "auto-generated"]),
       newline=st.sampled_from(["\n", "\r\n"]), end=st.sampled_from(["", "\n"]))
@example(from_name="ESL Privacy", to="user@example.org", subject="[ESL-000001] 我们已收到您的请求：删除我的数据",
         lines=["您好，王芳：", "感谢您就个人信息事宜联系 ESL。我们已收到您的请求，并登记如下。" * 2, "  受理编号：ESL-000001"],
         date=datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), in_reply_to="<a@b>", references=("<r@b>",),
         kind="ack", auto_submitted="auto-replied", newline="\n", end="\n")
@example(from_name="ESL Privacy", to="user@example.org", subject="Re: your request",
         lines=["Dear Alice, " + "we have looked into your request and " * 4] * 12,
         date=datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), in_reply_to="", references=(),
         kind="reply-access", auto_submitted=None, newline="\n", end="\n")
def test_direct_composition_matches_email_message(from_name, to, subject, lines, date, in_reply_to, references,
                                                  kind, auto_submitted, newline, end):
    direct, reference = both(from_address="support@esl.example", from_name=from_name, to=to, subject=subject,
                             text=newline.join(lines) + end, message_id="<0f3a@esl.example>", date=date,
                             in_reply_to=in_reply_to or None, references=references, kind=kind,
                             auto_submitted=auto_submitted)
    assert direct == reference


def test_html_attachments_and_international_addresses_still_compose():
    mail = dict(from_address="support@esl.example", from_name="ESL", subject="s", text="t\n",
                message_id="<m@esl.example>", date=datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert compose(OutgoingMail(to="王@例子.中国", **mail)) == compose_mime(OutgoingMail(to="王@例子.中国", **mail))
    with_parts = compose(OutgoingMail(to="a@b.example", html="<p>t</p>",
                                      attachments=(("a.json", "application/json", b"{}"),), **mail))
    assert b"multipart/mixed" in with_parts and b"text/html" in with_parts and b'filename="a.json"' in with_parts
