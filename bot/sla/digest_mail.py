"""Rendering the digest (HTML with a plain-text part) and sending it: on demand or once per cron slot."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session

from bot.store.models import OutboxMessage
from bot.sla.chart import backlog_chart_html, sparkline
from bot.sla.processors import unconfirmed
from bot.sla.digest import DigestFigures, digest_figures
from bot.outbox.queue import queue_mail
from bot.store.sla_models import DigestSent
from bot.sla.digest_trend import WAITING_ON, DigestTrend, Week, digest_trend

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mail.render import MailRenderer

log = logging.getLogger(__name__)
KIND_ORDER = ("access", "correction", "deletion", "other")


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "no data"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_digest(figures: DigestFigures, renderer: MailRenderer, trend: DigestTrend | None = None,
                  console_url: str = "", processors: list[dict] = ()) -> RenderedDigest:
    """`console_url`: [web] public_url, for links to each ticket and page; empty: pages named only."""
    trend = trend or DigestTrend(waiting={}, this_week=Week(figures.today, 0, 0, 0, None),
                                 last_week=Week(figures.today, 0, 0, 0, None), oldest=[])
    kinds = sorted({kind for kind, _ in figures.open_by_kind_status},
                   key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k))
    statuses = sorted({status for _, status in figures.open_by_kind_status})
    kind_totals = {kind: sum(n for (k, _), n in figures.open_by_kind_status.items() if k == kind) for kind in kinds}
    generated = figures.generated_at.astimezone(ZoneInfo(figures.timezone)).strftime("%Y-%m-%d %H:%M")
    context = dict(f=figures, generated=generated, kinds=kinds, statuses=statuses, kind_totals=kind_totals, duration=duration,
                   trend=trend, waiting_on=WAITING_ON, days=days, console=console_url.rstrip("/"),
                   chart=backlog_chart_html(figures.backlog),
                   spark=sparkline([value for _, value in figures.backlog]),
                   processors=list(processors))   # bot/sla/processors.py: its own small block
    subject = (f"SLA digest {figures.today.isoformat()}: {figures.open_total} open, "
               f"{figures.overdue_total} overdue, {figures.due_soon_total} due within {figures.due_soon_days} days")
    return RenderedDigest(subject=subject,
                          text=renderer.env.get_template("digest/digest.txt.j2").render(**context),
                          html=renderer.env.get_template("digest/digest.html.j2").render(**context))


def build_digest(session: Session, settings: Settings, now: datetime, renderer: MailRenderer) -> RenderedDigest:
    """The figures, the trend and the console's links, rendered."""
    web = getattr(settings, "web", None)
    return render_digest(digest_figures(session, settings, now), renderer, digest_trend(session, settings, now),
                         getattr(web, "public_url", ""), unconfirmed(session))


def queue_digest(session: Session, *, settings: Settings, now: datetime, renderer: MailRenderer,
                 recipients: list[str] | None = None) -> list[OutboxMessage]:
    """Build the digest now and queue one copy per manager."""
    to = settings.staff.managers if recipients is None else recipients
    if not to:
        raise ValueError("no recipients: set [staff] managers")
    digest = build_digest(session, settings, now, renderer)
    return [queue_mail(session, settings=settings, now=now, ticket=None, kind="digest", to=address,
                       subject=digest.subject, text=digest.text, html=digest.html,
                       auto_submitted="auto-generated") for address in to]


def latest_slot(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The most recent time at or before `now` the cron expression names (within 32 days)."""
    trigger = CronTrigger.from_crontab(cron, timezone=timezone)
    for lookback in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32)):
        slot, found = trigger.get_next_fire_time(None, now - lookback), None
        while slot is not None and slot <= now:
            found, slot = slot, trigger.get_next_fire_time(slot, slot + timedelta(seconds=1))
        if found is not None:
            return found
    return None


def send_scheduled_digest(session: Session, *, settings: Settings, now: datetime,
                          renderer: MailRenderer) -> list[OutboxMessage]:
    """Queue the digest for the latest cron slot unless it went already: after downtime, one digest."""
    cfg = settings.digest
    slot = latest_slot(cfg.cron, settings.sla.timezone, now)
    if not cfg.enabled or slot is None or session.get(DigestSent, slot) is not None:
        return []
    if not settings.staff.managers:
        log.warning("digest due but [staff] managers is empty: not sent")
        return []
    session.add(DigestSent(slot=slot, sent_at=now, recipients=",".join(settings.staff.managers)))
    session.flush()  # a second instance fails here on the primary key, before anything is queued
    return queue_digest(session, settings=settings, now=now, renderer=renderer)
