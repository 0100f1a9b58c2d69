"""Verification of a ticket's requester: by our MX's authentication results, by a one-time code, or by staff."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.store import audit
from bot.store.models import Ticket
from bot.store.rows import update_row
from bot.outbox.queue import queue_mail
from bot.mail.context import inbound_id
from bot.sla import recompute_due
from bot.verify.authresults import sender_authenticated
from bot.drafts.create import create_draft
from bot.drafts.guard import NotVerified, require_verified  # noqa: F401 (re-exported)
from bot.verify.challenges import (CHALLENGED, REFUSED, UNKNOWN, UNMATCHED, VERIFIED, check_code,
                                   issue_challenge, set_state)
from bot.verify.matching import AccountMatch, match_account

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services


def match_before_opening(session: Session, ctx: MessageContext, deps: Services, ticket: Ticket) -> None:
    """For a new rights request whose ticket is not written yet: match the account now (begin acts on
    it), so that what the match settles at once goes into the ticket's INSERT, not an UPDATE after it."""
    ctx.account_match = match = match_account(ctx.parsed, deps.accounts(session),
                                              deps.settings.accounts.default_region)
    if match.status == "matched":
        ticket.account_id = match.account.account_id
    else:
        for name, value in UNMATCHED.items():   # as _act_on_match sets it, which then finds nothing to change
            setattr(ticket, name, value)


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
        check_code(session, ctx, deps)
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
        update_row(session, ticket, **UNMATCHED)
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
        set_state(session, ticket, VERIFIED, verified_address=msg.from_address)
        audit.record(session, now, "verification.verified", ticket_id=ticket.id, method="authentication-results",
                     account_id=account.account_id, evidence=evidence)
        create_draft(session, ticket, deps)
        return
    audit.record(session, now, "verification.headers_not_enough", ticket_id=ticket.id, evidence=evidence)
    issue_challenge(session, ticket, account, deps, in_reply_to=msg.message_id, ack=ctx if with_ack else None)


def decide_manually(session: Session, ticket: Ticket, deps: Services, *, actor: str, reason: str,
                    refuse: bool) -> None:
    if not reason.strip():
        raise ValueError("a reason is required")
    if not refuse and not ticket.account_id:
        raise ValueError("no account is matched to this ticket: name it (--account ID)")
    now = deps.clock.now()
    set_state(session, ticket, REFUSED if refuse else VERIFIED)
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
