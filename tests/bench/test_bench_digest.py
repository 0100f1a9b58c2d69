"""Benchmark: the managers' digest over 1,000,000 tickets on a SQLite file; prints its figures."""
from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.store.db import init_db, make_engine
from bot.mail.render import MailRenderer
from bot.sla.digest import digest_figures
from bot.sla.digest_mail import render_digest
from bot.sla.reminders import sweep
from tests.unit.sla.test_sla_support import sla_settings

N = 1_000_000
PER_DAY = 1000                       # ~2.7 years of intake
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
TODAY_START = datetime(2026, 11, 24, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(timezone.utc)
KINDS = ["access"] * 5 + ["deletion"] * 3 + ["correction"] * 1 + ["other"] * 1
STAFF = [f"staff{i}@esl.example" for i in range(8)]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")   # how SQLAlchemy stores DateTime on SQLite (UTC)


def _generate(rng: random.Random, expected: dict):
    """Rows for ticket, ticketsla and outboxmessage: old tickets mostly answered, recent ones mostly open."""
    for i in range(1, N + 1):
        received = NOW - timedelta(days=(N - i) / PER_DAY, minutes=rng.random() * 60)
        due = received + timedelta(days=15)
        age = (NOW - received).days
        done = rng.random() < (0.995 if age > 20 else age / 25)
        completed = received + timedelta(days=rng.uniform(1, 17)) if done else None
        if completed and completed > NOW:
            completed, done = None, False
        status = ("answered" if rng.random() < 0.9 else "closed") if done else rng.choice(["open", "open", "in_progress"])
        if not done:
            expected["open"] += 1
            expected["overdue"] += due < TODAY_START
        assignee = rng.choice(STAFF) if rng.random() < 0.7 else None
        ticket = (i, f"ESL-{i:07d}", "", rng.choice(KINDS), "other", 0.9, 0, status, f"u{i}@example.org", "zh",
                  _ts(received), _ts(due), "verified", None, None)
        on_time = None if completed is None else int(completed.astimezone(ZoneInfo("Asia/Shanghai")).date()
                                                     <= due.astimezone(ZoneInfo("Asia/Shanghai")).date())
        sla = (i, None, _ts(completed) if completed else None, on_time, assignee) if (done or assignee) else None
        sent = received + timedelta(minutes=rng.uniform(1, 120))
        ack = (i, i, "ack", f"u{i}@example.org", "ack", f"<{i}@esl.example>", b"", "sent", 1, _ts(received),
               _ts(received), _ts(sent))
        yield ticket, sla, ack


def _fill(engine) -> dict:
    expected = {"open": 0, "overdue": 0}
    rng = random.Random(7)
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        rows = _generate(rng, expected)
        while True:
            chunk = [row for _, row in zip(range(50_000), rows)]
            if not chunk:
                break
            cur.executemany("INSERT INTO ticket (id, reference, subject, kind, labels, confidence, needs_triage, status,"
                            " requester, language, received_at, due_at, verification, account_id, waiting_on)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [t for t, _, _ in chunk])
            cur.executemany("INSERT INTO ticketsla (ticket_id, clock_started_at, completed_at, on_time, assignee)"
                            " VALUES (?,?,?,?,?)", [s for _, s, _ in chunk if s])
            cur.executemany("INSERT INTO outboxmessage (id, ticket_id, kind, to_address, subject, message_id, raw,"
                            " status, attempts, next_attempt_at, created_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            [a for _, _, a in chunk])
        conn.commit()
    finally:
        conn.close()
    return expected


def test_digest_over_a_million_tickets_sqlite(tmp_path):
    settings = sla_settings(database={"url": f"sqlite:///{tmp_path / 'bench.db'}"})
    engine = make_engine(settings.database.url)
    init_db(engine)
    start = time.perf_counter()
    expected = _fill(engine)
    filled = time.perf_counter() - start
    engine.dispose()                                   # a fresh connection, as the scheduler would have
    engine = make_engine(settings.database.url)
    with Session(engine) as session:
        start = time.perf_counter()
        figures = digest_figures(session, settings, NOW)
        built = time.perf_counter() - start
        digest = render_digest(figures, MailRenderer())
        rendered = time.perf_counter() - start
        start = time.perf_counter()
        first = sweep(session, settings=settings, now=NOW, renderer=MailRenderer())
        session.commit()
        first_sweep = time.perf_counter() - start
        start = time.perf_counter()
        again = sweep(session, settings=settings, now=NOW + timedelta(minutes=15), renderer=MailRenderer())
        steady_sweep = time.perf_counter() - start
    print(f"\ndigest over {N:,} tickets (SQLite file, filled in {filled:.0f}s): figures {built:.2f}s, "
          f"with rendering {rendered:.2f}s; {figures.open_total:,} open, {figures.overdue_total:,} overdue, "
          f"in time 7d {figures.on_time[0].percent:.1f}% / 30d {figures.on_time[1].percent:.1f}%, "
          f"median ack {figures.median_ack_seconds / 60:.0f} min, completion "
          f"{figures.median_completion_seconds / 86400:.1f} days\n"
          f"sweep: first {first_sweep:.2f}s ({len(first.reminded):,} tickets reminded), "
          f"steady {steady_sweep:.2f}s ({len(again.reminded)} reminded)")
    assert (figures.open_total, figures.overdue_total) == (expected["open"], expected["overdue"])
    assert len(digest.html) < 200_000 and again.reminded == []
    assert built < 2.0, f"the digest took {built:.2f}s to build (budget 2s)"
