"""Intake: the mailbox fetcher (fetcher.py: UIDs after the watermark, in batches, flagged only
after commit), the pipeline that runs the named stages over each message in one transaction
(runner.py, stages.py, batch.py), processors' answers to deletion notices (processor_answers.py),
quarantine for what it cannot handle (quarantine.py) and staff releasing quarantined mail
through it again (release.py). It imports tickets, verify, drafts, outbox, sla, mail, store and
the shared edges; service, web and cli import it."""
