"""Verification of a ticket's requester: by our MX's authentication results, by a one-time code, or by staff."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.store.accounts import Account
from bot.store.accounts.phones import mask_phone
from bot.store.models import Challenge, Ticket
from bot.store.rows import insert_row, update_row
from bot.outbox.queue import queue_mail
from bot.mail.context import inbound_id
from bot.sla import recompute_due
from bot.verify.authresults import sender_authenticated
from bot.drafts.create import create_draft
from bot.drafts.guard import NotVerified, require_verified  # noqa: F401 (re-exported)
from bot.verify.codes import code_matches, find_codes, hash_code, new_code, new_salt
from bot.verify.matching import AccountMatch, match_account
from bot.outbox.sms import queue_sms

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services

VERIFIED, CHALLENGED, UNKNOWN, REFUSED = "verified", "challenged", "unknown", "refused"


def match_before_opening(session: Session, ctx: MessageContext, deps: Services, ticket: Ticket) -> None:
    """For a new rights request whose ticket is not written yet: match the account now (begin acts on
    it), so that what the match settles at once goes into the ticket's INSERT, not an UPDATE after it."""
    ctx.account_match = match = match_account(ctx.parsed, deps.accounts(session),
                                              deps.settings.accounts.default_region)
    if match.status == "matched":
        ticket.account_id = match.account.account_id
    else:
        ticket.verification, ticket.waiting_on = UNKNOWN, "requester"   # as _act_on_match sets it


def begin(session: Session, ctx: MessageContext, deps: Services, *, with_ack: bool = False) -> None:
    """For a new rights request: match the account (or take match_before_opening's), then verify,
    challenge or ask for details.

    `with_ack`: an acknowledgement of this message follows, and carries the code or the question
    (ctx.ack_code, ctx.ack_asks_account) instead of a mail of their own."""
    match = ctx.account_match or match_account(ctx.parsed, deps.accounts(session),
                                               deps.settings.accounts.default_region)
    audit.record(session, deps.clock.now(), "account.match", ticket_id=ctx.ticket.id,
                 inbound_id=inbound_id(ctx, session), **match.evidence())
    _act_on_match(session, ctx, deps, match, with_ack=with_ack)
    recompute_due(session, ctx.ticket, deps.settings, deps.clock.now())


def follow_up(session: Session, ctx: MessageContext, deps: Services) -> None:
    """A reply may carry the code, or the phone number or nickname we asked for."""
    ticket = ctx.ticket
    if ticket.verification == CHALLENGED:
        _check_code(session, ctx, deps)
    elif ticket.verification == UNKNOWN and ctx.parsed.from_address == ticket.requester:
        match = match_account(ctx.parsed, deps.accounts(session), deps.settings.accounts.default_region)
        audit.record(session, deps.clock.now(), "account.match", ticket_id=ticket.id,
                     inbound_id=inbound_id(ctx, session), **match.evidence())
        if match.status == "matched":
            _act_on_match(session, ctx, deps, match)
    recompute_due(session, ticket, deps.settings, deps.clock.now())  # verified, or no longer waiting


def _act_on_match(session: Session, ctx: MessageContext, deps: Services, match: AccountMatch, *,
                  with_ack: bool = False) -> None:
    ticket, msg, now = ctx.ticket, ctx.parsed, deps.clock.now()
    if match.status != "matched":
        _set(session, ticket, UNKNOWN, waiting_on="requester")
        audit.record(session, now, "verification.unknown", ticket_id=ticket.id, reason=match.status)
        if with_ack:
            ctx.ack_asks_account = True
            return
        mail = deps.renderer.render("unknown", "bilingual", reference=ticket.reference)
        queue_mail(session, settings=deps.settings, now=now, ticket=ticket, kind="ask-details",
                   to=ticket.requester, subject=mail.subject, text=mail.text,
                   in_reply_to=msg.message_id, references=msg.references)
        return
    account = match.account
    update_row(session, ticket, account_id=account.account_id)
    if msg.from_address in account.emails:
        passed, evidence = sender_authenticated(msg, deps.settings.verification.trusted_authserv_ids)
    else:
        passed, evidence = False, "sender is not a registered address of the account"
    if passed:
        _set(session, ticket, VERIFIED, verified_address=msg.from_address)
        audit.record(session, now, "verification.verified", ticket_id=ticket.id, method="authentication-results",
                     account_id=account.account_id, evidence=evidence)
        create_draft(session, ticket, deps)
        return
    audit.record(session, now, "verification.headers_not_enough", ticket_id=ticket.id, evidence=evidence)
    issue_challenge(session, ticket, account, deps, in_reply_to=msg.message_id, ack=ctx if with_ack else None)


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
        _set(session, ticket, UNKNOWN)
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
        _set(session, ticket, "pending")
        audit.record(session, now, "verification.code_withheld", ticket_id=ticket.id, actor=actor,
                     challenge_id=challenge.id, channel=channel,
                     note="the code was withheld: staff resend it (verify --resend-code) or decide")
        return None
    _set(session, ticket, CHALLENGED, waiting_on="requester")
    audit.record(session, now, "verification.challenged", ticket_id=ticket.id, actor=actor, channel=channel,
                 sent_to=mask_phone(sent_to) if channel == "sms" else sent_to, challenge_id=challenge.id,
                 expires_at=challenge.expires_at)
    recompute_due(session, ticket, deps.settings, now, actor=actor)
    return challenge


def _check_code(session: Session, ctx: MessageContext, deps: Services) -> None:
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
            _set(session, ticket, VERIFIED, verified_address=challenge.reply_from)
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


def decide_manually(session: Session, ticket: Ticket, deps: Services, *, actor: str, reason: str,
                    refuse: bool) -> None:
    if not reason.strip():
        raise ValueError("a reason is required")
    if not refuse and not ticket.account_id:
        raise ValueError("no account is matched to this ticket: name it (--account ID)")
    now = deps.clock.now()
    _set(session, ticket, REFUSED if refuse else VERIFIED)
    if not refuse and not ticket.verified_address:
        account = deps.accounts(session).get(ticket.account_id)
        registered = account.emails if account else ()
        # Substantive replies go to a registered address unless the requester wrote from one.
        update_row(session, ticket, verified_address=ticket.requester if ticket.requester in registered
                   or not registered else registered[0])
    audit.record(session, now, "verification.refused" if refuse else "verification.verified", ticket_id=ticket.id,
                 actor=actor, method="manual", reason=reason.strip(), account_id=ticket.account_id)
    recompute_due(session, ticket, deps.settings, now, actor=actor)
    if not refuse:
        create_draft(session, ticket, deps, actor=actor)


def _set(session: Session, ticket: Ticket, state: str, *, waiting_on: str | None = None, **more: object) -> None:
    update_row(session, ticket, verification=state, waiting_on=waiting_on, **more)
