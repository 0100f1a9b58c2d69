"""The long-running `supportbot run`: IDLE push, reconnect after a dropped connection or an outage, clean stop."""
from __future__ import annotations

import re
import signal
import subprocess
import time

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
