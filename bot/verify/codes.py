"""One-time codes: made with `secrets`, stored only as a salted scrypt hash, found in replies."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from bot.store.accounts.phones import find_phones

_CODE = re.compile(r"(?<![\d])(\d{4})[ \-]?(\d{4})(?![\d])")
CODE_SHAPE = _CODE   # what a code looks like in text (the evidence pack withholds it)


def new_code() -> str:
    """Eight digits shown as 1234-5678: easy to type on a phone, 10^8 to guess with 5 tries."""
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"


def hash_code(code: str, salt: str) -> str:
    digits = re.sub(r"\D", "", code)
    return hashlib.scrypt(digits.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1).hex()


def new_salt() -> str:
    return secrets.token_hex(16)


def code_matches(candidate: str, salt: str, code_hash: str) -> bool:
    return hmac.compare_digest(hash_code(candidate, salt), code_hash)


def find_codes(text: str) -> list[str]:
    """Code-shaped tokens in a reply, in order, phone numbers blanked out first so they never count.
    Each one tried costs an attempt (bot/verify/flow.py), so listing many buys nothing."""
    for phone_digits in {re.sub(r"\D", "", p)[-11:] for p in find_phones(text)}:
        text = re.sub(r"[\s\-]?".join(phone_digits), " ", text)
    return list(dict.fromkeys(a + b for a, b in _CODE.findall(text)))
