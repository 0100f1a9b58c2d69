"""The queue's and quarantine's queries: one page of rows, filters, and a count for every filter value."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, select

from bot.config import Settings
from bot.store.models import Draft, InboundMessage, Ticket
from bot.sla import days_left
from bot.store.sla_models import DONE_STATUSES, TicketSla
from bot.web.search import flag_conditions, on_the_clock, text_search

DIMENSIONS = ("status", "kind", "language", "verification")
ON_THE_CLOCK = "on-the-clock"   # the everyday queue: every status but DONE_STATUSES; its URL names no status


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = ON_THE_CLOCK    # None: every status; else that one status
    kind: str | None = None
    language: str | None = None
    verification: str | None = None
    q: str = ""                          # part of a reference, address, name, subject or phone
    page: int = 1
    flags: tuple[str, ...] = ()          # "show only" filters: see bot/web/search.py
    staff: str = ""                      # who is looking, for "mine"
    today_starts: datetime | None = None  # midnight in the SLA zone, for "overdue"

    def search(self) -> list:
        """Everything but the four counted dimensions."""
        return text_search(self.q) + flag_conditions(self.flags, self.staff, self.today_starts)

    def statuses(self) -> list:
        return [on_the_clock()] if self.status == ON_THE_CLOCK else [Ticket.status == self.status] if self.status else []

    def conditions(self) -> list:
        return (self.statuses() + self.search()
                + [getattr(Ticket, dim) == getattr(self, dim) for dim in DIMENSIONS[1:] if getattr(self, dim)])

    def in_url(self, dim: str) -> str | None:
        """`dim` as the URL carries it: no status for the everyday queue, "all" for every status."""
        value = getattr(self, dim)
        return {ON_THE_CLOCK: None, None: "all"}.get(value, value) if dim == "status" else value

    def link(self, **changes) -> str:
        """The queue's URL with `changes` applied (a value of None clears that filter)."""
        target = replace(self, page=1, **changes) if "page" not in changes else replace(self, **changes)
        params = {dim: target.in_url(dim) for dim in DIMENSIONS}
        if target.q:
            params["q"] = target.q
        if target.page > 1:
            params["page"] = str(target.page)
        params["only"] = list(target.flags)
        query = urlencode({k: v for k, v in params.items() if v}, doseq=True)
        return "/?" + query if query else "/"

    def toggle(self, flag: str) -> str:
        return self.link(flags=tuple(f for f in self.flags if f != flag) if flag in self.flags
                         else (*self.flags, flag))


@dataclass
class QueuePage:
    rows: list[dict]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    on_the_clock: int = 0       # the everyday queue's count, given the filters other than status


def _grouped(session: Session, dims: tuple[str, ...], where: list) -> list[tuple[dict, int]]:
    columns = [getattr(Ticket, dim) for dim in dims]
    rows = session.exec(select(*columns, func.count()).where(*where).group_by(*columns)).all()
    return [(dict(zip(dims, values, strict=True)), count) for *values, count in rows]


def facet_counts(session: Session, f: QueueFilter) -> tuple[dict[str, list[tuple[str, int]]], int]:
    """For each filter, how many tickets each value would show given the other filters; and the total.

    A GROUP BY (a few dozen groups) answers every filter at once. With a status chosen (or those on the
    clock, the everyday queue), only their tickets are grouped (so the status is never what a group misses),
    and the statuses counted apart."""
    if f.status:
        groups = _grouped(session, DIMENSIONS, f.statuses() + f.search())
        by_status = _grouped(session, ("status",), replace(f, status=None).conditions())
    else:
        groups, by_status = _grouped(session, DIMENSIONS, f.search()), []
    counts, total = {dim: Counter() for dim in DIMENSIONS}, 0
    for row, count in groups:
        misses = [dim for dim in DIMENSIONS[1:] if getattr(f, dim) not in (None, row[dim])]
        total += count if not misses else 0
        for dim in DIMENSIONS:
            if not misses or misses == [dim]:
                counts[dim][row[dim]] += count
    if f.status:
        counts["status"] = Counter({row["status"]: n for row, n in by_status})
    return {dim: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for dim, c in counts.items()}, total


def page_bounds(total: int, page: int, page_size: int) -> tuple[int, int]:
    """The asked-for page kept within range, and how many pages there are (at least one)."""
    pages = max(1, -(-total // page_size))
    return min(max(1, page), pages), pages


def named_page(session: Session, query, names: tuple[str, ...], *, total: int, page: int,
               page_size: int) -> tuple[list[dict], int, int, int]:
    """One page of a column query as dicts keyed by `names`: (rows, page, pages, total)."""
    page, pages = page_bounds(total, page, page_size)
    rows = session.exec(query.offset((page - 1) * page_size).limit(page_size))
    return [dict(zip(names, row, strict=True)) for row in rows], page, pages, total


def queue_page(session: Session, settings: Settings, now: datetime, f: QueueFilter, page_size: int) -> QueuePage:
    """Most urgent first: by due date, then by ticket number."""
    facets, total = facet_counts(session, f)
    page, pages = page_bounds(total, f.page, page_size)
    tickets = session.exec(select(Ticket).where(*f.conditions()).order_by(Ticket.due_at, Ticket.id)
                           .offset((page - 1) * page_size).limit(page_size)).all()
    ids = [t.id for t in tickets]
    drafted = set(session.exec(select(Draft.ticket_id).where(Draft.ticket_id.in_(ids), Draft.status == "pending"))) \
        if ids else set()
    owners = dict(session.exec(select(TicketSla.ticket_id, TicketSla.assignee).where(
        TicketSla.ticket_id.in_(ids), TicketSla.assignee.is_not(None))).all()) if ids else {}
    rows = [{"ticket": t, "days_left": days_left(t.due_at, now, settings.sla), "draft_ready": t.id in drafted,
             "assignee": owners.get(t.id)} for t in tickets]
    return QueuePage(rows=rows, total=total, page=page, pages=pages, facets=facets,
                     on_the_clock=sum(n for status, n in facets["status"] if status not in DONE_STATUSES))


def quarantine_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(InboundMessage)
                        .where(InboundMessage.status == "quarantined")).one()


def quarantine_page(session: Session, page: int, page_size: int) -> tuple[list[dict], int, int, int]:
    """Quarantined messages, newest first, without their raw bytes: (rows, page, pages, total)."""
    columns = (InboundMessage.id, InboundMessage.received_at, InboundMessage.sender, InboundMessage.subject,
               InboundMessage.quarantine_reason, InboundMessage.new_text, InboundMessage.folder,
               InboundMessage.uid, Ticket.reference)
    query = (select(*columns).join(Ticket, InboundMessage.ticket_id == Ticket.id, isouter=True)
             .where(InboundMessage.status == "quarantined").order_by(InboundMessage.id.desc()))
    names = ("id", "received_at", "sender", "subject", "reason", "new_text", "folder", "uid", "ticket")
    return named_page(session, query, names, total=quarantine_count(session), page=page, page_size=page_size)
