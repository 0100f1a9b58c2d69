"""Loop protection rules: which mail is automatic, when it is withheld, and how much may go per hour."""
from __future__ import annotations

from datetime import datetime, timedelta

# Mail the bot writes by itself in answer to incoming mail, with nobody deciding: the kinds
# a mail loop (or someone forging a victim's address) could multiply. Not in here, on purpose:
# staff-approved replies ("reply-*"), notices a person triggers ("extension",
# "third-party-notice"), and reminders and digests, which go to our own staff. Nor codes by SMS
# ("challenge-sms", bot.outbox.sms): a phone number is no address to suppress after a bounce, and
# SMS does not use the mail budget; queue_sms limits codes per phone with withhold_reason below.
# An acknowledgement carrying the one-time code is a kind of its own: like "challenge", its copy is
# emptied once it is sent (bot.send_results), and a code is found in it (tests, the demo).
ACK_WITH_CODE = "ack-code"
AUTOMATIC_KINDS = ("ack", ACK_WITH_CODE, "challenge", "ask-details", "duplicate-notice")

# Limits count the automatic mail created within this window before now.
WINDOW = timedelta(hours=1)


def is_automatic(kind: str, actor: str) -> bool:
    """An automatic kind queued by the bot itself; a person's decision (actor staff:...) is never withheld."""
    return kind in AUTOMATIC_KINDS and actor == "bot"


def window_start(now: datetime) -> datetime:
    return now - WINDOW


def withhold_reason(*, suppressed: str | None, to_address_recently: int, per_address_per_hour: int) -> str | None:
    """Why one more automatic mail to an address must not be queued, or None when it may go.

    `suppressed` is the reason the address is on the suppression list (e.g. "bounced"), if it is;
    `to_address_recently` counts the automatic mail queued to it within the last WINDOW."""
    if suppressed is not None:
        return f"suppressed: {suppressed}"
    if to_address_recently >= per_address_per_hour:
        return (f"per-address limit: {to_address_recently} automatic mails in the last hour "
                f"(limit {per_address_per_hour})")
    return None


def sending_budget(*, sent_recently: int, global_per_hour: int) -> int:
    """How many more automatic mails may go now. Over the global limit mail waits, it is never
    withheld: a burst of real requests is acknowledged late rather than not at all."""
    return max(0, global_per_hour - sent_recently)
