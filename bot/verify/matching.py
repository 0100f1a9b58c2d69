"""Finds the account a message is about: sender address, then phone numbers and nicknames it mentions."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.store.accounts import Account, AccountSource
from bot.store.accounts.phones import find_phones
from bot.mail.parse import ParsedMessage

_NICKNAME = re.compile(
    r"(?:nick\s?name|user\s?name|昵称|暱稱|用户名|用戶名)\s*(?:is|was|:|：|是|为|為)?\s*"
    r"[\"'“‘「『]?([^\s\"'”’」』，,。;；!！?？]{1,32})", re.IGNORECASE)


@dataclass(frozen=True)
class AccountMatch:
    status: str                     # matched | none | ambiguous
    account: Account | None
    by: tuple[str, ...]             # what matched: sender-email, phone, nickname
    candidates: tuple[str, ...]     # account ids considered
    reply_to_differs: bool

    def evidence(self) -> dict:
        """For the audit trail: what matched, never the phone numbers themselves."""
        return {"status": self.status, "account_id": self.account.account_id if self.account else None,
                "by": list(self.by), "candidates": list(self.candidates),
                "reply_to_differs": self.reply_to_differs}


def mentioned_nicknames(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).strip(".:：") for m in _NICKNAME.finditer(text)))[:5]


def match_account(msg: ParsedMessage, source: AccountSource, region: str = "CN") -> AccountMatch:
    """Never guesses: several accounts, or evidence pointing at different ones, is 'ambiguous'."""
    text = f"{msg.subject}\n{msg.new_text}"
    by_email = {a.account_id: a for a in source.by_email(msg.from_address)} if msg.from_address else {}
    by_detail: dict[str, Account] = {}
    found_by = ["sender-email"] if by_email else []
    for phone in find_phones(text, region):
        hits = source.by_phone(phone)
        by_detail.update((a.account_id, a) for a in hits)
        found_by += ["phone"] if hits else []
    for nickname in mentioned_nicknames(text):
        hits = source.by_nickname(nickname)
        by_detail.update((a.account_id, a) for a in hits)
        found_by += ["nickname"] if hits else []
    differs = bool(msg.reply_to and msg.reply_to != msg.from_address)
    if by_email:
        # Details in the text may pick one of several accounts sharing an address,
        # but may not point away from the sender's own account.
        pool = {k: v for k, v in by_email.items() if k in by_detail} if len(by_email) > 1 else by_email
        if by_detail and not set(by_detail) & set(by_email):
            pool = {}
    else:
        pool = by_detail
    candidates = tuple(sorted(set(by_email) | set(by_detail)))
    by = tuple(dict.fromkeys(found_by))
    if len(pool) == 1:
        return AccountMatch("matched", next(iter(pool.values())), by, candidates, differs)
    return AccountMatch("ambiguous" if candidates else "none", None, by, candidates, differs)

