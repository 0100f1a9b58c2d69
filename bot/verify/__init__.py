"""Proving that a requester controls the account before anything is disclosed or deleted:
finding the account (matching.py), our receiving server's authentication results
(authresults.py), one-time codes (codes.py), challenges that send and check them (challenges.py) and the flow
that ties them together (flow.py).
It imports drafts, sla, outbox, mail, store and the shared edges; tickets and above import it."""
