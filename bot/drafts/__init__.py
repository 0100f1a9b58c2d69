"""Drafted substantive replies: created when a ticket is verified (create.py, correction.py,
export.py), sent only when a person approves (approve.py), the guard every export and deletion
passes (guard.py), the side effects of approved deletions (actions.py), and the notices to
processors with the reading of their answers (notices.py, processor_answers.py). It imports
sla, outbox, mail, store and the shared edges; verify, tickets and above import it."""
