"""Outages while `supportbot run` works: the SMTP server away, the database locked or unreachable."""
from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter

from sqlalchemy import text

from bot.store.db import make_engine
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from tests.conftest import POSTGRES_URL
from tests.integration.conftest import of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import start_bot, wait_for
from tests.support.tcp_proxy import TcpProxy

FAST_RETRIES = {"timeout_seconds": 2, "claim_lease_seconds": 10, "retry_base_seconds": 1}




class Bot:
    """`supportbot run` in a subprocess; its output is kept for the assertion messages."""

    def __init__(self, config, log_path) -> None:
        self.log_path = log_path
        self.proc = start_bot(config, stdout=open(log_path, "w"))

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        assert self.proc.returncode == 0, self.output


def _each_once(received, n: int) -> bool:
    acks = of_kind(received)
    return len(acks) == n and set(Counter(m.message["Message-ID"] for m in acks).values()) == {1}


def test_smtp_server_away_for_a_while_then_everything_goes_once(tmp_path, dovecot):
    smtp = RecordingSmtpServer().start()
    port = smtp.port
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 poll_seconds=1, sections={"smtp": FAST_RETRIES})
    bot = Bot(config, tmp_path / "bot.log")
    try:
        dovecot.append(mailgen.request(0))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 30), bot.output
        smtp.stop()                                        # the mail server goes away
        for n in range(1, 21):
            dovecot.append(mailgen.request(n))
        db = tmp_path / "bot.store.db"
        deferred = "SELECT count(*) FROM outboxmessage WHERE status = 'pending' AND attempts > 0"
        assert wait_for(lambda: sqlite3.connect(db).execute(deferred).fetchone()[0] >= 20, 60), bot.output
        smtp = RecordingSmtpServer(port=port).start()      # ... and comes back on its address
        assert wait_for(lambda: _each_once(smtp.received, 20), 90), bot.output
        assert sorted(m.recipients[0] for m in of_kind(smtp.received)) == sorted(
            f"user{n}@example.org" for n in range(1, 21))
    finally:
        bot.stop()
        smtp.stop()


def test_database_locked_for_a_while_loses_nothing(tmp_path, dovecot, smtp):
    db = tmp_path / "bot.store.db"
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{db}", poll_seconds=1,
                 sections={"smtp": FAST_RETRIES})
    bot = Bot(config, tmp_path / "bot.log")
    try:
        dovecot.append(mailgen.request(0))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 30), bot.output
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")                 # e.g. a backup or a migration holds it
        for n in range(1, 11):
            dovecot.append(mailgen.request(n))
        time.sleep(8)
        assert len(of_kind(smtp.received)) == 1            # nothing could be stored meanwhile
        blocker.execute("COMMIT")
        blocker.close()
        assert wait_for(lambda: _each_once(smtp.received, 11), 60), bot.output
        assert bot.proc.poll() is None
    finally:
        bot.stop()


def test_database_unreachable_for_a_while_loses_nothing(tmp_path, dovecot, smtp, postgres_database):
    proxy = TcpProxy("127.0.0.1", make_engine(POSTGRES_URL).url.port or 5432).start()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{postgres_database}"
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=url, poll_seconds=1, sections={"smtp": FAST_RETRIES})
    bot = Bot(config, tmp_path / "bot.log")
    try:
        dovecot.append(mailgen.request(0))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 60), bot.output
        proxy.cut()                                        # connections reset, new ones refused
        for n in range(1, 11):
            dovecot.append(mailgen.request(n))
        time.sleep(6)
        proxy.restore()
        assert wait_for(lambda: _each_once(smtp.received, 11), 90), bot.output
        assert bot.proc.poll() is None
    finally:
        bot.stop()
        proxy.stop()
    direct = make_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/" + postgres_database)
    with direct.connect() as conn:
        rows = conn.execute(text("SELECT status, ticket_id IS NOT NULL FROM inboundmessage")).all()
    direct.dispose()
    assert sorted(rows) == [("handled", True)] * 11       # none quarantined because the database was away
