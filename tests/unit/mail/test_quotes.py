"""split_reply: quote headers, quote markers and signatures of English and Chinese clients."""

from __future__ import annotations

import json
import time

import pytest

from bot.mail.quotes import split_reply

from tests.conftest import CORPORA  # noqa: E402


@pytest.mark.parametrize("text, new, quoted_start", [
    # Chinese clients
    ("好的，请删除我的账号。\n\n在 2024年1月2日，张三 <a@b.c> 写道：\n> 您好，我们已收到\n",
     "好的，请删除我的账号。", "在 2024年1月2日"),
    ("好的\n\n张三 <a@b.c> 于2024年1月2日周二 10:00写道：\n> 您好\n", "好的", "张三 <a@b.c> 于"),
    ("好的\n在2024-01-02 10:00:00，\"ESL\" <privacy@esl.cn> 写道:\n您好，我们已收到您的请求\n",
     "好的", "在2024-01-02"),
    ("请尽快处理\n\n------------------ 原始邮件 ------------------\n发件人: \"ESL\"<p@esl.cn>;\n"
     "发送时间: 2024年1月2日(星期二) 上午10:00\n收件人: \"我\"<me@qq.com>;\n主题: 回复：删除请求\n\n您好\n",
     "请尽快处理", "------------------ 原始邮件"),
    ("请尽快处理\n\n-----原始邮件-----\n发件人: ESL\n发送时间: 2024年1月2日 10:00\n收件人: me\n主题: 删除\n\n您好",
     "请尽快处理", "-----原始邮件-----"),
    ("请尽快处理\n\n发件人: ESL <p@esl.cn>\n发送时间: 2024年1月2日 10:00\n收件人: me <m@x.cn>\n主题: 删除\n\n您好",
     "请尽快处理", "发件人: ESL"),
    ("请尽快处理\n\n发件人：ESL\n日期：2024年1月2日\n收件人：me\n抄送：x\n主题：删除\n\n您好",
     "请尽快处理", "发件人：ESL"),
    # English, German and Outlook conventions
    ("Thanks\n\nOn Tue, Jan 2, 2024 at 10:00 AM ESL Privacy <privacy@esl.cn> wrote:\n> Hello\n",
     "Thanks", "On Tue"),
    ("Thanks\n\nOn Tue, Jan 2, 2024 at 10:00 AM ESL Privacy <privacy@esl.cn>\nwrote:\n\n> Hello\n",
     "Thanks", "On Tue"),
    ("Danke\n\nAm 02.01.2024 um 10:00 schrieb ESL <privacy@esl.cn>:\n> Hallo\n", "Danke", "Am 02.01"),
    ("Please go ahead.\n\n-----Original Message-----\nFrom: ESL\nSent: Tuesday\nTo: me\nSubject: x\n\nHello",
     "Please go ahead.", "-----Original Message-----"),
    ("Please go ahead.\n________________________________\nFrom: ESL <p@esl.cn>\nSent: Tuesday, 2 January 2024"
     "\nTo: me\nSubject: Re: x\n\nHello", "Please go ahead.", "____"),
    ("See below.\n\n---------- Forwarded message ---------\nFrom: A <a@x.org>\nDate: Tue\nSubject: s\n"
     "To: b@x.org\n\nold text\n", "See below.", "---------- Forwarded message"),
    ("Yes.\n\n> Begin forwarded message:\n>\n> From: a@x.org\n", "Yes.", "> Begin forwarded message:"),
])
def test_quote_headers(text, new, quoted_start):
    got_new, quoted, _ = split_reply(text)
    assert got_new == new
    assert quoted.startswith(quoted_start)


@pytest.mark.parametrize("text, new, signature", [
    ("谢谢\n\n发自我的iPhone", "谢谢", "发自我的iPhone"),
    ("谢谢\n\n发自我的华为手机\n", "谢谢", "发自我的华为手机"),
    ("谢谢\n\n来自网易邮箱大师", "谢谢", "来自网易邮箱大师"),
    ("谢谢\n\n从我的 iPhone 发送", "谢谢", "从我的 iPhone 发送"),
    ("Thanks\n\nSent from my iPhone", "Thanks", "Sent from my iPhone"),
    ("Thanks\n\nGet Outlook for iOS<https://aka.ms/o0ukef>", "Thanks", "Get Outlook for iOS<https://aka.ms/o0ukef>"),
    ("Thanks\n-- \nJohn Smith\nACME", "Thanks", "--\nJohn Smith\nACME"),
    ("Mal sehen\n\nVon meinem iPhone gesendet", "Mal sehen", "Von meinem iPhone gesendet"),
])
def test_signatures(text, new, signature):
    got_new, quoted, got_signature = split_reply(text)
    assert (got_new, quoted, got_signature) == (new, "", signature)


@pytest.mark.parametrize("text", [
    "Hello,\n\nplease delete my account.\n\nRegards,\nJane",
    "-- \nThis line starts with a signature delimiter but it is all there is.",
    "来自手机号13800000000的验证码我没有收到\n请帮忙处理",
    "On Monday I wrote to you about my data.\nPlease answer.",
    "Here is what I wrote:\nplease delete everything.",
    "发件人：张三\n收件人：ESL隐私团队\n主题：删除我的数据\n\n你好，请删除我的账号。",
    "Sent from my desk at home, here is my request in full:\nplease delete my data.\nThanks",
    "Please help.\nSent from my old account, which I no longer use\nPlease delete it.\nIt was opened in 2019."
    "\nIt holds my address.\nAnd my phone number.\nThank you.",
])
def test_text_without_quotes_is_kept_whole(text):
    assert split_reply(text) == ("\n".join(line.rstrip() for line in text.strip().split("\n")), "", "")


def test_interleaved_reply_keeps_answers_and_removes_quotes():
    new, quoted, _ = split_reply("> Which account?\nThe one for a@b.c\n> Since when?\nSince 2020\n")
    assert new == "The one for a@b.c\nSince 2020"
    assert quoted == "> Which account?\n> Since when?"


def test_top_posted_empty_reply_leaves_nothing_new():
    text = "\n\nOn Tue, Jan 2, 2024 at 10:00 AM ESL <p@esl.cn> wrote:\nYour request ESL-000123 was received.\n"
    new, quoted, signature = split_reply(text)
    assert (new, signature) == ("", "")
    assert "ESL-000123" in quoted


def test_forward_without_comment_keeps_the_forwarded_text():
    text = ("---------- Forwarded message ---------\nFrom: Jane <j@x.org>\nDate: Tue\nSubject: Delete\n"
            "To: privacy@esl.cn\n\nPlease delete my account.\n")
    new, quoted, _ = split_reply(text)
    assert new == "Please delete my account."
    assert quoted.startswith("---------- Forwarded message") and "Subject: Delete" in quoted


def test_signature_only_reply_above_quote():
    assert split_reply("Sent from my iPhone\n\n> old text") == ("", "> old text", "Sent from my iPhone")


def test_empty_and_crlf_input():
    assert split_reply("") == ("", "", "")
    assert split_reply("Yes\r\n\r\nOn Tue, 2 Jan 2024, Bob <b@x.org> wrote:\r\n> q\r\n") == (
        "Yes", "On Tue, 2 Jan 2024, Bob <b@x.org> wrote:\n> q", "")


def read_corpus(relative: str) -> str:
    path = CORPORA / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not available")
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.corpora
def test_long_lines_are_linear():
    text = read_corpus("email-reply-parser/email_long_quote.txt")
    pathological = read_corpus("mail-parser-reply/pathological.txt")
    started = time.process_time()
    split_reply(text)
    new, quoted, _ = split_reply(pathological)
    split_reply("x" * 700_000 + "\nOn Tue wrote:\n" + ("a " * 300_000))
    assert time.process_time() - started < 5
    assert "I think you're onto something" in new and "reference sequence" in quoted


# Expectations read off the files (and, where they exist, the upstream project's tests).
@pytest.mark.parametrize("name, in_new, not_in_new", [
    ("email_danish_1.txt", ["Hej Peter,", "Tak for din mail"], ["Hvordan går det"]),
    ("email_danish_2.txt", ["Jeg har modtaget filerne."], ["Her er filerne du bad om."]),
    ("email_ja_1_1.txt", ["こんにちは、みなさん！"], []),
    ("email_ja_1_2.txt", ["お世話になっております。織田です。", "それでは 11:00 にお待ちしております。"], ["かしこまりました"]),
    ("email_nl_1_2.txt", ["Outlook met een antwoord"], ["Google Apps Sync", "------"]),
    ("email_headers_no_delimiter.txt", ["And another reply!"], ["A reply", "This is a message."]),
    ("email_sent_from_iPhone.txt", ["Here is another email"], ["Sent from my iPhone"]),
    ("email_sv_anon_1.txt", ["Berättar gärna."], ["Ursäkta mitt sena svar", "Jag har försökt"]),
    ("email_swedish_1.txt", ["Ursäkta mitt sena svar!"], ["Jag har försökt få tag"]),
    ("email_gmail.txt", ["This is a test for inbox replying"], ["outdated", "wrote:"]),
    ("email_partial_quote_header.txt", ["telnet 127.0.0.1 52698"], ["odd issue", "George Plymale"]),
    ("multi_header.txt", ["No problem. I’ll just start a new order."], ["Hi XYZ", "wrote:"]),
    ("multiline_on_de.txt", ["Am heutigen Tage"], ["schrieb"]),
    ("outlook.txt", ["My number is: +00 0000 000 000"], ["Get Outlook"]),
    ("forward.txt", ["Can I get 1 Arrival Notice"], []),
    ("caution2.txt", ["I am trying to place an order"], []),
])
@pytest.mark.corpora
def test_mail_parser_reply_corpus(name, in_new, not_in_new):
    new, _, _ = split_reply(read_corpus(f"mail-parser-reply/{name}"))
    for expected in in_new:
        assert expected in new
    for unexpected in not_in_new:
        assert unexpected not in new


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.mark.corpora
def test_email_reply_trimmer_pass_rate():
    """Discourse's trimmer keeps quotes that come before the reply and never empties a
    message; we remove every quote, so a few cases differ by design (54 of 64 agreed)."""
    path = CORPORA / "email-reply-trimmer" / "email_reply_trimmer_cases.jsonl"
    if not path.is_file():
        pytest.skip("email-reply-trimmer corpus not available")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    agreed = [case["name"] for case in cases
              if _normalised(split_reply(case["input"])[0]) == _normalised(case["trimmed"])]
    assert "embedded_email_chinese.txt" in agreed
    assert len(agreed) / len(cases) >= 0.8, sorted(set(c["name"] for c in cases) - set(agreed))
