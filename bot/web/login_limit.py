"""The console's login limit: too many failed logins from one address, or for one account name, are refused a while.

One address is stopped after a few failures; an account name only after many more from all addresses
together, so that one client's guesses cannot lock the real user out.

Every attempt is committed before its password is checked, so guesses sent in parallel count as
well; a successful login removes only its own account's failures from its own address, so what an
attacker tried from elsewhere still counts. Refused attempts are not failures (they do not prolong
the lock). Kept in the database: every process, and a restarted one, sees the same counts."""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from bot.store import audit
from bot.store.db import SessionFactory, transaction
from bot.logs import redact
from bot.store.models import LoginFailure
from bot.config.web import WebSettings

log = logging.getLogger(__name__)


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


def masked_address(host: str) -> str:
    """A client address for logs and the audit trail: its /24 (IPv4) or /48 (IPv6) network only."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return redact(host)
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


@dataclass(frozen=True)
class LoginAttempt:
    email: str      # as typed, lower-cased
    host: str       # the client's address (uvicorn applies X-Forwarded-For from forwarded_allow_ips)

    @property
    def account(self) -> str:
        return _digest("account", self.email)

    @property
    def client(self) -> str:
        return _digest("client", self.host)


@dataclass(frozen=True)
class Refusal:
    limits: tuple[str, ...]      # "account name" and/or "address"
    retry_after: int             # seconds until the oldest counted failure leaves the window

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        where = " and ".join({"account name": "for this account name", "address": "from this address"}[limit]
                             for limit in self.limits)
        return (f"Too many failed logins {where}. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")


def check_attempt(sessions: SessionFactory, now: datetime, attempt: LoginAttempt, web: WebSettings) -> Refusal | None:
    """Record the attempt (as a failure until login_succeeded), then whether the limit turns it away."""
    since = now - timedelta(minutes=web.login_window_minutes)
    with transaction(sessions) as session:
        session.exec(delete(LoginFailure).where(LoginFailure.at <= since))
        row = LoginFailure(at=now, account=attempt.account, client=attempt.client)
        session.add(row)
        session.flush()
        row_id = row.id
    with transaction(sessions) as session:
        counted = {"account name": _failures(session, LoginFailure.account == attempt.account, since),
                   "address": _failures(session, LoginFailure.client == attempt.client, since)}
        # This attempt is among those counted: over the limit means the limit was reached before it.
        limit = {"account name": web.login_max_account_failures, "address": web.login_max_failures}
        reached = {name: found for name, found in counted.items() if found[0] > limit[name]}
        if not reached:
            return None
        session.exec(update(LoginFailure).where(LoginFailure.id == row_id).values(refused=True))
        oldest = min(at for _, at in reached.values())
        refusal = Refusal(tuple(reached), retry_after=max(1, int((oldest - since).total_seconds())))
        _note_refusal(session, now, attempt, refusal, web, row_id, failures=max(n for n, _ in reached.values()) - 1)
    return refusal


def _failures(session: Session, whose, since: datetime) -> tuple[int, datetime]:
    """How many failures (and attempts under way) match `whose` within the window, and the oldest one's time."""
    return tuple(session.exec(select(func.count(), func.min(LoginFailure.at)).where(
        whose, LoginFailure.at > since, LoginFailure.refused == False)).one())  # noqa: E712


def _note_refusal(session: Session, now: datetime, attempt: LoginAttempt, refusal: Refusal, web: WebSettings,
                  row_id: int, *, failures: int) -> None:
    """Logged every time; audited once per lock (a flood of attempts must not flood the audit trail)."""
    shown = {"account": redact(attempt.email) or "(empty)", "address": masked_address(attempt.host)}
    log.warning("staff login refused: %d failed logins for this %s within the window (account %s, address %s)",
                failures, " and ".join(refusal.limits), shown["account"], shown["address"])
    same = [LoginFailure.account == attempt.account] if "account name" in refusal.limits else []
    same += [LoginFailure.client == attempt.client] if "address" in refusal.limits else []
    since = now - timedelta(minutes=web.login_window_minutes)
    audited = session.exec(select(LoginFailure.id).where(LoginFailure.refused == True, LoginFailure.at > since,  # noqa: E712
                                                         LoginFailure.id != row_id, or_(*same))).first()
    if audited is None:
        audit.record(session, now, "staff.login_refused", limits=list(refusal.limits), failures=failures,
                     window_minutes=web.login_window_minutes, **shown)


def login_succeeded(session: Session, attempt: LoginAttempt) -> None:
    """Forget this account's failures from this address (and this attempt); others' still count."""
    session.exec(delete(LoginFailure).where(LoginFailure.account == attempt.account,
                                            LoginFailure.client == attempt.client))
