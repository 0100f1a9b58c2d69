"""Subject normalisation (reply/forward prefixes) and ticket-reference lookup."""

from __future__ import annotations

import re

# Reply and forward markers of common clients: English, German (AW/WG), Nordic
# (SV/VS), Dutch (Antw), Italian (R/I/RIF), French (TR), Chinese (simplified and
# traditional), each optionally counted ("Re[2]:", "Re(2):").
_PREFIX = re.compile(
    r"(?:re|fwd?|aw|wg|sv|vs|antw|rif|tr|r|i|回复|回覆|答复|答覆|转发|轉寄|轉發)"
    r"\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_TAGS = re.compile(r"(?:\[[^\[\]]{1,80}\]\s*)+")
_SPACES = re.compile(r"\s+")


def normalize_subject(subject: str) -> str:
    """Strip reply/forward prefixes in any mix, keeping "[tag]"s (list names, ticket ids)."""
    rest = _SPACES.sub(" ", subject or "").strip()
    tags: list[str] = []
    while True:
        if prefix := _PREFIX.match(rest):
            rest = rest[prefix.end():]
        elif (tag := _TAGS.match(rest)) and _PREFIX.match(rest, tag.end()):
            # "[list] Re: topic": the tag stays, the prefix behind it goes.
            tags.append(tag.group().strip())
            rest = rest[tag.end():]
        else:
            break
    return " ".join([*tags, rest]).strip() if rest or tags else ""


def find_ticket_references(subject: str, prefix: str) -> list[str]:
    """Ticket references in subject, upper-case, first occurrence kept: "ESL-000123-K7M" (with check
    letters), or "ESL-000123" as references were written before them."""
    if not subject or not prefix:
        return []
    dash = "[-－‐]"
    pattern = re.compile(rf"(?<![0-9A-Za-z]){re.escape(prefix)}\s?{dash}\s?(\d{{6,}})"
                         rf"(?:{dash}([0-9A-Za-z]{{3}})(?![0-9A-Za-z])|(?![0-9]))", re.IGNORECASE)
    found = [f"{prefix.upper()}-{number}" + (f"-{check.upper()}" if check else "")
             for number, check in pattern.findall(subject)]
    return list(dict.fromkeys(found))
