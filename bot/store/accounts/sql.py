"""The production account source: the app's own database, read-only, through configured queries."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.store.accounts import Account, as_bool, split_emails
from bot.store.accounts.phones import national_number, normalize_phone
from bot.config import AccountSettings


@dataclass
class SqlAccountSource:
    settings: AccountSettings
    engine: Engine

    @classmethod
    def from_settings(cls, settings: AccountSettings) -> SqlAccountSource:
        engine = create_engine(settings.url, pool_pre_ping=True)
        return cls(settings, engine)

    def _query(self, sql: str, **params: str) -> list[Account]:
        if not sql:
            return []
        # Parameters are bound, never formatted into the SQL; the transaction is rolled back
        # (we only read) and PostgreSQL is told so as well.
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION READ ONLY"))
            rows = conn.execute(text(sql), params).mappings().all()
            conn.rollback()
        region = self.settings.default_region
        return [
            Account(str(r["account_id"]), str(r["nickname"] or ""),
                    normalize_phone(str(r["phone"] or ""), region) if r["phone"] else "",
                    split_emails(r["email"]), as_bool(r["wechat_bound"]), str(r["status"] or ""))
            for r in rows
        ]

    def by_email(self, email: str) -> list[Account]:
        return self._query(self.settings.query_by_email, email=email.lower())

    def by_phone(self, phone: str) -> list[Account]:
        # Both spellings, for apps that store "13800138000" rather than "+8613800138000".
        return self._query(self.settings.query_by_phone, phone=phone, phone_national=national_number(phone)) if phone else []

    def by_nickname(self, nickname: str) -> list[Account]:
        return self._query(self.settings.query_by_nickname, nickname=nickname) if nickname else []

    def get(self, account_id: str) -> Account | None:
        found = self._query(self.settings.query_by_id, account_id=account_id)
        return found[0] if found else None
