"""Against Dovecot: a message over imap.max_message_bytes is never downloaded whole, quarantined once, never retried."""
from __future__ import annotations

import re
import sqlite3
from email.message import EmailMessage
from email.policy import SMTP

from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot
from tests.support import mailgen

LIMIT = 20_000


def big_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "scanner@example.org", "support@esl.example", "ID card scan"
    msg["Message-ID"] = "<big-scan@example.org>"
    msg.set_content("My ID card is attached; please delete my account.")
    msg.add_attachment(bytes(range(256)) * 1200, maintype="image", subtype="tiff", filename="id.tiff")
    return msg.as_bytes(policy=SMTP)


def bytes_sent_by_dovecot(dovecot) -> int:
    """What the IMAP sessions sent to clients so far (Dovecot logs out=N at every logout)."""
    return sum(int(n) for n in re.findall(r"\bout=(\d+)", dovecot.log()))


def test_oversized_message_is_quarantined_once_and_never_downloaded(tmp_path, dovecot, smtp):
    config, db = tmp_path / "cfg.toml", tmp_path / "bot.store.db"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{db}", max_message_bytes=LIMIT)
    for n in range(3):
        dovecot.append(mailgen.request(n))
    big = big_mail()
    big_uid = dovecot.append(big)
    for n in range(3, 5):
        dovecot.append(mailgen.request(n))
    assert len(big) > 10 * LIMIT
    sent_before = bytes_sent_by_dovecot(dovecot)

    supportbot(config, "run", "--once")
    sent = bytes_sent_by_dovecot(dovecot) - sent_before
    assert 5 * len(mailgen.request(0)) < sent < len(big) // 2   # the small ones came, the big one's body never
    tickets = json_lines(supportbot(config, "tickets", "list", "--json").stdout)
    assert sorted(t["requester"] for t in tickets) == [f"user{n}@example.org" for n in range(5)]
    assert sorted(m.recipients[0] for m in of_kind(smtp.received)) == [f"user{n}@example.org" for n in range(5)]

    messages = json_lines(supportbot(config, "messages", "list", "--json").stdout)
    (held,) = [m for m in messages if m["status"] == "quarantined"]
    assert held["sender"] == "scanner@example.org" and held["subject"] == "ID card scan" and held["ticket"] is None
    reason = held["quarantine_reason"]
    assert f"too large: {len(big):,} bytes, over the limit of 20,000" in reason
    assert f"folder 'INBOX', UIDVALIDITY {dovecot.uidvalidity()}, UID {big_uid}" in reason
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT length(raw) FROM inboundmessage WHERE status = 'quarantined'").fetchone()
    assert stored < 2_000   # the header alone
    assert all("\\Seen" in flags for flags in dovecot.flags().values())

    sent_before, mails = bytes_sent_by_dovecot(dovecot), len(smtp.received)
    supportbot(config, "run", "--once")   # nothing is retried, nothing fetched again
    assert bytes_sent_by_dovecot(dovecot) - sent_before < LIMIT
    assert len(json_lines(supportbot(config, "messages", "list", "--json").stdout)) == 6
    assert len(smtp.received) == mails
