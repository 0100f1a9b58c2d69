"""One-time codes: a challenge issued to the account's address or phone, noted as queued or withheld,
and the codes a reply carries checked against it."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.store.accounts import Account
from bot.store.accounts.phones import mask_phone
from bot.store.models import Challenge, Ticket
from bot.store.rows import update_row, insert_row
from bot.outbox.queue import queue_mail
from bot.outbox.sms import queue_sms
from bot.mail.context import inbound_id
from bot.sla import recompute_due
from bot.drafts.create import create_draft
from bot.verify.codes import code_matches, find_codes, hash_code, new_code, new_salt

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services

VERIFIED, CHALLENGED, UNKNOWN, REFUSED = "verified", "challenged", "unknown", "refused"
# A request matched to no account (or to several) waits for the requester to name theirs.
UNMATCHED = {"verification": UNKNOWN, "waiting_on": "requester"}


def set_state(session: Session, ticket: Ticket, state: str, *, waiting_on: str | None = None,
              **more: object) -> None:
    update_row(session, ticket, verification=state, waiting_on=waiting_on, **more)


def issue_challenge(session: Session, ticket: Ticket, account: Account, deps: Services, *,
                    in_reply_to: str | None = None, actor: str = "bot",
                    ack: MessageContext | None = None) -> Challenge | None:
    """A fresh code to the account's registered address (never to an unverified sender), or by SMS.

    With `ack`, a code for the address the request came from rides in its acknowledgement
    (ctx.ack_code); the acknowledgement stage then calls code_queued."""
    now, cfg = deps.clock.now(), deps.settings.verification
    for old in session.exec(select(Challenge).where(Challenge.ticket_id == ticket.id,
                                                    Challenge.status == "open")).all():
        update_row(session, old, status="superseded")
    code, salt = new_code(), new_salt()
    if account.emails:
        to = ticket.requester if ticket.requester in account.emails else account.emails[0]
        channel, sent_to, reply_from = "email", to, to
    elif account.phone and deps.sms is not None:
        channel, sent_to, reply_from = "sms", account.phone, ticket.requester
    else:
        set_state(session, ticket, UNKNOWN)
        audit.record(session, now, "verification.no_channel", ticket_id=ticket.id, actor=actor,
                     account_id=account.account_id, note="no registered email and no SMS sender: staff decide")
        return None
    challenge = Challenge(ticket_id=ticket.id, account_id=account.account_id, channel=channel, sent_to=sent_to,
                          reply_from=reply_from, code_hash=hash_code(code, salt), salt=salt, created_at=now,
                          expires_at=now + timedelta(hours=cfg.code_ttl_hours))
    insert_row(session, challenge)
    if channel == "email" and ack is not None and sent_to == ticket.requester:
        ack.ack_code = (challenge, code)
        return challenge
    if channel == "email":
        mail = deps.renderer.render("challenge", ticket.language, reference=ticket.reference, code=code,
                                    kind=ticket.kind, hours=cfg.code_ttl_hours)   # greets no one by name:
        # whoever wrote the request, the code goes to the account's address, perhaps someone else's
        queued = queue_mail(session, settings=deps.settings, now=now, ticket=ticket, kind="challenge", to=sent_to,
                            subject=mail.subject, text=mail.text,
                            in_reply_to=in_reply_to if to == ticket.requester else None, actor=actor)
    else:   # queued like mail: the gateway is called only after this transaction commits
        queued = queue_sms(session, settings=deps.settings, now=now, ticket=ticket, phone=sent_to, code=code,
                           actor=actor)
    return code_queued(session, ticket, challenge, queued, deps, actor=actor)


def code_queued(session: Session, ticket: Ticket, challenge: Challenge, queued: object | None, deps: Services,
                *, actor: str = "bot") -> Challenge | None:
    """The mail (or SMS) carrying the code was queued, or withheld (None): the ticket waits, or staff decide."""
    now = deps.clock.now()
    channel, sent_to = challenge.channel, challenge.sent_to
    if queued is None:   # withheld by loop protection (bot/outbox/loops.py): no code went out
        update_row(session, challenge, status="withheld")
        set_state(session, ticket, "pending")
        audit.record(session, now, "verification.code_withheld", ticket_id=ticket.id, actor=actor,
                     challenge_id=challenge.id, channel=channel,
                     note="the code was withheld: staff resend it (verify --resend-code) or decide")
        return None
    set_state(session, ticket, CHALLENGED, waiting_on="requester")
    audit.record(session, now, "verification.challenged", ticket_id=ticket.id, actor=actor, channel=channel,
                 sent_to=mask_phone(sent_to) if channel == "sms" else sent_to, challenge_id=challenge.id,
                 expires_at=challenge.expires_at)
    recompute_due(session, ticket, deps.settings, now, actor=actor)
    return challenge


def check_code(session: Session, ctx: MessageContext, deps: Services) -> None:
    ticket, msg, now = ctx.ticket, ctx.parsed, deps.clock.now()
    codes = find_codes(f"{msg.subject}\n{msg.new_text}")
    challenge = session.exec(select(Challenge).where(Challenge.ticket_id == ticket.id)
                             .order_by(Challenge.id.desc())).first()
    if not codes or challenge is None:
        return
    event = dict(ticket_id=ticket.id, inbound_id=inbound_id(ctx, session), actor="requester", challenge_id=challenge.id)
    if challenge.status != "open":
        audit.record(session, now, "verification.code_rejected", reason=f"challenge {challenge.status}", **event)
    elif msg.from_address != challenge.reply_from:
        # A valid code from anywhere else proves nothing about the registered address.
        audit.record(session, now, "verification.code_rejected", reason="reply from another address",
                     sender=msg.from_address, **event)
    elif now > challenge.expires_at:
        update_row(session, challenge, status="expired")
        audit.record(session, now, "verification.code_rejected", reason="expired", **event)
    else:
        _try_codes(session, ctx, deps, challenge, codes, event)


def _try_codes(session: Session, ctx: MessageContext, deps: Services, challenge: Challenge, codes: list[str],
               event: dict) -> None:
    """Each code tried is an attempt: seven codes in one reply are seven guesses, not one."""
    ticket, now = ctx.ticket, deps.clock.now()
    for code in codes:
        if code_matches(code, challenge.salt, challenge.code_hash):
            update_row(session, challenge, status="used")
            set_state(session, ticket, VERIFIED, verified_address=challenge.reply_from)
            audit.record(session, now, "verification.verified", method=f"code by {challenge.channel}",
                         account_id=challenge.account_id, **event)
            create_draft(session, ticket, deps)
            return
        update_row(session, challenge, attempts=challenge.attempts + 1)
        locked = challenge.attempts >= deps.settings.verification.max_attempts
        audit.record(session, now, "verification.code_rejected", reason="wrong code",
                     attempts=challenge.attempts, locked=locked, **event)
        if locked:
            update_row(session, challenge, status="locked")
            update_row(session, ticket, waiting_on="staff")  # no new code on demand: staff resend one or decide
            return
