"""The SMTP sink against the recording aiosmtpd server: one connection per drain, refusals mapped."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.clock import FixedClock
from bot.config import SmtpSettings
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from bot.mail.sink import PermanentFailure, SmtpSink, TemporaryFailure


@pytest.fixture
def smtp():
    with RecordingSmtpServer() as server:
        yield server


def _sink(port: int, clock=None) -> SmtpSink:
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", from_address="support@esl.example")
    return SmtpSink(settings, clock or FixedClock(datetime(2025, 3, 3, tzinfo=timezone.utc)))


def _mail(n: int) -> bytes:
    return f"From: support@esl.example\r\nTo: u{n}@example.org\r\nSubject: n{n}\r\n\r\nbody {n}\r\n".encode()


async def _send(sink: SmtpSink, *numbers: int, close: bool = True) -> list[Exception | None]:
    results: list[Exception | None] = []
    for n in numbers:
        try:
            await sink.send(_mail(n), sender="support@esl.example", recipients=[f"u{n}@example.org"])
            results.append(None)
        except (TemporaryFailure, PermanentFailure) as exc:
            results.append(exc)
    if close:
        await sink.close()
    return results


def test_one_connection_carries_a_whole_drain_and_close_ends_it(smtp):
    sink = _sink(smtp.port)
    assert asyncio.run(_send(sink, 1, 2, 3)) == [None, None, None]
    assert asyncio.run(_send(sink, 4)) == [None]
    received = smtp.received
    assert [m.recipients for m in received] == [["u1@example.org"], ["u2@example.org"], ["u3@example.org"],
                                                ["u4@example.org"]]
    assert len({m.peer for m in received[:3]}) == 1      # the first drain: one connection
    assert received[3].peer != received[0].peer           # closed after it; the next drain connects anew


def test_a_refused_message_leaves_the_connection_usable_for_the_next(smtp):
    sink = _sink(smtp.port)
    smtp.fail("550 5.7.1 not here", count=1)
    first, second = asyncio.run(_send(sink, 1, 2))
    assert isinstance(first, PermanentFailure) and "550" in str(first)
    assert second is None and [m.recipients for m in smtp.received] == [["u2@example.org"]]
    smtp.fail("451 4.3.0 later", count=1)
    later, after = asyncio.run(_send(sink, 3, 4))
    assert isinstance(later, TemporaryFailure) and after is None


def test_a_connection_closed_meanwhile_is_replaced_before_the_next_message(smtp):
    clock = FixedClock(datetime(2025, 3, 3, tzinfo=timezone.utc))
    sink = _sink(smtp.port, clock)

    async def scenario() -> list:
        results = await _send(sink, 1, close=False)
        sink._client.close()   # gone, as after a server's idle timeout
        clock.advance(timedelta(minutes=5))
        return results + await _send(sink, 2)

    assert asyncio.run(scenario()) == [None, None]
    assert [m.recipients for m in smtp.received] == [["u1@example.org"], ["u2@example.org"]]


def test_nobody_listening_is_a_temporary_failure():
    with RecordingSmtpServer() as server:
        port = server.port
    (failure,) = asyncio.run(_send(_sink(port), 1))
    assert isinstance(failure, TemporaryFailure)
