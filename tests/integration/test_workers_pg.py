"""Several workers on one PostgreSQL database: one fetcher at a time, taken over when it dies; mail and
scheduled jobs once."""
from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.store.db import make_engine, session_factory
from bot.store.models import OutboxMessage
from bot.mail.render import MailRenderer
from bot.store.sla_models import DigestSent, ReminderSent
from bot.service.scheduler import SlaJobs
from tests.conftest import POSTGRES_URL
from tests.integration.conftest import SENT_COPIES, of_kind, write_config
from tests.support import mailgen
from tests.support.bot_process import start_bot
from tests.unit.sla.test_sla_support import BOSS, STAFF, add_ticket, sla_settings

WORKERS, MESSAGES, KILL_AT = 3, 300, 80


def _count(engine, sql: str) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    except Exception:  # noqa: BLE001 - the schema is not made yet
        return -1


def _says(log: Path, words: str) -> bool:
    return words in log.read_text(errors="replace")


def test_three_workers_handle_everything_once_and_survive_losing_the_fetcher(
        tmp_path, dovecot, journaled_smtp, postgres_database_url):
    smtp, engine = journaled_smtp, make_engine(postgres_database_url)
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=postgres_database_url, poll_seconds=1,
                 sections={"smtp": {"timeout_seconds": 2, "claim_lease_seconds": 10,
                                    "sent_copy_folder": "Sent", "sent_copy_bcc": SENT_COPIES},
                           "loops": {"global_per_hour": 4 * MESSAGES}})   # two mails per request
    for n in range(MESSAGES):
        dovecot.append(mailgen.request(n))
    logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
    # All start together on an empty database: they also race to create the schema.
    workers = [start_bot(config, stdout=log.open("w")) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while _count(engine, "SELECT count(*) FROM inboundmessage") < KILL_AT and time.monotonic() < deadline:
            assert all(w.poll() is None for w in workers), [log.read_text()[-2000:] for log in logs]
            time.sleep(0.02)
        fetchers = [i for i, log in enumerate(logs) if _says(log, "became the fetcher")]
        assert len(fetchers) == 1, "exactly one worker fetches"
        holder = fetchers[0]
        assert all(_says(logs[i], "waiting: another process fetches") for i in range(WORKERS) if i != holder)
        workers[holder].send_signal(signal.SIGKILL)
        killed_time = datetime.now()
        workers[holder].wait(30)
        killed_at = _count(engine, "SELECT count(*) FROM inboundmessage")

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if (_count(engine, "SELECT count(*) FROM inboundmessage") == MESSAGES
                    and _count(engine, "SELECT count(*) FROM outboxmessage WHERE status != 'sent'") == 0):
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
    survivors = [i for i in range(WORKERS) if i != holder]
    assert [workers[i].returncode for i in survivors] == [0] * len(survivors)
    assert sum(_says(logs[i], "became the fetcher") for i in survivors) >= 1, "nobody took over fetching"
    assert killed_at < MESSAGES, "the fetcher should die midway"

    with engine.connect() as conn:
        inbound = conn.execute(text("SELECT message_id, ticket_id, opened_ticket FROM inboundmessage")).all()
        outbox = conn.execute(text("SELECT message_id, status FROM outboxmessage")).all()
        tickets = conn.execute(text("SELECT count(*) FROM ticket")).scalar()
        settled = conn.execute(text("SELECT count(*) FROM auditevent WHERE action = 'mail.sent' "
                                    "AND detail LIKE '%sent-copy%'")).scalar()
    engine.dispose()
    # Every message maps to exactly one stored message and a ticket of its own.
    assert len(inbound) == len({mid for mid, *_ in inbound}) == MESSAGES == tickets
    assert all(opened for *_, opened in inbound) and len({ticket for _, ticket, _ in inbound}) == MESSAGES
    # Every queued mail was received exactly once, by Message-ID; one acknowledgement per request.
    assert all(status == "sent" for _, status in outbox)
    received = Counter(m.message["Message-ID"] for m in smtp.received)
    doubled = {mid: n for mid, n in received.items() if n > 1}
    assert not doubled, f"received more than once: {doubled}"
    assert received == Counter({mid: 1 for mid, _ in outbox})
    acks = of_kind(smtp.received)
    assert len(acks) == MESSAGES == len({m.message["In-Reply-To"] for m in acks})
    assert all("\\Seen" in flags for flags in dovecot.flags().values())
    takeover = min(_took_over_at(logs[i]) for i in survivors if _says(logs[i], "became the fetcher"))
    print(f"\nfetcher killed after {killed_at} of {MESSAGES} messages; a survivor fetched "
          f"{(takeover - killed_time).total_seconds():.1f} s later; in-doubt mails settled by their copy: {settled}")


def _took_over_at(log: Path) -> datetime:
    line = next(line for line in log.read_text().splitlines() if line.endswith("became the fetcher"))
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_concurrent_schedulers_queue_each_reminder_and_digest_once(engine, clock, postgres_schema_url):
    """Each worker runs the SLA jobs; run together on the same due tickets, they queue everything once."""
    settings = sla_settings()
    # One engine per worker, as separate processes would have.
    engines = [make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={postgres_schema_url}"})
               for _ in range(4)]
    jobs = [SlaJobs(sessions=session_factory(e), clock=clock, settings=settings, renderer=MailRenderer())
            for e in engines]
    rounds, per_round, errors = 3, 25, []

    def together(job) -> None:
        barrier = threading.Barrier(len(jobs))

        def run(one: SlaJobs) -> None:
            try:
                barrier.wait(10)
                job(one)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(one,)) for one in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    for _ in range(rounds):   # each round, new tickets fall overdue while every worker sweeps
        with Session(engine) as s:
            for _ in range(per_round):
                add_ticket(s, settings, clock.now() - timedelta(days=20))
            s.commit()
        together(SlaJobs.sweep)
        clock.advance(timedelta(hours=1))
    together(SlaJobs.digest)
    for e in engines:
        e.dispose()

    assert errors == []
    with Session(engine) as s:
        reminders = list(s.exec(select(ReminderSent)))
        mails = list(s.exec(select(OutboxMessage)))
        digests = list(s.exec(select(DigestSent)))
    assert Counter((r.ticket_id, r.threshold) for r in reminders).most_common(1)[0][1] == 1
    assert len({r.ticket_id for r in reminders}) == rounds * per_round
    # One reminder per recipient per round (staff, and the manager for overdue tickets), one digest.
    reminder_mails = Counter(m.to_address for m in mails if m.kind == "reminder")
    assert reminder_mails == {STAFF: rounds, BOSS: rounds}
    assert len(digests) == 1
    assert [m.to_address for m in mails if m.kind == "digest"] == [BOSS]
