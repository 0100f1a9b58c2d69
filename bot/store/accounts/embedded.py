"""The embedded account source: the bot's own tables, filled from CSV or JSON Lines."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam
from sqlmodel import Session, delete, select

from bot.store.accounts import Account, as_bool, split_emails
from bot.store.accounts.phones import normalize_phone
from bot.store.batch_index import accounts_by_email
from bot.store.models import AccountEmail, AccountRecord

FIELDS = ("account_id", "nickname", "phone", "email", "wechat_bound", "status")
BOOLEAN_WORDS = {"", "1", "0", "true", "false", "yes", "no", "y", "n", "t", "f"}


class AccountFileError(ValueError):
    """A bad account file; the message names the line and the problem."""


def _account(row) -> Account:
    return Account(row.account_id, row.nickname, row.phone, split_emails(row.emails), row.wechat_bound, row.status)


# Built once, run as plain SQL for every request that looks for its account (no ORM objects needed).
_RECORD = AccountRecord.__table__
_BY_EMAIL = select(_RECORD).join(AccountEmail.__table__).where(AccountEmail.email == bindparam("value"))
_BY_EMAILS = select(_RECORD, AccountEmail.email).join(AccountEmail.__table__).where(
    AccountEmail.email.in_(bindparam("value", expanding=True)))
_ACCOUNT_ROWS = (AccountRecord, AccountEmail)
_BY = {column: select(_RECORD).where(_RECORD.c[column] == bindparam("value"))
       for column in ("phone", "nickname", "account_id")}


@dataclass
class EmbeddedAccountSource:
    """Reads through the caller's session, so it sees the same transaction as the ticket."""

    session: Session

    def _find(self, statement, value: str) -> list[Account]:
        return sorted((_account(r) for r in self._rows(statement, value)), key=lambda a: a.account_id)

    def _rows(self, statement, value: str | list[str]):
        session = self.session
        # Account rows the session holds unwritten count, as an ORM query would see them; the rest
        # (e.g. intake's message, written after its ticket) is none of this query's business.
        if any(isinstance(row, _ACCOUNT_ROWS) for row in (*session.new, *session.dirty)):
            session.flush()
        return session.connection().execute(statement, {"value": value})

    def by_email(self, email: str) -> list[Account]:
        if not email:
            return []
        known = accounts_by_email(self.session, email.lower(), self._by_emails)   # a fetched batch's sender
        return self._find(_BY_EMAIL, email.lower()) if known is None else known

    def _by_emails(self, emails: list[str]) -> dict[str, list[Account]]:
        """by_email of each address, in one query."""
        found: dict[str, list[Account]] = {}
        for row in self._rows(_BY_EMAILS, emails):
            found.setdefault(row.email, []).append(_account(row))
        return {email: sorted(accounts, key=lambda a: a.account_id) for email, accounts in found.items()}

    def by_phone(self, phone: str) -> list[Account]:
        return self._find(_BY["phone"], phone) if phone else []

    def by_nickname(self, nickname: str) -> list[Account]:
        return self._find(_BY["nickname"], nickname) if nickname else []

    def get(self, account_id: str) -> Account | None:
        found = self._find(_BY["account_id"], account_id)
        return found[0] if found else None


def read_account_file(path: Path, region: str = "CN") -> list[AccountRecord]:
    """CSV with the header account_id,nickname,phone,email,wechat_bound,status, or JSON Lines.

    Every problem of every row is reported at once (nothing is imported then), so one pass fixes the file."""
    text = path.read_text(encoding="utf-8-sig")
    problems: list[str] = []
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(f"{path}:{number}: not JSON ({exc.msg})")
    else:
        reader = csv.DictReader(text.splitlines())
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise AccountFileError(f"{path}: the header must be {','.join(FIELDS)}")
        rows = [(number, row) for number, row in enumerate(reader, 2)]
    records = []
    for number, row in rows:
        found = _problems(row, region)
        problems += [f"{path}:{number}: {problem}" for problem in found]
        if not found:
            records.append(_record(row, region))
    if problems:
        raise AccountFileError("\n".join(problems))
    return records


def _problems(row: dict, region: str) -> list[str]:
    found = []
    if not str(row.get("account_id") or "").strip():
        found.append("account_id is empty")
    phone_text = str(row.get("phone") or "").strip()
    if phone_text and not normalize_phone(phone_text, region):
        found.append(f"phone {phone_text!r} is not a valid number")
    found += [f"email {email!r} is not an address" for email in split_emails(row.get("email")) if "@" not in email]
    flag = str(row.get("wechat_bound") if row.get("wechat_bound") is not None else "").strip().lower()
    if flag not in BOOLEAN_WORDS:
        found.append(f"wechat_bound {row.get('wechat_bound')!r} is not true or false")
    return found


def _record(row: dict, region: str) -> AccountRecord:
    account_id = str(row.get("account_id") or "").strip()
    phone = normalize_phone(str(row.get("phone") or "").strip(), region)
    return AccountRecord(account_id=account_id, nickname=str(row.get("nickname") or "").strip(), phone=phone,
                         emails=";".join(split_emails(row.get("email"))),
                         wechat_bound=as_bool(row.get("wechat_bound")), status=str(row.get("status") or "active"))


def import_accounts(session: Session, records: list[AccountRecord]) -> int:
    """Insert or replace each account (by account_id) with its addresses; one transaction."""
    for record in records:
        session.exec(delete(AccountEmail).where(AccountEmail.account_id == record.account_id))
        session.merge(record)
        session.flush()
        for email in split_emails(record.emails):
            session.add(AccountEmail(email=email, account_id=record.account_id))
    return len(records)
