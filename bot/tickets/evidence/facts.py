"""What an evidence pack states about one ticket, gathered from its rows and its audit chain."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.store.audit_chain import canonical_at, chain_hash, detail_hash
from bot.config import Settings
from bot.tickets.evidence.redact import audit_detail
from bot.store.models import AuditEvent, Challenge, InboundMessage, OutboxMessage, Ticket
from bot.store.processor_models import ProcessorNotice
from bot.store.sla_models import TicketSla
from bot.outbox.sms import CODE_KINDS, shown_recipient

VERIFICATION = ("account.match", "verification.")
DECISIONS = ("processor.answered", "processor.checked", "processor.escalated", "draft.approved", "draft.rejected", "ticket.reclassified", "sla.extended", "ticket.assigned",
             "deletion.scheduled", "action.done", "action.failed", "sla.completed", "verification.refused")


@dataclass
class Facts:
    ticket: Ticket
    completion: TicketSla | None
    own_addresses: set[str]
    acknowledged: OutboxMessage | None = None
    verification: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)
    purges: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)   # rows as the pack holds them, with their hashes
    answer_ids: set[int] = field(default_factory=set)   # processors' answers: theirs to show
    chain_intact: bool = True
    chain_break: int | None = None

    @property
    def chain_head(self) -> str:
        return self.audit[-1]["row_hash"] if self.audit else ""

    @property
    def answered_at(self) -> datetime | None:
        return self.completion.completed_at if self.completion else None


def gather(session: Session, settings: Settings, ticket: Ticket) -> Facts:
    challenges = session.exec(select(Challenge).where(Challenge.ticket_id == ticket.id)).all()
    own = {a.lower() for a in (ticket.requester, ticket.verified_address, settings.smtp.from_address,
                                *(c.reply_from for c in challenges), *(c.sent_to for c in challenges),
                                *(p.email for p in settings.deletion.third_parties)) if a}
    own.add(ticket.account_id or "")
    facts = Facts(ticket, session.get(TicketSla, ticket.id), own)
    outbox = session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
                          .order_by(OutboxMessage.id)).all()
    facts.acknowledged = next((o for o in outbox if o.kind == "ack"), None)
    facts.sent = [{"id": o.id, "kind": o.kind, "to": shown_recipient(o.kind, o.to_address), "subject": o.subject,
                   "queued_at": o.created_at, "sent_at": o.sent_at, "status": o.status} for o in outbox]
    facts.notices = processor_states(session, ticket.id, facts.sent)
    facts.answer_ids = set(session.exec(select(ProcessorNotice.answer_inbound_id).where(
        ProcessorNotice.ticket_id == ticket.id, ProcessorNotice.answer_inbound_id.is_not(None))))
    _read_trail(session, facts)
    return facts


def processor_states(session: Session, ticket_id: int, sent: list[dict]) -> list[dict]:
    """Each notice with its processor's state; notices from before tokens existed show as sent only."""
    by_outbox = {s["id"]: s for s in sent}
    rows = session.exec(select(ProcessorNotice).where(ProcessorNotice.ticket_id == ticket_id)
                        .order_by(ProcessorNotice.id)).all()
    tracked = {n.outbox_id for n in rows}
    states = [dict(by_outbox.get(n.outbox_id, {"queued_at": n.sent_at, "sent_at": None, "status": ""}),
                   party=n.party, to=n.email, state=n.state, answered_at=n.answered_at, checked_by=n.checked_by,
                   reminders=n.reminders, escalated_at=n.escalated_at) for n in rows]
    return states + [dict(s, party=None, state=None, answered_at=None, checked_by=None, reminders=0,
                          escalated_at=None)
                     for s in sent if s["kind"] == "third-party-notice" and s["id"] not in tracked]


def _read_trail(session: Session, facts: Facts) -> None:
    prev = ""
    rows = session.exec(select(AuditEvent).where(AuditEvent.ticket_id == facts.ticket.id).order_by(AuditEvent.id))
    for e in rows:
        detail, withheld = audit_detail(e.action, e.detail, facts.own_addresses)
        digest = detail_hash(e.detail)
        ok = e.prev_hash == prev and e.row_hash == chain_hash(prev, canonical_at(e.at), e.actor, e.action,
                                                              e.ticket_id, e.inbound_id, digest)
        if not ok and facts.chain_intact:
            facts.chain_intact, facts.chain_break = False, e.id
        prev = e.row_hash
        row = {"id": e.id, "at": canonical_at(e.at), "actor": e.actor, "action": e.action, "ticket_id": e.ticket_id,
               "inbound_id": e.inbound_id, "detail": detail, "detail_sha256": digest,
               "prev_hash": e.prev_hash, "row_hash": e.row_hash}
        if withheld:
            row["withheld"] = withheld   # detail_sha256 is of the stored detail, so the row still checks
        facts.audit.append(row)
        event = {"at": e.at, "actor": e.actor, "action": e.action, "detail": detail}
        if e.action.startswith(VERIFICATION):
            facts.verification.append(event)
        if e.action in DECISIONS or (e.actor.startswith("staff:") and not e.action.startswith("mail.")):
            facts.decisions.append(event)
        if e.action == "retention.purged":
            facts.purges.append(event)


def messages(session: Session, facts: Facts) -> list[dict]:
    """Every message in and out: who, when, its stored bytes or why there are none (`withheld`)."""
    found = []
    for m in session.exec(select(InboundMessage).where(InboundMessage.ticket_id == facts.ticket.id)
                          .order_by(InboundMessage.id)):
        mine = m.sender.lower() in facts.own_addresses or m.id in facts.answer_ids
        found.append({"direction": "in", "who": m.sender if mine else "another sender", "at": m.received_at,
                      "raw": m.raw if mine else b"", "withheld": "" if mine else "other"})
    for o in session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == facts.ticket.id)
                          .order_by(OutboxMessage.id)):
        found.append({"direction": "out", "who": shown_recipient(o.kind, o.to_address), "at": o.created_at,
                      "raw": o.raw, "kind": o.kind, "withheld": "code" if o.kind in CODE_KINDS else ""})
    for item in found:
        item["withheld"] = item["withheld"] or ("" if item["raw"] else "purged")
    return found


def detail_text(detail: dict) -> str:
    return ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
                     for k, v in detail.items())
