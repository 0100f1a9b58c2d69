"""Processors that confirm: deletion notices carry a token; answers are classified; silence is reminded."""
