"""Machine-mail predicates on hand-built messages."""

from __future__ import annotations

import pytest

from bot.mail.parse import ParsedMessage, parse_message
from bot.mail.rules import (auto_reply_reason, bounce_reason, from_us_reason, list_mail_reason,
                            machine_mail_reason, noreply_reason)


def mail(headers: str = "", *, sender: str = "Jane <jane@example.com>", subject: str = "Delete my data",
         body: str = "Please delete my account.") -> ParsedMessage:
    top = f"From: {sender}\nTo: privacy@esl.cn\nSubject: {subject}\n{headers}"
    return parse_message((top.rstrip("\n") + "\n\n" + body).encode())


def report(report_type: str, part_type: str) -> ParsedMessage:
    body = (f"--b\nContent-Type: text/plain\n\nreport\n--b\nContent-Type: {part_type}\n\n"
            "Reporting-MTA: dns; mx.example.com\n\n--b--\n")
    return mail(f'Content-Type: multipart/report; report-type={report_type}; boundary="b"\n',
                sender="Mail System <robot@example.com>", body=body)


def test_a_person_is_not_machine_mail():
    message = mail()
    assert machine_mail_reason(message, own_addresses={"privacy@esl.cn"}) is None
    for check in (auto_reply_reason, bounce_reason, noreply_reason, list_mail_reason):
        assert check(message) is None


@pytest.mark.parametrize("headers, reason", [
    ("Auto-Submitted: auto-replied\n", "auto-submitted: auto-replied"),
    ("Auto-Submitted: Auto-Generated; owner-email=x@y\n", "auto-submitted: auto-generated"),
    ("X-Autoreply: yes\n", "x-autoreply: yes"),
    ("X-Autorespond: Out of office\n", "x-autorespond: out of office"),
    ("X-Autoresponse: 1\n", "x-autoresponse: 1"),
    ("Precedence: bulk\n", "precedence: bulk"),
    ("Precedence: junk\n", "precedence: junk"),
    ("Precedence: auto_reply\n", "precedence: auto_reply"),
    ("X-Auto-Response-Suppress: All\n", "x-auto-response-suppress"),
])
def test_auto_reply_headers(headers, reason):
    assert auto_reply_reason(mail(headers)) == reason


def test_auto_submitted_no_is_a_person():
    assert auto_reply_reason(mail("Auto-Submitted: no\n")) is None


@pytest.mark.parametrize("subject", [
    "Automatic reply: Delete my data", "Auto reply: hello", "Out of Office: Delete my data",
    "Out of Office", "自动回复：删除请求", "自動回覆: 删除请求", "Abwesenheitsnotiz: Datenlöschung",
    "Réponse automatique : suppression", "[Automatyczna odpowiedź] test",
])
def test_clear_vacation_subjects(subject):
    assert auto_reply_reason(mail(subject=subject)) == "subject: auto-reply"


@pytest.mark.parametrize("subject", [
    "Auto: Delete my data", "I am out of the office until Monday", "On vacation", "休假通知",
])
def test_loose_vacation_subjects_need_a_header_hint(subject):
    assert auto_reply_reason(mail(subject=subject)) is None
    assert auto_reply_reason(mail("Return-Path: <>\n", subject=subject)) == "subject: auto-reply"


@pytest.mark.parametrize("subject", [
    "Automatic replies from your bot are annoying", "Question about automatic reply settings",
    "自动回复功能怎么关闭", "Why did I get an out of office message?", "Re: Auto renewal",
])
def test_people_writing_about_auto_replies_are_not_flagged(subject):
    assert machine_mail_reason(mail(subject=subject)) is None


@pytest.mark.parametrize("report_type, part_type, reason", [
    ("delivery-status", "message/delivery-status", "bounce: delivery-status"),
    ("disposition-notification", "message/disposition-notification", "report: disposition-notification"),
    ("feedback-report", "message/feedback-report", "report: feedback-report"),
])
def test_reports(report_type, part_type, reason):
    assert bounce_reason(report(report_type, part_type)) == reason


def test_delivery_status_part_inside_another_multipart_is_a_bounce():
    body = ("--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/delivery-status\n\n"
            "Action: failed\n\n--b--\n")
    message = mail('Content-Type: multipart/mixed; boundary="b"\n', body=body)
    assert bounce_reason(message) == "bounce: delivery-status"


@pytest.mark.parametrize("sender, reason", [
    ("MAILER-DAEMON@mx.example.com", "bounce: from mailer-daemon"),
    ("Mail Delivery System <Mailer-Daemon@example.org>", "bounce: from mailer-daemon"),
    ("postmaster@example.org", "bounce: from postmaster"),
])
def test_mailer_daemon_senders(sender, reason):
    assert bounce_reason(mail(sender=sender)) == reason


def test_null_return_path():
    assert bounce_reason(mail("Return-Path: <>\n")) == "bounce: null return-path"
    assert bounce_reason(mail("Return-Path: <jane@example.com>\n")) is None


@pytest.mark.parametrize("sender", [
    "noreply@example.com", "no-reply@example.com", "No_Reply+abc@example.com", "do-not-reply@example.com",
    "DoNotReply@example.com", "notifications-noreply@example.com",
])
def test_noreply_senders(sender):
    assert noreply_reason(mail(sender=sender)) == f"no-reply: {sender.lower()}"


def test_noreply_sender_with_a_human_reply_to_is_answerable():
    form = mail("Reply-To: user@example.com\n", sender="ESL web form <noreply@esl.cn>")
    assert noreply_reason(form) is None
    assert noreply_reason(mail("Reply-To: no-reply@example.com\n")) == "no-reply: no-reply@example.com"
    assert noreply_reason(mail(sender="nora@example.com")) is None


def test_list_mail():
    assert list_mail_reason(mail("List-Id: <users.lists.example.org>\nPrecedence: list\n")) == \
        "list: <users.lists.example.org>"
    assert list_mail_reason(mail("List-Unsubscribe: <mailto:u@x.org>\nPrecedence: bulk\n")) == \
        "list: list-unsubscribe"
    assert list_mail_reason(mail("List-Id: <users.lists.example.org>\n")) is None


def test_from_us():
    message = mail(sender="ESL Privacy <Privacy@ESL.cn>")
    assert from_us_reason(message, {"privacy@esl.cn"}) == "from us: privacy@esl.cn"
    assert from_us_reason(message, {"PRIVACY@esl.cn "}) == "from us: privacy@esl.cn"
    assert from_us_reason(message, ()) is None
    assert from_us_reason(mail(), {"privacy@esl.cn"}) is None


def test_machine_mail_reason_order():
    loop = mail("Auto-Submitted: auto-replied\n", sender="privacy@esl.cn")
    assert machine_mail_reason(loop, own_addresses=["privacy@esl.cn"]) == "from us: privacy@esl.cn"
    bounce = mail("Auto-Submitted: auto-replied\nReturn-Path: <>\n", sender="MAILER-DAEMON@x.org")
    assert machine_mail_reason(bounce) == "bounce: from mailer-daemon"
    vacation = mail("Auto-Submitted: auto-replied\nReturn-Path: <>\n")
    assert machine_mail_reason(vacation) == "auto-submitted: auto-replied"
    listed = mail("List-Id: <l.example.org>\nPrecedence: list\n")
    assert machine_mail_reason(listed) == "list: <l.example.org>"
    assert machine_mail_reason(mail("Return-Path: <>\n")) == "bounce: null return-path"
    assert machine_mail_reason(mail(sender="noreply@x.org")) == "no-reply: noreply@x.org"
