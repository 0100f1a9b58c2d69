"""Fault injection: `supportbot run` killed with SIGKILL at random points over 1,000 messages, ten times."""
from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from email.message import EmailMessage
from email.policy import SMTP


from tests.integration.conftest import SENT_COPIES, of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import start_bot

REQUESTS, FOLLOW_UPS, KILLS = 800, 200, 10


def follow_up(n: int) -> bytes:
    """The requester of request n writes again in the same thread."""
    msg = EmailMessage()
    msg["From"], msg["To"] = f"user{n}@example.org", "support@esl.example"
    msg["Subject"], msg["Message-ID"] = "Re: my request", f"<again-{n}@example.org>"
    msg["In-Reply-To"] = msg["References"] = f"<req-{n}@example.org>"
    msg.set_content("Any news on this? My nickname is on the account.\n")
    return msg.as_bytes(policy=SMTP)


def _count(db, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:   # not created yet, or locked for a moment
        return -1


def _progress(db) -> int:
    return _count(db, "SELECT (SELECT count(*) FROM inboundmessage) + "
                      "(SELECT count(*) FROM outboxmessage WHERE status = 'sent')")


def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path, dovecot, journaled_smtp):
    smtp, db, rng = journaled_smtp, tmp_path / "bot.store.db", random.Random(7)
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{db}", poll_seconds=1,
                 sections={"smtp": {"timeout_seconds": 2, "claim_lease_seconds": 10,
                                    "sent_copy_folder": "Sent", "sent_copy_bcc": SENT_COPIES},
                           "loops": {"global_per_hour": 10_000}})   # a thousand requesters in a minute
    for n in range(REQUESTS):
        dovecot.append(mailgen.request(n))
        if n % 4 == 0:
            dovecot.append(follow_up(n))
    kills = []
    for _ in range(KILLS):
        proc, before = start_bot(config), max(_progress(db), 0)
        target = before + rng.randint(15, 160)   # somewhere inside intake or sending
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _progress(db) < target and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        kills.append(_progress(db))

    proc = start_bot(config)   # the last run finishes the work; in-doubt mail waits out its claim lease
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if (_count(db, "SELECT count(*) FROM inboundmessage") == REQUESTS + FOLLOW_UPS
                    and _count(db, "SELECT count(*) FROM outboxmessage WHERE status != 'sent'") == 0):
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

    with sqlite3.connect(db) as conn:
        inbound = conn.execute("SELECT message_id, ticket_id, opened_ticket FROM inboundmessage").fetchall()
        outbox = conn.execute("SELECT message_id, kind, ticket_id, status FROM outboxmessage").fetchall()
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        settled = conn.execute("SELECT count(*) FROM auditevent WHERE action = 'mail.sent' "
                               "AND detail LIKE '%sent-copy%'").fetchone()[0]
    # Every message maps to exactly one ticket (opened by it) or follow-up (on its request's ticket).
    by_id = {mid: (ticket, opened) for mid, ticket, opened in inbound}
    assert len(by_id) == len(inbound) == REQUESTS + FOLLOW_UPS
    assert tickets == REQUESTS
    for n in range(REQUESTS):
        ticket, opened = by_id[f"<req-{n}@example.org>"]
        assert ticket is not None and opened
        if n % 4 == 0:
            assert by_id[f"<again-{n}@example.org>"] == (ticket, 0)
    # Every mail queued was received exactly once, by Message-ID; one acknowledgement per ticket.
    assert all(status == "sent" for *_, status in outbox)
    assert kills[-1] < len(inbound) + len(outbox), "every kill should land before the work is done"
    received = Counter(m.message["Message-ID"] for m in smtp.received)
    assert received == Counter({mid: 1 for mid, *_ in outbox})
    acks = of_kind(smtp.received, "ack")
    assert len(acks) == REQUESTS == len({m.message["In-Reply-To"] for m in acks})
    assert all("\\Seen" in flags for flags in dovecot.flags().values())
    print(f"\nprogress at each kill: {kills}; in-doubt mails settled by their sent copy: {settled}")
