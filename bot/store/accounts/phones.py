"""Phone numbers: normalise to E.164 and find the ones a message mentions (phonenumbers)."""
from __future__ import annotations

import phonenumbers

# Its metadata patterns are compiled once and kept, not left to the re module's cache: the parser,
# spaCy and the rest of intake fill those 512 places, and recompiling them was 5% of intake's CPU.
phonenumbers.enable_pattern_cache()


def normalize_phone(text: str, region: str = "CN") -> str:
    """E.164 for a valid number ("+8613800138000"), "" for anything else."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_number(e164: str) -> str:
    """+8613800138000 -> 13800138000."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return ""


def find_phones(text: str, region: str = "CN", limit: int = 10) -> list[str]:
    """Valid numbers mentioned in free text, in order, without repeats."""
    found: dict[str, None] = {}
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        found[phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)] = None
        if len(found) >= limit:
            break
    return list(found)


def mask_phone(e164: str) -> str:
    """+8613800138000 -> +86138****8000, for mails and screens that must not show it whole."""
    return e164[:-8] + "****" + e164[-4:] if len(e164) > 8 else "****"
