"""The scheduler: jobs coalesced, one at a time, run at start for catch-up; the digest once per cron slot."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.store.db import init_db, make_engine, session_factory
from bot.store.models import OutboxMessage
from bot.mail.render import MailRenderer
from bot.sla.digest_mail import latest_slot, send_scheduled_digest
from bot.store.sla_models import DigestSent
from bot.service.scheduler import SlaJobs, build_scheduler, start_scheduler
from tests.unit.sla.test_sla_support import BOSS, add_ticket, sla_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(m, d, hour, minute=0) -> datetime:
    return datetime(2026, m, d, hour, minute, tzinfo=SHANGHAI)


def test_latest_slot_of_the_weekday_cron():
    cron = "0 9 * * mon-fri"
    assert latest_slot(cron, "Asia/Shanghai", _local(11, 24, 10)) == _local(11, 24, 9)      # Tuesday
    assert latest_slot(cron, "Asia/Shanghai", _local(11, 24, 9)) == _local(11, 24, 9)
    assert latest_slot(cron, "Asia/Shanghai", _local(11, 23, 8, 59)) == _local(11, 20, 9)   # Monday -> Friday
    assert latest_slot("0 9 1 1 *", "Asia/Shanghai", _local(11, 24, 10)) is None            # beyond 32 days


def test_scheduled_digest_goes_once_per_slot_and_once_after_downtime(engine, clock):
    settings = sla_settings(staff={"reminders_to": [], "managers": [BOSS, "ceo@esl.example"]})
    renderer = MailRenderer()

    def run():
        with Session(engine) as s:
            queued = send_scheduled_digest(s, settings=settings, now=clock.now(), renderer=renderer)
            s.commit()
            return len(queued)

    with Session(engine) as s:
        add_ticket(s, settings, clock.now() - timedelta(days=20))
        s.commit()
    assert run() == 2                           # Tuesday 10:00: the 09:00 slot, one per manager
    assert run() == 0                           # a restart the same morning
    clock.advance(timedelta(hours=22))          # Wednesday 08:00: still Tuesday's slot
    assert run() == 0
    clock.advance(timedelta(days=7))            # down for a week, to Wednesday 2 Dec 08:00
    assert run() == 2                           # one digest, for the latest slot (Tuesday 09:00)
    assert run() == 0
    with Session(engine) as s:
        slots = [row.slot for row in s.exec(select(DigestSent).order_by(DigestSent.slot))]
    assert slots == [_local(11, 24, 9), _local(12, 1, 9)]


def test_jobs_are_coalesced_single_and_run_at_start(engine, clock):
    jobs = SlaJobs(sessions=session_factory(engine), clock=clock, settings=sla_settings(), renderer=MailRenderer())
    scheduler = build_scheduler(jobs, loop=asyncio.new_event_loop())
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(by_id) == {"sla-sweep", "processor-reminders", "sla-digest", "sla-digest-catch-up",
                          "retention-purge", "retention-purge-catch-up"}
    assert all(job.coalesce and job.max_instances == 1 and job.misfire_grace_time is None for job in by_id.values())
    assert isinstance(by_id["sla-sweep"].trigger, IntervalTrigger)
    assert by_id["sla-sweep"].trigger.interval == timedelta(minutes=15)
    assert by_id["processor-reminders"].trigger.interval == timedelta(minutes=15)   # beside the SLA sweep
    assert isinstance(by_id["sla-digest"].trigger, CronTrigger)
    assert str(by_id["sla-digest"].trigger.timezone) == "Asia/Shanghai"
    assert isinstance(by_id["retention-purge"].trigger, CronTrigger)   # daily, [retention] cron
    off = build_scheduler(SlaJobs(sessions=jobs.sessions, clock=clock, renderer=jobs.renderer,
                                  settings=sla_settings(reminders={"enabled": False}, digest={"enabled": False},
                                                        retention={"enabled": False})),
                          loop=asyncio.new_event_loop())
    assert off.get_jobs() == []


def test_started_scheduler_catches_up_at_once(engine, tmp_path):
    # The jobs' first run is "now" by the injected clock: a past moment, so APScheduler runs them at once.
    if engine.dialect.name == "sqlite":
        # The jobs run in threads: they need real connections, not the one StaticPool shares.
        engine = make_engine(f"sqlite:///{tmp_path / 'sla.db'}")
        init_db(engine)
    clock = FixedClock(datetime(2025, 3, 4, 2, 0, tzinfo=timezone.utc))
    settings = sla_settings()
    with Session(engine) as s:
        add_ticket(s, settings, clock.now() - timedelta(days=20))   # overdue
        s.commit()
    woken = []
    app = SimpleNamespace(sessions=session_factory(engine), clock=clock, settings=settings, renderer=MailRenderer())

    def kinds():
        with Session(engine) as s:
            return sorted(row.kind for row in s.exec(select(OutboxMessage)))

    async def main():
        scheduler = start_scheduler(app, notify=lambda: woken.append(1))
        deadline = time.monotonic() + 10
        while kinds() != ["digest", "reminder", "reminder"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert kinds() == ["digest", "reminder", "reminder"]            # staff + boss; the digest to the boss
    assert len(woken) == 2
