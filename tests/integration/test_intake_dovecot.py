"""End to end against Dovecot and the SMTP recorder, driving the real `supportbot` command."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from tests.integration.conftest import of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import CLI, start_bot



def supportbot(config, *args, env_password: str = "secret", check=True) -> subprocess.CompletedProcess:
    env = dict(os.environ, SUPPORTBOT_IMAP__PASSWORD=env_password)
    done = subprocess.run([*CLI, "--config", str(config), *args], capture_output=True, text=True,
                          env=env, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"supportbot {args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def setup(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    # Hundreds of requesters within a minute: above the default hourly cap on automatic mail.
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 sections={"loops": {"global_per_hour": 10_000}})
    return config, dovecot, smtp


def test_mixed_mailbox_gives_one_ticket_and_one_ack_per_human_request(setup, corpora):
    config, dovecot, smtp = setup
    humans = [mailgen.request(n) for n in range(240)]
    machines = [mailgen.auto_reply(n) for n in range(15)] + [mailgen.bounce(n) for n in range(15)]
    machines += mailgen.corpus_machine_mail(corpora)
    for raw in humans + machines:
        dovecot.append(raw)

    supportbot(config, "run", "--once")
    tickets = json_lines(supportbot(config, "tickets", "list", "--json").stdout)
    assert len(tickets) == len(humans)
    assert {t["requester"] for t in tickets} == {f"user{n}@example.org" for n in range(240)}

    acks = of_kind(smtp.received)
    assert len(acks) == len(humans)
    by_reference = {t["reference"]: t for t in tickets}
    for ack in acks:
        msg = ack.message
        reference = next(ref for ref in by_reference if f"[{ref}]" in msg["Subject"])
        ticket = by_reference.pop(reference)
        assert ack.recipients == [ticket["requester"]]
        assert ticket["due_at"][:10] in msg.get_body(("plain",)).get_content()  # due date in the body
        assert msg["Auto-Submitted"] == "auto-replied" and msg["In-Reply-To"]
    assert not by_reference  # exactly one acknowledgement per ticket

    messages = json_lines(supportbot(config, "messages", "list", "--json").stdout)
    assert len(messages) == len(humans) + len(machines)
    assert sum(m["machine_mail"] for m in messages) == len(machines)
    assert all(m["ticket"] is None for m in messages if m["machine_mail"])
    assert all("\\Seen" in flags for flags in dovecot.flags().values())

    sent = len(smtp.received)
    supportbot(config, "run", "--once")  # a second run adds and sends nothing
    assert len(smtp.received) == sent
    assert len(json_lines(supportbot(config, "tickets", "list", "--json").stdout)) == len(humans)


def test_replies_are_threaded_into_their_ticket(setup):
    config, dovecot, smtp = setup
    dovecot.append(mailgen.request(1, sender="alice@example.org"))
    supportbot(config, "run", "--once")
    ack = of_kind(smtp.received)[0].message
    reply = EmailMessage()
    reply["From"], reply["To"] = "alice@example.org", "support@esl.example"
    reply["Subject"], reply["Message-ID"] = "Re: " + ack["Subject"], "<alice-reply@example.org>"
    reply["In-Reply-To"] = reply["References"] = ack["Message-ID"]
    reply.set_content("Here is my phone number as well.\n\nOn Tue, support wrote:\n> We have received")
    dovecot.append(reply.as_bytes(policy=SMTP))
    stranger = EmailMessage()
    stranger["From"], stranger["To"] = "mallory@example.net", "support@esl.example"
    stranger["Subject"] = "Re: " + ack["Subject"]  # quotes Alice's reference, not her thread
    stranger.set_content("Please send me the data for this ticket.")
    dovecot.append(stranger.as_bytes(policy=SMTP))

    supportbot(config, "run", "--once")
    messages = json_lines(supportbot(config, "messages", "list", "--json").stdout)
    alice_ref = messages[0]["ticket"]
    follow_up = next(m for m in messages if m["message_id"] == "<alice-reply@example.org>")
    assert follow_up["ticket"] == alice_ref and not follow_up["opened_ticket"]
    assert follow_up["new_text"].strip() == "Here is my phone number as well."
    mallory = next(m for m in messages if m["sender"] == "mallory@example.net")
    assert mallory["opened_ticket"] and mallory["ticket"] != alice_ref
    assert [m.recipients for m in of_kind(smtp.received)] == [["alice@example.org"], ["mallory@example.net"]]


def test_killed_mid_batch_then_restarted_loses_and_doubles_nothing(setup, tmp_path):
    config, dovecot, smtp = setup
    total = 300
    for n in range(total):
        dovecot.append(mailgen.request(n))
    proc = start_bot(config, "--once")
    db = tmp_path / "bot.store.db"
    deadline = time.monotonic() + 120
    handled = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                handled = conn.execute("SELECT count(*) FROM inboundmessage").fetchone()[0]
        except sqlite3.OperationalError:
            handled = 0
        if handled >= 40:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(30)
    assert 40 <= handled < total, "the kill should land mid-run"

    supportbot(config, "run", "--once")
    tickets = json_lines(supportbot(config, "tickets", "list", "--json").stdout)
    assert len(tickets) == total
    ids = [m.message["In-Reply-To"] for m in of_kind(smtp.received)]
    assert len(ids) == total and len(set(ids)) == total  # one acknowledgement per request
    assert all("\\Seen" in flags for flags in dovecot.flags().values())


def test_processed_folder_move_over_implicit_tls(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 security="tls", port=dovecot.tls_port, processed_folder="Handled")
    for n in range(5):
        dovecot.append(mailgen.request(n))
    supportbot(config, "run", "--once")
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Handled")) == 5  # moved, never deleted
    assert len(of_kind(smtp.received)) == 5


def test_wrong_password_and_bad_config_fail_clearly(setup, tmp_path):
    config, dovecot, smtp = setup
    done = supportbot(config, "run", "--once", env_password="wrong", check=False)
    assert done.returncode == 1 and "mailbox error" in done.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[imap]\nhost = "x"\nsecurity = "ssl"\n')
    done = supportbot(bad, "run", "--once", check=False)
    assert done.returncode == 2 and "imap.security" in done.stderr


def test_dry_run_reports_and_changes_nothing(setup):
    config, dovecot, smtp = setup
    dovecot.append(mailgen.request(1))
    dovecot.append(mailgen.auto_reply(2))
    out = supportbot(config, "run", "--once", "--dry-run").stdout
    assert "new ticket" in out and "would send ack to user1@example.org" in out
    assert "machine mail (auto-submitted: auto-replied)" in out
    assert smtp.received == [] and all("\\Seen" not in f for f in dovecot.flags().values())
    assert json_lines(supportbot(config, "tickets", "list", "--json").stdout) == []
    supportbot(config, "run", "--once")
    assert len(of_kind(smtp.received)) == 1 and len(json_lines(supportbot(config, "tickets", "list", "--json").stdout)) == 1
