"""The guard every export and deletion passes: a verified requester with a matched account."""
from __future__ import annotations

from bot.store.models import Ticket


class NotVerified(PermissionError):
    """Raised before anything would be disclosed or deleted for an unverified requester."""


def require_verified(ticket: Ticket) -> None:
    if ticket.verification != "verified" or not ticket.account_id:
        raise NotVerified(f"{ticket.reference}: requester not verified ({ticket.verification})")
