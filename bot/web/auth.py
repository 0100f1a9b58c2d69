"""Staff accounts and logins: argon2 password hashes and revocable server-side sessions."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, delete, select
from zxcvbn import zxcvbn

from bot.store.models import StaffUser
from bot.store.console_models import StaffSession

ROLES = ("staff", "manager")
_hasher = PasswordHasher()   # argon2id with the library's (RFC 9106) parameters
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# zxcvbn's score 3: "safely unguessable" (about 10^8 guesses and more); 0-2 are guessable online.
MIN_PASSWORD_SCORE = 3
MAX_CHECKED = 100   # zxcvbn's time grows with length; the first 100 characters tell enough


class UserError(ValueError):
    """A staff account cannot be created or changed as asked."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"not an email address: {email!r}")
    return email


def check_password(password: str, min_length: int, email: str = "") -> None:
    """Long enough, and not guessable: zxcvbn's score counts repeats ("aaaa..."), common passwords,
    keyboard runs, dates and the staff member's own address."""
    if len(password) < min_length:
        raise UserError(f"the password needs at least {min_length} characters")
    strength = zxcvbn(password[:MAX_CHECKED], user_inputs=[email, *email.replace("@", ".").split(".")])
    if strength["score"] < MIN_PASSWORD_SCORE:
        hint = strength["feedback"]["warning"] or "; ".join(strength["feedback"]["suggestions"])
        raise UserError("the password is too easy to guess" + (f": {hint}" if hint else ""))


def find_user(session: Session, email: str) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()


def add_user(session: Session, email: str, password: str, *, role: str, now: datetime,
             min_length: int) -> StaffUser:
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    check_password(password, min_length, email)
    if find_user(session, email) is not None:
        raise UserError(f"{email} already exists")
    user = StaffUser(email=email, role=role, password_hash=_hasher.hash(password), created_at=now)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str, *, min_length: int) -> StaffUser:
    user = _existing(session, email)
    check_password(password, min_length, user.email)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    end_sessions(session, user.id)
    return user


def set_active(session: Session, email: str, active: bool) -> StaffUser:
    user = _existing(session, email)
    user.active = active
    session.add(user)
    if not active:
        end_sessions(session, user.id)  # a disabled account is logged out everywhere at once
    return user


def set_language(session: Session, email: str, language: str) -> StaffUser:
    """The console's language for this staff member: "en" or "zh"."""
    if language not in ("en", "zh"):
        raise UserError(f"no console language {language!r}: en or zh")
    user = _existing(session, email)
    user.language = language
    session.add(user)
    return user


def _existing(session: Session, email: str) -> StaffUser:
    user = find_user(session, email)
    if user is None:
        raise UserError(f"no staff account {email.strip().lower()}")
    return user


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """The active user with this address and password, or None (the same answer for every failure)."""
    user = find_user(session, email)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    return user


@cache
def _dummy_hash() -> str:
    """Checked against when the address is unknown, so a wrong address takes as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: StaffUser, *, now: datetime, hours: int) -> str:
    """A new login for `user`; returns the token for the cookie (never stored in clear)."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                             expires_at=now + timedelta(hours=hours)))
    session.exec(delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.expires_at <= now))
    return token


def session_user(session: Session, token: str, now: datetime) -> StaffUser | None:
    """The active user a live session token belongs to."""
    query = select(StaffUser).join(StaffSession, StaffSession.user_id == StaffUser.id).where(
        StaffSession.token_hash == _token_hash(token), StaffSession.expires_at > now,
        StaffUser.active == True)  # noqa: E712
    return session.exec(query).first()


def end_session(session: Session, token: str) -> None:
    session.exec(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def end_sessions(session: Session, user_id: int) -> None:
    session.exec(delete(StaffSession).where(StaffSession.user_id == user_id))
