"""Logs: text or JSON lines, and never a full address, a phone number or a message body."""
from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot.config import Settings, SmtpSettings
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from bot.logs import redact, setup_logging
from bot.mail.sink import SmtpSink
from bot.outbox.sender import drain_outbox
from tests.support.pipeline_flow import Flow, make_app, mail

BODY = "Please delete my account. My phone is 137 0013 7000, my other mail is john.smith@example.net."


@pytest.fixture
def captured():
    """The root logger's handlers and level, put back after the test replaced them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("text,expected", [
    ("to owner@example.org", "to o***@example.org"),
    ("<John.Smith+x@mail.example.co.uk>", "<J***@mail.example.co.uk>"),
    ("call +86 138 0013 8000", "call [phone]"),
    ("call 13800138000 or 139-0013-9001", "call [phone] or [phone]"),
    ("+8613800138000", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("due 2026-11-24 19:00, uid=12345", "due 2026-11-24 19:00, uid=12345"),   # dates and short numbers stay
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_json_lines_are_masked_including_tracebacks_and_extras(captured):
    setup_logging(fmt="json", level="INFO", stream=captured)
    log = logging.getLogger("bot.test")
    log.debug("not at INFO")
    log.info("mail to %s", "owner@example.org", extra={"who": "ann@example.com", "count": 3})
    try:
        raise ValueError("550 <john.smith@example.net> unknown, call 13800138000")
    except ValueError:
        log.exception("send failed")
    first, second = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert {k: first[k] for k in ("level", "logger", "message", "who", "count")} == {
        "level": "INFO", "logger": "bot.test", "message": "mail to o***@example.org", "who": "a***@example.com",
        "count": 3}
    assert first["time"][:4].isdigit()
    assert second["message"] == "send failed" and "ValueError: 550 <j***@example.net> unknown, call [phone]" \
        in second["exception"]


def test_text_lines_mask_the_traceback_too(captured):
    setup_logging(fmt="text", stream=captured)
    try:
        raise RuntimeError("rejected owner@example.org")
    except RuntimeError:
        logging.getLogger("bot.test").exception("for %s", "owner@example.org")
    out = captured.getvalue()
    assert "ERROR bot.test: for o***@example.org" in out and "RuntimeError: rejected o***@example.org" in out
    assert "owner@" not in out


def test_the_pipeline_and_the_sender_log_no_address_phone_or_body(engine, clock, tmp_path, captured):
    setup_logging(verbose=True, fmt="json", stream=captured)   # DEBUG: everything any stage says
    app = make_app(engine, clock, tmp_path)   # codes by SMS go to the logging sender
    flow = Flow(app)
    flow.send(mail("owner@example.org", "Delete my account", BODY, "<p1@x>"))
    flow.send(mail("stranger@example.org", "Help", "My phone number is 13700137000, delete my data.", "<p2@x>"))
    with RecordingSmtpServer() as smtp:
        # A server that names the recipient and a phone number in its refusal, as many do.
        smtp.fail("451 4.2.2 mailbox of owner@example.org is full; call +86 138 0013 8000")
        smtp_settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none",
                                     from_address="support@esl.example")
        report = asyncio.run(drain_outbox(app.sessions, SmtpSink(smtp_settings), clock, smtp_settings, sms=app.sms))
    assert report.deferred >= 1
    out = captured.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    messages = " | ".join(line["message"] for line in lines)
    assert "o***@example.org" in messages                        # the address reached a log call, masked
    assert "[phone]" in messages and "SMS code for" in messages
    assert {"bot.outbox.results", "bot.mail.sms"} <= {line["logger"] for line in lines}
    for secret in ("owner@example.org", "stranger@example.org", "john.smith@example.net", "13700137000",
                   "137 0013 7000", "138 0013 8000", "Please delete my account", "delete my data"):
        assert secret not in out


def test_the_logging_settings_are_validated():
    assert Settings(logging={"format": "json", "level": "DEBUG"}).logging.format == "json"
    with pytest.raises(ValueError):
        Settings(logging={"format": "xml"})


def test_spacy_lines_are_printed_once(capfd):
    import logging

    import bot.classify.training  # noqa: F401 - imports spaCy, which adds a handler of its own
    from bot.logs import setup_logging
    setup_logging(False, fmt="text", level="INFO")
    logging.getLogger("spacy").info("Created vocabulary marker-4711")
    assert (capfd.readouterr().err).count("marker-4711") == 1
