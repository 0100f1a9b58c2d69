"""The running bot: the composition root that builds every service from settings (app.py), the
mailbox watcher thread (watcher.py), the outbox sender's own process (sender_process.py), the scheduler of reminders, digests and purges
(scheduler.py), liveness (health.py) and the run loop (run.py). It imports every domain package;
only web and cli import it."""
