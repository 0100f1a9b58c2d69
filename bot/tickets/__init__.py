"""Tickets: opening one for a new request (reference, due date) and reclassifying it
(opening.py), threading and who may act on it (threads.py), the acknowledgement it gets
(acknowledge.py), the evidence pack for a regulator (evidence/), deciding that a request repeats an
open one (duplicates.py), and the read-side views the CLI and console share (views.py). It
imports verify, drafts, sla, outbox, store and mail; intake and above import it."""
