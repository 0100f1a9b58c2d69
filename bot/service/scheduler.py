"""The scheduler (APScheduler): the reminder sweeps (SLA, processors' confirmations) every few minutes, the digest
and the retention purge on their crons."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.store.db import SessionFactory, transaction
from bot.mail.render import MailRenderer
from bot.store.retention import PurgeReport, run_purge
from bot.drafts.notices import remind as remind_processors
from bot.sla.digest_mail import send_scheduled_digest
from bot.sla.reminders import SweepReport, sweep

if TYPE_CHECKING:
    from bot.service.app import App
    from bot.config import Settings

log = logging.getLogger(__name__)

# A job that could not start on time (the loop was busy, the machine slept) still runs, once:
# the work itself is idempotent (ReminderSent, DigestSent), so lateness never doubles mail.
JOB_OPTIONS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


@dataclass
class SlaJobs:
    """The scheduled work with its dependencies; each run is one transaction, with "now" from the clock."""

    sessions: SessionFactory
    clock: Clock
    settings: Settings
    renderer: MailRenderer
    notify: Callable[[], None] | None = None     # wakes the outbox sender after mail was queued

    def sweep(self) -> SweepReport:
        try:
            with transaction(self.sessions) as session:
                report = sweep(session, settings=self.settings, now=self.clock.now(), renderer=self.renderer)
        except IntegrityError:  # another instance recorded the same reminders first: they went once
            log.info("SLA sweep: reminders already recorded by a concurrent sweep")
            return SweepReport()
        if report.mails:
            log.info("SLA sweep: reminded about %d ticket(s), %d mail(s)", len(report.reminded), len(report.mails))
            self._notify()
        return report

    def processors(self) -> list[str]:
        """Deletion notices unanswered for [deletion] confirm_days: reminded, then escalated to staff."""
        with transaction(self.sessions) as session:
            done = remind_processors(session, settings=self.settings, now=self.clock.now(), renderer=self.renderer)
        if done:
            log.info("processor notices: %d reminded or escalated", len(done))
            self._notify()
        return done

    def digest(self) -> int:
        try:
            with transaction(self.sessions) as session:
                queued = send_scheduled_digest(session, settings=self.settings, now=self.clock.now(),
                                               renderer=self.renderer)
        except IntegrityError:
            log.info("SLA digest: already sent for this slot by a concurrent run")
            return 0
        if queued:
            log.info("SLA digest queued for %d manager(s)", len(queued))
            self._notify()
        return len(queued)

    def purge(self) -> PurgeReport:
        """The retention purge; a second run (or one in another process) finds nothing left to do."""
        report = run_purge(self.sessions, self.clock.now(), self.settings.retention.days)
        if not report.empty:
            log.info("retention purge: %s", report.totals())
        return report

    def _notify(self) -> None:
        if self.notify is not None:
            self.notify()


def build_scheduler(jobs: SlaJobs, *, loop: asyncio.AbstractEventLoop | None = None) -> AsyncIOScheduler:
    """The jobs, not started. Each also runs once at start: that run is the catch-up after downtime."""
    settings, now = jobs.settings, jobs.clock.now()
    zone = ZoneInfo(settings.sla.timezone)
    scheduler = AsyncIOScheduler(event_loop=loop, timezone=zone)
    if settings.reminders.enabled:
        scheduler.add_job(jobs.sweep, IntervalTrigger(minutes=settings.reminders.sweep_minutes, timezone=zone),
                          id="sla-sweep", name="SLA reminder sweep", next_run_time=now, **JOB_OPTIONS)
        scheduler.add_job(jobs.processors, IntervalTrigger(minutes=settings.reminders.sweep_minutes, timezone=zone),
                          id="processor-reminders", name="Processor confirmation reminders", next_run_time=now,
                          **JOB_OPTIONS)
    if settings.digest.enabled:
        scheduler.add_job(jobs.digest, CronTrigger.from_crontab(settings.digest.cron, timezone=zone),
                          id="sla-digest", name="SLA digest", **JOB_OPTIONS)
        scheduler.add_job(jobs.digest, "date", run_date=now, id="sla-digest-catch-up",
                          name="SLA digest missed while down", **JOB_OPTIONS)
    if settings.retention.enabled:
        scheduler.add_job(jobs.purge, CronTrigger.from_crontab(settings.retention.cron, timezone=zone),
                          id="retention-purge", name="Retention purge", **JOB_OPTIONS)
        scheduler.add_job(jobs.purge, "date", run_date=now, id="retention-purge-catch-up",
                          name="Retention purge at start", **JOB_OPTIONS)
    return scheduler


def start_scheduler(app: App, *, loop: asyncio.AbstractEventLoop | None = None,
                    notify: Callable[[], None] | None = None) -> AsyncIOScheduler:
    """Start the SLA jobs on `loop` (the running loop by default); shut down with scheduler.shutdown()."""
    jobs = SlaJobs(sessions=app.sessions, clock=app.clock, settings=app.settings, renderer=app.renderer,
                   notify=notify)
    scheduler = build_scheduler(jobs, loop=loop)
    scheduler.start()
    return scheduler
