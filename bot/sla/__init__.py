"""The SLA: the due-date clock and its rules, reminders to staff, and the managers' digest.

Only the clock is imported here: bot.config imports bot.config.sla, so nothing this
package imports on its own may import bot.config (reminders, digest and scheduler do)."""
from bot.sla.calendar import days_left, due_at, local_date
from bot.sla.clock_rules import mark_completed, recompute_due

__all__ = ["days_left", "due_at", "local_date", "mark_completed", "recompute_due"]
