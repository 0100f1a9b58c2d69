"""The long-running `supportbot run`: IDLE push, reconnect after a dropped connection or an outage, clean stop."""
from __future__ import annotations

import random
import re
import signal
import subprocess
import time

from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from tests.integration.conftest import of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import start_bot, wait_for

# Longer than a backoff that doubles to a minute needs to reach a minute-long wait.
OUTAGE_SECONDS = 70


def test_idle_push_and_reconnect(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    # A poll interval far longer than the test: anything answered quickly came through IDLE.
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 poll_seconds=600)
    proc = start_bot(config, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # let it connect and enter IDLE
        dovecot.append(mailgen.request(1))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 15), "no acknowledgement pushed via IDLE"

        dovecot.kill_connections()
        dovecot.append(mailgen.request(2))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 2, 30), "did not reconnect after the drop"

        dovecot.restart()
        dovecot.append(mailgen.request(3))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 3, 60), "did not reconnect after a server restart"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    assert sorted(m.recipients[0] for m in of_kind(smtp.received)) == [f"user{n}@example.org" for n in (1, 2, 3)]
    assert "user1@example.org" not in output  # logs carry no full addresses
    assert output.count("became the fetcher") == 1   # alone on its database, it takes the fetch lock once


def test_reconnects_within_30_seconds_after_a_long_outage(tmp_path, dovecot, smtp):
    """Down long enough for a doubling backoff to pass a minute; once back, the next attempt is soon."""
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 poll_seconds=600)
    proc = start_bot(config, stdout=subprocess.PIPE, text=True)
    try:
        dovecot.append(mailgen.request(1))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 30), "the first request was not answered"
        dovecot.stop()
        time.sleep(OUTAGE_SECONDS)
        dovecot.start()
        dovecot.append(mailgen.request(2))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 2, 30), "not back within 30 s of the server"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    delays = [int(n) for n in re.findall(r"IMAP connection problem \(\w+\); retrying in (\d+)s", output)]
    assert len(delays) >= 4, output        # it kept trying through the outage
    assert max(delays) < 30, delays         # and never slept so long that it could miss the 30 s


ACK_WITHIN_SECONDS = 2.5   # handling takes 0.03-1 s; a request left for the next poll waits 600 s here


def test_no_request_waits_for_the_next_poll(tmp_path, dovecot):
    """Mail APPENDed at random moments, many of them while the bot is between a drain and IDLE:
    every acknowledgement comes within seconds, none waits for the (here ten-minute) re-check."""
    acked: dict[str, float] = {}
    with RecordingSmtpServer(on_accept=lambda mail: acked.setdefault(mail.recipients[0], time.monotonic())) as smtp:
        config = tmp_path / "cfg.toml"
        write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                     poll_seconds=600, processed_folder="Processed")
        proc = start_bot(config, stdout=subprocess.PIPE, text=True)
        try:
            dovecot.append(mailgen.request(0))   # the bot is up and watching once this is answered
            assert wait_for(lambda: "user0@example.org" in acked, 60), "the first request was not answered"
            rng = random.Random(13)
            appended: dict[str, float] = {}
            for n in range(1, 31):
                # In pairs: the second of each lands 0-0.6 s after the first, often while the first is
                # being handled, i.e. between a drain and IDLE; then a quiet spell longer than the bound,
                # so that no later mail wakes the watcher for one that was missed.
                time.sleep(rng.uniform(0.0, 0.6) if n % 2 == 0 else ACK_WITHIN_SECONDS + 0.5)
                dovecot.append(mailgen.request(n))
                appended[f"user{n}@example.org"] = time.monotonic()
            wait_for(lambda: set(appended) <= set(acked), 10)
        finally:
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=30)[0]
    latencies = {who: acked[who] - at if who in acked else None for who, at in appended.items()}
    late = {who: delay for who, delay in latencies.items() if delay is None or delay > ACK_WITHIN_SECONDS}
    assert not late, (late, output[-3000:])
    assert proc.returncode == 0, output
