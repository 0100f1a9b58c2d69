"""Drafted substantive replies: created when a ticket is verified, sent only when a person approves."""
