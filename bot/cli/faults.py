"""The command line's last word on faults around it: one clear line and exit 1, not a traceback."""
from __future__ import annotations

import sys

import typer
from rich.console import Console

errors = Console(stderr=True)


class OneLineFaults(typer.Typer):
    """The command line; a fault of its surroundings (database refused or read-only, disk full,
    mailbox folder missing) ends it with one clear line and exit status 1, not a traceback.
    Every command works in transactions, so nothing half-done is left behind."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only the faults fault_line knows are turned into a line
            if (line := fault_line(exc)) is None:
                raise
            errors.print(f"supportbot: {line}", markup=False, highlight=False, soft_wrap=True)
            sys.exit(1)


def fault_line(exc: BaseException) -> str | None:
    """One line for an operational fault; None for anything else (a bug keeps its traceback)."""
    from imapclient.exceptions import IMAPClientError
    from sqlalchemy.exc import DBAPIError
    if isinstance(exc, DBAPIError):
        first = (str(exc.orig or exc).strip().splitlines() or [""])[0]   # never the statement or its values
        return f"database error: {first} (nothing was changed by the failed step)"
    if isinstance(exc, IMAPClientError):
        return f"mailbox error: {' '.join(str(exc).split())[:300]}"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or type(exc).__name__}{where}"
    return None
