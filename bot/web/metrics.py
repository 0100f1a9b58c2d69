"""Prometheus metrics, counted from the database at each scrape: right whichever process is asked."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func
from sqlmodel import Session, select

from bot.config import Settings
from bot.store.db import SessionFactory
from bot.service.health import WatcherLiveness
from bot.store.models import InboundMessage, OutboxMessage, Ticket
from bot.sla import days_left
from bot.store.sla_models import DONE_STATUSES

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
# The pipeline's outcome names (bot.mail.context), read back from what was stored.
OUTCOME = case(
    (InboundMessage.status == "quarantined", "quarantined"),
    # Staff took it out of the quarantine: released (its handled copy is counted on its own) or dismissed.
    (InboundMessage.status.in_(("released", "dismissed")), InboundMessage.status),
    (InboundMessage.machine_reason.is_not(None), "machine-mail"),
    (InboundMessage.opened_ticket == True, "new-ticket"),   # noqa: E712
    (InboundMessage.ticket_id.is_not(None), "follow-up"),
    else_="stored")


class DatabaseCollector(Collector):
    """Every metric is one small GROUP BY or MIN over indexed columns; nothing is kept between scrapes."""

    def __init__(self, sessions: SessionFactory, settings: Settings, now: Callable[[], datetime],
                 liveness: WatcherLiveness | None = None) -> None:
        self.sessions, self.settings, self.now, self.liveness = sessions, settings, now, liveness

    def collect(self) -> Iterator[Metric]:
        now = self.now()
        with self.sessions() as session:
            yield from self._messages(session)
            yield from self._outbox(session, now)
            yield from self._tickets(session, now)
        yield from self._watcher(now)

    def _messages(self, session: Session) -> Iterator[Metric]:
        handled = CounterMetricFamily("supportbot_messages", "Inbound messages stored, by how they were handled.",
                                      labels=["outcome", "status"])
        for outcome, status, count in session.exec(select(OUTCOME, InboundMessage.status, func.count())
                                                   .group_by(OUTCOME, InboundMessage.status)):
            handled.add_metric([outcome, status], count)
        yield handled
        quarantined = session.exec(select(func.count()).select_from(InboundMessage)
                                   .where(InboundMessage.status == "quarantined")).one()
        yield GaugeMetricFamily("supportbot_quarantined_messages", "Messages in the quarantine, for staff.",
                                value=quarantined)

    def _outbox(self, session: Session, now: datetime) -> Iterator[Metric]:
        counts = dict.fromkeys(OUTBOX_STATUSES, 0) | dict(session.exec(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        depth = GaugeMetricFamily("supportbot_outbox_messages", "Outgoing mail by status (pending and sending: "
                                  "the queue).", labels=["status"])
        for status, count in sorted(counts.items()):
            depth.add_metric([status], count)
        yield depth
        yield GaugeMetricFamily("supportbot_failed_mail", "Mail the bot gave up sending: staff must act.",
                                value=counts["failed"])
        oldest = session.exec(select(func.min(OutboxMessage.created_at))
                              .where(OutboxMessage.status.in_(("pending", "sending")))).one()
        yield GaugeMetricFamily("supportbot_oldest_unsent_mail_age_seconds",
                                "Age of the oldest mail not yet sent (0 when the queue is empty).",
                                value=max(0.0, (now - _aware(oldest)).total_seconds()) if oldest else 0.0)

    def _tickets(self, session: Session, now: datetime) -> Iterator[Metric]:
        tickets = GaugeMetricFamily("supportbot_tickets", "Tickets by status and kind.", labels=["status", "kind"])
        for status, kind, count in session.exec(select(Ticket.status, Ticket.kind, func.count())
                                                .group_by(Ticket.status, Ticket.kind)):
            tickets.add_metric([status, kind], count)
        yield tickets
        nearest = session.exec(select(func.min(Ticket.due_at)).where(Ticket.status.not_in(DONE_STATUSES))).one()
        if nearest is not None:   # no open ticket: no value, rather than a made-up one
            yield GaugeMetricFamily(
                "supportbot_nearest_due_days", "Calendar days (in the [sla] time zone) to the nearest due date "
                "of an open ticket; negative when overdue.",
                value=days_left(_aware(nearest), now, self.settings.sla))

    def _watcher(self, now: datetime) -> Iterator[Metric]:
        if self.liveness is None:
            return
        started, last = self.liveness.snapshot()
        if started is not None:   # only the process that watches the mailbox has this one
            yield GaugeMetricFamily("supportbot_mailbox_watcher_last_round_age_seconds",
                                    "Seconds since this process's mailbox watcher last finished a round.",
                                    value=(now - (last or started)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """MIN() over a column skips the column type's conversion: SQLite hands back naive UTC (or text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def metrics_registry(collector: DatabaseCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
