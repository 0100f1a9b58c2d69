"""Intake stages, in order: parse, store, spot machine mail (and bounces), require a sender, thread, note
processors' answers, classify, link duplicates, open ticket, acknowledge, verify."""
from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.store import audit
from bot.store.batch_index import note_stored, stored_already
from bot.mail.text import classifier_input
from bot.mail.parse import parse_message, unparseable
from bot.mail.rules import machine_mail_reason
from bot.store.models import InboundMessage
from bot.store.rows import new_row
from bot.mail.context import Duplicate, MessageContext, Quarantine, inbound_id
from bot.tickets.duplicates import link_duplicate
from bot.outbox.suppressions import note_bounce
from bot.tickets.opening import new_ticket, open_ticket
from bot.tickets.acknowledge import queue_acknowledgement
from bot.tickets.threads import THIRD_PARTY, find_thread
from bot.intake.processor_answers import note_processor_answer
from bot.drafts.create import create_draft
from bot.verify import flow as verification
from bot.verify.challenges import code_queued

if TYPE_CHECKING:
    from bot.mail.context import Services

_HEADER_END = re.compile(rb"\r?\n\r?\n")


def dedup_key(sender: str, message_id: str | None, raw: bytes) -> str:
    """Sender + Message-ID + body: a forged Message-ID alone cannot match someone else's mail."""
    match = _HEADER_END.search(raw)
    body = raw[match.end():] if match else raw
    digest = hashlib.sha256()
    for part in (sender.encode(), (message_id or "").encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def parse(ctx: MessageContext, session: Session, deps: Services) -> None:
    if ctx.parsed is None:   # else parsed with its batch (bot/intake/batch.py)
        ctx.parsed = parse_message(ctx.raw)
    if unparseable(ctx.parsed):
        raise Quarantine(f"cannot be parsed: {ctx.parsed.defects[0]}")


def store(ctx: MessageContext, session: Session, deps: Services) -> None:
    msg, loc = ctx.parsed, ctx.location   # the batch's messages before it are written: a repeat is seen
    key = dedup_key(msg.from_address, msg.message_id, ctx.raw)
    if stored_already(session, key, loc.place):   # the same content key, or from a folder the same place
        raise Duplicate("already stored")
    note_stored(session, key, loc.place)
    ctx.inbound = new_row(
        InboundMessage, dedup_key=key, message_id=msg.message_id, sender=msg.from_address, subject=msg.subject[:998],
        folder=loc.folder, uidvalidity=loc.uidvalidity, uid=loc.uid, raw=ctx.raw, received_at=ctx.received_at,
        new_text=msg.new_text, attachments=json.dumps([a.filename for a in msg.attachments], ensure_ascii=False))
    # Pending (an ORM query writes it) until inbound_id or open_ticket writes it, or the message ends.
    session.add(ctx.inbound)


def spot_machine_mail(ctx: MessageContext, session: Session, deps: Services) -> None:
    own = {deps.settings.smtp.from_address.lower(), deps.settings.imap.username.lower()} - {""}
    ctx.machine_reason = machine_mail_reason(ctx.parsed, own_addresses=own)
    ctx.inbound.machine_reason = ctx.machine_reason


NO_USABLE_SENDER = "no usable sender"   # how its quarantine reason starts (bot/intake/release.py)


def require_sender(ctx: MessageContext, session: Session, deps: Services) -> None:
    """Mail from nobody usable (From empty, undecodable, ambiguous) is kept for staff: no ticket, no mail.

    Machine mail needs no sender: it is stored as such and never answered anyway."""
    if not ctx.parsed.from_address and not ctx.machine_reason:
        raise Quarantine(f"{NO_USABLE_SENDER}: {ctx.parsed.sender_refusal or 'no From address'}")


def thread(ctx: MessageContext, session: Session, deps: Services) -> None:
    """Join an existing ticket (bot/tickets/threads.py); a third party joins to be seen, never to act."""
    match = find_thread(session, ctx.parsed, deps.settings)
    if match is None:
        return
    ctx.ticket, ctx.inbound.ticket_id, ctx.inbound.party = match.ticket, match.ticket.id, match.party
    audit.record(session, deps.clock.now(), "message.threaded", ticket_id=match.ticket.id,
                 inbound_id=inbound_id(ctx, session), machine_mail=ctx.machine_reason, by=match.by,
                 party=match.party)


def classify(ctx: MessageContext, session: Session, deps: Services) -> None:
    if ctx.ticket is not None or ctx.machine_reason:
        return  # only a new request needs a kind; follow-ups and machine mail skip the model
    msg = ctx.parsed   # its new text is split already: classifier_input need not split it again
    ctx.classification = deps.classifier.classify(*classifier_input(msg.subject, msg.text, msg.new_text))
    ctx.inbound.language = ctx.classification.language


def open_new_ticket(ctx: MessageContext, session: Session, deps: Services) -> None:
    if ctx.ticket is not None or ctx.machine_reason:
        if ctx.machine_reason and ctx.ticket is None:
            audit.record(session, deps.clock.now(), "message.machine_mail", inbound_id=inbound_id(ctx, session),
                         reason=ctx.machine_reason)
        return
    ticket = new_ticket(ctx, deps)
    if _needs_proof(ctx, ticket):
        verification.match_before_opening(session, ctx, deps, ticket)
    ctx.ticket = open_ticket(session, ctx, deps, ticket)   # also links ctx.inbound to it
    ctx.opened_ticket = True


def _needs_proof(ctx: MessageContext, ticket) -> bool:   # verify_requester then calls verification.begin
    return not ctx.processor_answer and (ticket.kind != "other" or ticket.needs_triage)


def verify_requester(ctx: MessageContext, session: Session, deps: Services) -> None:
    """Rights requests start verification; replies may carry a code or the details we asked for."""
    if ctx.machine_reason or ctx.ticket is None or ctx.inbound.party == THIRD_PARTY \
            or ctx.processor_answer:
        return
    if not ctx.opened_ticket:
        verification.follow_up(session, ctx, deps)
    elif _needs_proof(ctx, ctx.ticket):
        verification.begin(session, ctx, deps, with_ack=True)   # the acknowledgement carries code or question
    else:
        # Nothing to prove: staff write the answer, from the message in hand (not read back and parsed again).
        create_draft(session, ctx.ticket, deps, opening=(ctx.parsed.new_text, ctx.parsed.from_name))


def acknowledge(ctx: MessageContext, session: Session, deps: Services) -> None:
    """One mail per new request: the acknowledgement, with the code or the account question if any."""
    if ctx.opened_ticket and not ctx.machine_reason:
        ack = queue_acknowledgement(session, ctx, deps)   # None: withheld (bot/outbox/loops.py)
        if ack is not None:
            ctx.outbox.append(ack)
        if ctx.ack_code is not None:
            code_queued(session, ctx.ticket, ctx.ack_code[0], ack, deps)


STAGES = (parse, store, spot_machine_mail, require_sender, note_bounce, thread, note_processor_answer, classify,
          link_duplicate, open_new_ticket, verify_requester, acknowledge)
