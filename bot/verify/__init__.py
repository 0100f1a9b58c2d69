"""Proving that a requester controls the account before anything is disclosed or deleted."""
