"""The evidence pack: one ZIP that shows how one request was handled, for a regulator or a court."""
from bot.tickets.evidence.pack import write_pack

__all__ = ["write_pack"]
