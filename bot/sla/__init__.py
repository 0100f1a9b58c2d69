"""The SLA: the due-date clock and its rules (calendar.py, clock_rules.py), extensions
(extension.py), completion when the reply is delivered (delivery.py), reminders to staff
(reminders.py) and the managers' digest (digest.py, digest_trend.py, digest_mail.py, chart.py,
processors.py). It imports outbox, mail, store and the shared edges; drafts and
above import it. Its jobs are scheduled by bot/service/scheduler.py."""
from bot.sla.calendar import days_left, due_at, local_date
from bot.sla.clock_rules import mark_completed, recompute_due

__all__ = ["days_left", "due_at", "local_date", "mark_completed", "recompute_due"]
