"""parse_message on hand-built broken mail and on Chinese-charset corpus files."""

from __future__ import annotations

import base64
import time
from datetime import timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.mail.parse import ParsedMessage, parse_message

from tests.conftest import CORPORA  # noqa: E402
# Characters that exist in GBK but not in GB2312: strict GB2312 decoding fails on them.
GBK_ONLY = "张喆和朱镕基"


def corpus(relative: str) -> bytes:
    path = CORPORA / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not available")
    return path.read_bytes()


def test_gbk_only_characters_in_gb2312_labelled_body():
    with pytest.raises(UnicodeEncodeError):
        GBK_ONLY.encode("gb2312")  # guard: the sample really is outside GB2312
    raw = (b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=gb2312\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "请删除".encode("gbk") + GBK_ONLY.encode("gbk"))
    assert parse_message(raw).text == "请删除" + GBK_ONLY


@pytest.mark.parametrize("label", ["GB_2312-80", "EUC-CN", "X-GBK", "gbk", "GB2312"])
def test_chinese_charset_labels_decode_as_gb18030(label):
    raw = (f"Content-Type: text/plain; charset=\"{label}\"\n\n".encode()
           + GBK_ONLY.encode("gbk"))
    message = parse_message(raw)
    assert message.text == GBK_ONLY
    assert not any("unknown charset" in note for note in message.defects)


def test_undeclared_8bit_utf8_body():
    raw = b"From: a@example.com\nSubject: hi\n\n" + "你好，请删除我的账号。".encode("utf-8")
    assert parse_message(raw).text == "你好，请删除我的账号。"


def test_wrong_declared_charset_latin1_label_utf8_bytes():
    raw = (b"Content-Type: text/plain; charset=iso-8859-1\n\n" + "请删除我的个人信息".encode("utf-8"))
    message = parse_message(raw)
    assert message.text == "请删除我的个人信息"
    assert any("UTF-8" in note for note in message.defects)


def test_unknown_charset_name_is_noted_and_text_still_readable():
    raw = b"Content-Type: text/plain; charset=x-no-such-charset\n\n" + "数据删除".encode("utf-8")
    message = parse_message(raw)
    assert message.text == "数据删除"
    assert any("unknown charset" in note for note in message.defects)


def test_undeclared_gbk_body_falls_back_to_a_chinese_decoding():
    raw = b"Subject: x\n\n" + "您好，我想查询我的个人信息，并要求删除账号。谢谢！".encode("gbk") * 3
    assert "我想查询我的个人信息" in parse_message(raw).text


@pytest.mark.parametrize("hint", [b"Content-Type: text/plain; charset=gb2312\n", b""])
def test_raw_8bit_gb2312_subject(hint):
    raw = b"Subject: " + "删除个人信息".encode("gb2312") + b"\n" + hint + b"\nbody"
    message = parse_message(raw)
    assert message.subject == "删除个人信息"
    assert any("8-bit" in note for note in message.defects)


def test_raw_8bit_latin1_subject_is_not_read_as_chinese():
    raw = b"Subject: Forma\xe7\xe3o Ver\xe3o\n\nbody"
    assert parse_message(raw).subject == "Formação Verão"


def word(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


@pytest.mark.parametrize("subject, expected", [
    (word("utf-8", "删除个人信息".encode()).removesuffix("?="), "删除个人信息"),      # unterminated
    (word("iso-8859-1", "删除个人信息".encode()), "删除个人信息"),                    # wrong charset
    (word("gb2312", GBK_ONLY.encode("gbk")), GBK_ONLY),                             # GBK bytes, GB2312 label
    (word("x-unknown", "删除".encode()), "删除"),                                     # unknown charset
    (word("utf-8", "删除".encode()[:4]) + " " + word("utf-8", "删除".encode()[4:]), "删除"),  # split char
    ("=?utf-8?Q?Re:_=E5=88=A0=E9=99=A4_request?=", "Re: 删除 request"),
    ("Hello =?utf-8?B?5Lit5paH?= world", "Hello 中文 world"),
])
def test_broken_encoded_words_give_readable_subjects(subject, expected):
    message = parse_message(f"Subject: {subject}\n\nbody".encode())
    assert message.subject == expected


def test_html_only_mail_becomes_text_without_tags():
    raw = (b"Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style>"
           b"<script>var secret=1;</script></head><body><p>Please <b>delete</b> my account</p>"
           + "<p>谢谢&amp;再见</p></body></html>".encode())
    text = parse_message(raw).text
    assert "Please delete my account" in text and "谢谢&再见" in text
    assert "<" not in text and "secret" not in text and "color" not in text


def alternative(plain: str, html: str) -> bytes:
    return (b'Content-Type: multipart/alternative; boundary="b"\n\n--b\n'
            b"Content-Type: text/plain; charset=utf-8\n\n" + plain.encode() + b"\n--b\n"
            b"Content-Type: text/html; charset=utf-8\n\n" + html.encode() + b"\n--b--\n")


def test_alternative_prefers_plain_text():
    assert parse_message(alternative("plain version", "<p>html version</p>")).text == "plain version"


def test_alternative_uses_html_when_plain_part_is_empty():
    assert parse_message(alternative("  \n", "<p>html version</p>")).text.strip() == "html version"


def test_attachment_names_are_stripped_of_paths_and_bodies_skipped():
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n'
           b'--b\nContent-Type: text/plain; name="x"\nContent-Disposition: attachment; filename="../../etc/passwd"\n\n'
           b"root:x:0:0\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
           b'Content-Disposition: attachment; filename="..\\\\..\\\\windows\\\\evil.exe"\n\nTVqQAAMAAAA=\n'
           b"--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"..\"\n\nxx\n--b--\n")
    message = parse_message(raw)
    assert message.text == "see attached"
    assert [a.filename for a in message.attachments] == ["passwd", "evil.exe", ""]
    assert message.attachments[1].size == len(base64.b64decode("TVqQAAMAAAA="))
    assert message.attachments[1].content_type == "application/octet-stream"


def test_a_raw_8bit_attachment_name_is_read_from_its_own_header():
    name = "管理.doc".encode("gbk")
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n'
           b"--b\nContent-Type: application/msword;\n\tname=" + name + b"\nContent-Disposition: attachment;\n"
           b"\tfilename=" + name + b"\n\nxx\n--b--\n")
    assert [a.filename for a in parse_message(raw).attachments] == ["管理.doc"]


def test_an_unquoted_boundary_holding_equals_signs_is_read():
    raw = (b"Content-Type: multipart/alternative; boundary=----=_NextPart_000_0093\n\n"
           b"------=_NextPart_000_0093\nContent-Type: text/plain\n\nplain words\n"
           b"------=_NextPart_000_0093\nContent-Type: text/html\n\n<p>html words</p>\n------=_NextPart_000_0093--\n")
    message = parse_message(raw)
    assert message.text == "plain words" and message.defects == ()


def test_forwarded_message_is_listed_not_merged():
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nFYI\n--b\n'
           b"Content-Type: message/rfc822\n\nSubject: inner\nFrom: x@example.com\n\ninner secret text\n--b--\n")
    message = parse_message(raw)
    assert message.text == "FYI" and "inner secret text" not in message.text
    assert [a.content_type for a in message.attachments] == ["message/rfc822"]
    assert message.attachments[0].size > 0


@pytest.mark.parametrize("header, expected", [
    (b"", None), (b"Message-ID: garbage here\n", None), (b"Message-ID:\n", None),
    (b"Message-ID: <abc.123@example.com>\n", "<abc.123@example.com>"),
    (b"Message-ID: abc.123@example.com\n", "<abc.123@example.com>"),
    (b"Message-ID:   < abc@example.com >  (comment)\n", "<abc@example.com>"),
])
def test_message_id_normalisation(header, expected):
    assert parse_message(header + b"Subject: x\n\nbody").message_id == expected


def test_threading_headers_keep_order_and_drop_junk():
    raw = (b"In-Reply-To: Your message of Tuesday <a@x.org>\nReferences: <r1@x.org>\n <r2@x.org> junk <r1@x.org>\n"
           b"\nbody")
    message = parse_message(raw)
    assert message.in_reply_to == ("<a@x.org>",)
    assert message.references == ("<r1@x.org>", "<r2@x.org>")


def test_addresses_dates_and_return_path():
    raw = ("From: =?utf-8?B?5byg5LiJ?= <Zhang.San@Example.COM>\nReply-To: Help <HELP@example.com>\n"
           "To: a@x.org, \"B, Bee\" <B@x.org>\nCc: c@x.org\nDate: Tue, 2 Jan 2024 10:00:00 +0800\n"
           "Return-Path: <>\n\nbody").encode()
    message = parse_message(raw)
    assert (message.from_name, message.from_address) == ("张三", "zhang.san@example.com")
    assert message.reply_to == "help@example.com"
    assert message.to == ("a@x.org", "b@x.org", "c@x.org")
    assert message.date is not None and message.date.utcoffset().total_seconds() == 8 * 3600
    assert message.return_path == ""


def test_garbage_and_zoneless_dates():
    assert parse_message(b"Date: the day after tomorrow\n\nx").date is None
    assert parse_message(b"Date: Tue, 2 Jan 2024 10:00:00 -0000\n\nx").date.tzinfo == timezone.utc
    assert parse_message(b"Subject: x\n\nx").return_path is None


def test_multipart_without_boundary_is_recovered():
    raw = (b"Content-Type: multipart/mixed\n\n--XyZ123\nContent-Type: text/plain\n\nfirst part\n"
           b"--XyZ123\nContent-Type: text/plain\n\nsecond part\n--XyZ123--\n")
    message = parse_message(raw)
    assert "first part" in message.text and "second part" in message.text
    assert "--XyZ123" not in message.text


def test_missing_final_boundary_and_broken_base64():
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n'
           b"Content-Transfer-Encoding: base64\n\n5Yig6Zmk5oiR55qE\n6LSm5Y+3\n")  # unpadded, no closing boundary
    assert parse_message(raw).text == "删除我的账号"


def test_broken_quoted_printable_keeps_the_text():
    raw = (b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
           b"=E5=88=A0=E9=99=A4 =ZZ bad escape=\nsoft break")
    assert parse_message(raw).text == "删除 =ZZ bad escapesoft break"


def test_missing_content_type_defaults_to_plain_text():
    message = parse_message(b"From: a@example.com\nSubject: hi\n\nhello there")
    assert (message.content_type, message.text) == ("text/plain", "hello there")


def test_headers_mapping_is_lower_case_and_read_only():
    message = parse_message(b"X-Mixed-Case: one\nx-mixed-case: two\nSubject: =?utf-8?B?5Lit?=\n\nbody")
    assert message.headers["x-mixed-case"] == ("one", "two")
    assert message.headers["subject"] == ("中",)
    with pytest.raises(TypeError):
        message.headers["new"] = ("x",)  # type: ignore[index]


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe" * 100, b"\n\n\n", b"::::\n\n", "文本".encode(),
                                 b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n"])
def test_never_raises_on_junk(raw):
    message = parse_message(raw)
    assert isinstance(message, ParsedMessage) and isinstance(message.text, str)
    assert "\x00" not in message.text


_HEADER_LINES = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=b\n", b"Content-Type: text/plain; charset=gb2312\n",
    b"Content-Type: text/html; charset=x-bogus\n", b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n", b"Subject: =?utf-8?B?5Lit\n", b"From: <>\n",
    b"Date: 99 Foo 99999 99:99\n", b"Message-ID: <<@>>\n", b"--b\n", b"--b--\n", b"\n", b"\xff\xfe\x00\n",
    b"Content-Type: message/rfc822\n", b"Content-Disposition: attachment; filename*=utf-8''%E4%B8\n",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_HEADER_LINES, st.binary(max_size=40)), max_size=30))
def test_never_raises_on_generated_mail(chunks):
    message = parse_message(b"".join(chunks))
    for text in (message.text, message.subject, message.new_text, *message.defects):
        text.encode("utf-8")


def test_inline_text_parts_are_all_included():
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nbefore the picture\n'
           b"--b\nContent-Type: image/png\nContent-Disposition: inline\n\nPNG\n--b\n"
           b"Content-Type: text/plain\nContent-Disposition: inline\n\nafter the picture\n--b--\n")
    message = parse_message(raw)
    assert message.text == "before the picture\n\nafter the picture"
    assert [a.content_type for a in message.attachments] == ["image/png"]


def test_reply_parts_are_split():
    raw = ("Subject: Re: 删除请求\n\n好的，请删除。\n\n发自我的iPhone\n\n在 2024年1月2日，ESL <p@esl.cn> 写道：\n"
           "> 您好\n").encode()
    message = parse_message(raw)
    assert (message.new_text, message.signature) == ("好的，请删除。", "发自我的iPhone")
    assert "您好" in message.quoted_text and message.normalized_subject == "删除请求"


def test_long_single_line_is_handled_quickly():
    raw = b"Subject: long\n\n" + b"word " * 140_000 + b"\n> quoted\n"
    started = time.process_time()
    message = parse_message(raw)
    assert time.process_time() - started < 10
    assert len(message.new_text) > 600_000


# Corpus files in Chinese charsets; expected strings were checked by decoding the files by hand.
@pytest.mark.corpora
def test_corpus_gb2312_subject_with_gbk_only_byte():
    message = parse_message(corpus("spamscope-mail-parser/mail_test_9"))
    assert "我把镜头拉近些" in message.subject and "场合" in message.subject
    assert "镜头拉近" in message.text and "<" not in message.text


@pytest.mark.corpora
def test_corpus_gb2312_label_on_utf8_body():
    message = parse_message(corpus("spamscope-mail-parser/mail_test_12"))
    assert message.subject == "代开各地增值税发票" and message.from_name == "张先生"
    assert "增值税发票" in message.text


@pytest.mark.corpora
def test_corpus_x_gbk_label():
    message = parse_message(corpus("webklex-php-imap/gbk_charset.eml"))
    assert message.text == "Hi" and message.defects == ()


@pytest.mark.corpora
def test_corpus_sina_bounce_with_raw_gb2312_subject():
    message = parse_message(corpus("flufl-bounce/sina_01.txt"))
    assert message.subject == "邮件传输失败！"
    assert "邮件无法发送到您指定的地址中" in message.text
    assert [a.filename for a in message.attachments] == ["original message.eml"]


@pytest.mark.corpora
def test_corpus_gbk_labelled_gb2312_japanese_ndr():
    message = parse_message(corpus("php-mime-mail-parser/failure.eml"))
    assert "次の受信者またはグループへの配信に失敗しました" in message.text


@pytest.mark.corpora
def test_corpus_path_traversal_attachment_name():
    message = parse_message(corpus("php-mime-mail-parser/m0027"))
    assert [a.filename for a in message.attachments] == ["1234.txt"]
