"""Rule: did OUR receiving server record that the From domain passed DMARC (or aligned DKIM/SPF)?"""
from __future__ import annotations

from collections.abc import Collection
from functools import cache

import authres
from publicsuffixlist import PublicSuffixList

from bot.mail.parse import ParsedMessage


@cache
def _suffixes() -> PublicSuffixList:
    # The list shipped with the package (no network); read when first needed, not on every start.
    return PublicSuffixList()


def _aligned(domain: str, from_domain: str) -> bool:
    """DMARC relaxed alignment (RFC 7489 s.3.1): the same organisational domain, read from the public
    suffix list; a bare public suffix ("net", "com.cn") is nobody's domain and never aligns."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    organisation = _suffixes().privatesuffix(domain) if domain else None
    return organisation is not None and organisation == _suffixes().privatesuffix(from_domain)


def _domain(value: str) -> str:
    return value.rpartition("@")[2]


def sender_authenticated(msg: ParsedMessage, trusted_ids: Collection[str]) -> tuple[bool, str]:
    """(passed, evidence). Only the topmost Authentication-Results header from a trusted
    authserv-id counts: our MX adds it on top and strips look-alikes from outside (RFC 8601 s.5)."""
    trusted = {t.lower() for t in trusted_ids}
    if not trusted:
        return False, "no trusted authserv-id configured"
    from_domain = _domain(msg.from_address)
    for value in msg.headers.get("authentication-results", ()):
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # noqa: BLE001 - a malformed header proves nothing
            continue
        if (header.authserv_id or "").lower() not in trusted:
            continue  # written by someone else: ignored
        for result in header.results:
            props = {f"{p.type}.{p.name}".lower(): str(p.value) for p in result.properties}
            method, outcome = result.method.lower(), str(result.result).lower()
            if outcome != "pass":
                continue
            if method == "dmarc" and _aligned(props.get("header.from", ""), from_domain):
                return True, f"{header.authserv_id}: dmarc=pass header.from={props.get('header.from')}"
            if method == "dkim" and _aligned(props.get("header.d", "") or _domain(props.get("header.i", "")), from_domain):
                return True, f"{header.authserv_id}: dkim=pass aligned with {from_domain}"
            if method == "spf" and _aligned(_domain(props.get("smtp.mailfrom", "")), from_domain):
                return True, f"{header.authserv_id}: spf=pass aligned with {from_domain}"
        return False, f"{header.authserv_id}: no aligned pass"
    return False, "no Authentication-Results from a trusted server"
