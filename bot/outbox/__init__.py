"""The outbox: mail (and codes by SMS) queued in the ticket's transaction, then sent after commit.
It owns queueing (queue.py), the sender that claims and sends rows (sender.py) and records each
result once (results.py), loop protection (loops.py), the suppression list fed by our own
bounces (suppressions.py) and SMS codes (sms.py). It imports store, mail and the shared edges;
sla, drafts, verify, tickets and intake build on it."""
