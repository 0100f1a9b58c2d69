"""The sender's own process: it sends when poked, stops when told, and ends with a bot that is killed."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import select

from bot.config import Settings
from bot.outbox.queue import queue_mail
from bot.service.app import build_app
from bot.service.sender_process import SenderProcess
from bot.store.models import OutboxMessage
from tests.integration.conftest import of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import start_bot, wait_for


def _queue(app, to: str) -> None:
    with app.sessions() as session:
        queue_mail(session, settings=app.settings, now=datetime.now(timezone.utc), ticket=None, kind="reply",
                   to=to, subject="Your request", text="Our answer.", auto_submitted=None, actor="staff@esl.example")
        session.commit()


def test_a_poke_sends_from_the_child_and_stop_ends_it(tmp_path, smtp):
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'bot.db'}"},
                        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none",
                              "from_address": "support@esl.example"})
    app = build_app(settings)
    sender = SenderProcess(app, idle_seconds=600)   # nothing is sent without a poke within the test
    sender.start()
    try:
        assert sender.alive() and sender.process.pid != os.getpid()
        time.sleep(1)   # its first round, on an empty outbox, is over
        _queue(app, "first@example.org")
        time.sleep(1)
        assert smtp.received == []   # not polled for: it waits to be poked
        sender.poke()
        assert wait_for(lambda: len(smtp.received) == 1, 20), "a poke did not send the queued mail"
        for n in range(3):   # pokes while it sends are not lost: each mail goes, once
            _queue(app, f"more{n}@example.org")
            sender.poke()
        assert wait_for(lambda: len(smtp.received) == 4, 20)
        _queue(app, "last@example.org")   # queued just before the end, never poked for
    finally:
        report = sender.stop(timeout=30)
    assert not sender.alive() and sender.process.exitcode == 0
    assert report is not None and report.sent == 5 and report.failed == 0   # its last round sent the last one
    assert "last@example.org" in {m.recipients[0] for m in smtp.received}
    assert sorted(m.recipients[0] for m in smtp.received) == sorted(
        ["first@example.org", "last@example.org", *(f"more{n}@example.org" for n in range(3))])
    with app.sessions() as session:
        assert {row.status for row in session.exec(select(OutboxMessage))} == {"sent"}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_the_sender_ends_with_a_killed_bot_and_acknowledgements_go_out(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 poll_seconds=600)
    proc = start_bot(config)
    try:
        dovecot.append(mailgen.request(1))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 30), "no acknowledgement"
        children = _children(proc.pid)
        assert len(children) == 1, children   # the sender
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert wait_for(lambda: not Path(f"/proc/{children[0]}").exists()
                        or "State:\tZ" in Path(f"/proc/{children[0]}/status").read_text(), 20), \
            "the sender outlived the bot"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_with_sender_process_false_the_bot_sends_itself(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 poll_seconds=600, sections={"smtp": {"sender_process": False}})
    proc = start_bot(config, stdout=subprocess.PIPE, text=True)
    try:
        dovecot.append(mailgen.request(1))
        assert wait_for(lambda: len(of_kind(smtp.received)) == 1, 30), "no acknowledgement"
        assert _children(proc.pid) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output


def _open_files(pid: int, path: Path) -> int:
    """How many of the process's descriptors are open on `path`."""
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


def test_no_database_connection_crosses_the_fork(tmp_path, smtp):
    # SQLite forbids using a connection in a child it was opened before: the child's closing of an
    # inherited one (when it is garbage-collected) can checkpoint a WAL other processes write to,
    # and a bot killed under load was seen to leave "database disk image is malformed" and mail
    # sent twice. The parent has used the database before it forks; the child must start with none.
    database = tmp_path / "bot.db"
    settings = Settings(database={"url": f"sqlite:///{database}"},
                        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none",
                              "from_address": "support@esl.example"})
    app = build_app(settings)
    _queue(app, "before@example.org")   # the parent's pool now holds an open connection
    assert _open_files(os.getpid(), database) >= 1
    sender = SenderProcess(app, idle_seconds=600)
    sender.start()
    try:
        assert wait_for(lambda: len(smtp.received) == 1, 20)   # its first round opened its own
        assert _open_files(sender.process.pid, database) == 1
    finally:
        sender.stop(timeout=30)
