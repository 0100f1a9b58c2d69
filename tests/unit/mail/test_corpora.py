"""Every corpus message parses without raising, and known machine mail is recognised."""

from __future__ import annotations

import dataclasses
import sysconfig
from datetime import datetime
from pathlib import Path

import pytest

from bot.mail.parse import parse_message
from bot.mail.rules import auto_reply_reason, bounce_reason, machine_mail_reason

from tests.conftest import CORPORA  # noqa: E402
STDLIB_MAIL = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(path for path in CORPORA.rglob("*")
                  if path.is_file() and path.name != "MANIFEST.md" and path.suffix != ".jsonl")


def stdlib_files() -> list[Path]:
    return sorted(STDLIB_MAIL.glob("msg_*.txt")) if STDLIB_MAIL.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(CORPORA)) if path.is_relative_to(CORPORA) else f"stdlib/{path.name}"


def _check_fields(message) -> None:
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        values = value if isinstance(value, tuple) else (value,)
        if field.name in ("message_id", "reply_to", "report_type", "return_path"):
            values = tuple(v for v in values if v is not None)
        if field.name == "date":
            assert value is None or (isinstance(value, datetime) and value.tzinfo is not None)
            continue
        if field.name == "attachments":
            values = tuple(text for a in value for text in (a.filename, a.content_type))
            assert all(isinstance(a.size, int) and a.size >= 0 for a in value)
        if field.name == "headers":
            values = tuple(value) + tuple(text for texts in value.values() for text in texts)
        for text in values:
            assert isinstance(text, str), field.name
            assert "\x00" not in text, field.name
            text.encode("utf-8")  # no lone surrogates: the database and JSON must accept it


@pytest.mark.parametrize("path", corpus_files() + stdlib_files(), ids=_id)
def test_parses_without_raising(path):
    _check_fields(parse_message(path.read_bytes()))


@pytest.mark.corpora
def test_corpora_are_present():
    if not corpus_files():
        pytest.skip("corpora not available")
    assert len(corpus_files()) >= 290


def _message(relative: str):
    path = CORPORA / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not available")
    return parse_message(path.read_bytes())


def _glob(pattern: str) -> list[str]:
    return sorted(str(p.relative_to(CORPORA)) for p in CORPORA.glob(pattern)) if CORPORA.is_dir() else []


# From the corpora MANIFEST quick map, each checked by reading the file.
BOUNCES = (_glob("sisimai-set-of-emails/*/lhost-*.eml") + _glob("sisimai-set-of-emails/bsd/rfc3464-*.eml")
           + _glob("sisimai-set-of-emails/bsd/rhost-tencent-*.eml") + _glob("flanker/bounce/*.eml")
           + _glob("flufl-bounce/*.txt") + _glob("mikel-mail/multipart_report_emails/*.eml")
           + _glob("mimekit/messages/delivery-status*.txt")
           + ["bounceparser-perl/quota.msg", "bounceparser-perl/domino.unknown.msg",
              "bounceparser-perl/exchange.unknown.msg", "bounceparser-perl/iis-multiple-bounce.msg",
              "bounceparser-perl/user-unknown-polish.msg", "bounceparser-perl/warning-1.msg",
              "mimekit/messages/bounce.txt", "webklex-php-imap/example_bounce.eml",
              "spamscope-mail-parser/mail_malformed_2",
              "enmime/mail/multipart-wo-boundary.raw", "php-mime-mail-parser/failure.eml",
              "mikel-mail/mime_emails/raw_email_with_mimepart_without_content_type.eml"])
AUTO_REPLIES = (_glob("sisimai-set-of-emails/bsd/rfc3834-*.eml")
                + ["bounceparser-perl/aol-vacation.msg", "bounceparser-perl/autoreply.msg",
                   "bounceparser-perl/polish-autoreply.msg", "php-mime-mail-parser/issue212"])
OTHER_MACHINE_MAIL = (["flanker/disposition-notification.eml", "mimekit/messages/disposition-notification.txt",
                       "mimekit/messages/feedback-report.txt", "bounceparser-perl/boxbe-cr.msg",
                       "bounceparser-perl/boxbe-cr2.msg", "webklex-php-imap/mail_that_is_attachment.eml"]
                      + _glob("flanker/complaints/*.eml") + _glob("sisimai-set-of-emails/bsd/arf-*.eml"))
# Negative controls. Left out on purpose: bounceparser-perl/non-autoreply.msg is "not an
# auto-reply" only in the sense that it is a bounce (Mailer-Daemon, "Mail delivery failed"),
# and sisimai-set-of-emails/not/rb-issue-368-bug.eml is a postmaster "email bounce
# notification" with an empty Return-Path: both are machine mail for us (see below).
PEOPLE = (["sisimai-set-of-emails/not/is-not-bounce-01.eml", "sisimai-set-of-emails/not/is-not-bounce-02.eml"]
          + _glob("talon/standard_replies/*.eml") + _glob("webklex-php-imap/thread_*.eml")
          + _glob("django-helpdesk/*.eml"))


def test_a_bounce_whose_from_names_nobody_usable_is_for_staff():
    # 'From: "postmaster@" <sending_domain.tld postmaster@sending_domain.tld>' is no address (RFC 5322):
    # no sender, so the intake quarantines it as "no usable sender" (bot.intake.stages.require_sender).
    message = _message("webklex-php-imap/issue-462.eml")
    assert message.from_address == "" and "not dot-atom" in message.sender_refusal


@pytest.mark.parametrize("relative", BOUNCES)
@pytest.mark.corpora
def test_bounces_are_machine_mail(relative):
    message = _message(relative)
    assert bounce_reason(message) is not None
    assert machine_mail_reason(message) is not None


@pytest.mark.parametrize("relative", AUTO_REPLIES)
@pytest.mark.corpora
def test_auto_replies_are_machine_mail(relative):
    message = _message(relative)
    assert auto_reply_reason(message) is not None
    assert machine_mail_reason(message) is not None


@pytest.mark.parametrize("relative", OTHER_MACHINE_MAIL)
@pytest.mark.corpora
def test_reports_and_robots_are_machine_mail(relative):
    assert machine_mail_reason(_message(relative)) is not None


@pytest.mark.parametrize("relative", PEOPLE)
@pytest.mark.corpora
def test_people_are_not_machine_mail(relative):
    assert machine_mail_reason(_message(relative), own_addresses={"privacy@esl.cn"}) is None


@pytest.mark.corpora
def test_excluded_negative_controls_are_bounces():
    assert machine_mail_reason(_message("bounceparser-perl/non-autoreply.msg")).startswith("bounce:")
    assert machine_mail_reason(_message("sisimai-set-of-emails/not/rb-issue-368-bug.eml")).startswith("bounce:")


@pytest.mark.corpora
def test_bounce_report_types():
    assert _message("sisimai-set-of-emails/bsd/rhost-tencent-01.eml").report_type == "delivery-status"
    assert _message("flanker/complaints/aol.eml").report_type == "feedback-report"
