"""Several messages in one transaction, each in a savepoint of its own: one commit for a fetched batch."""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.store import audit
from bot.store.write_lock import take_write_lock
from bot.mail.context import Location
from bot.intake.runner import Pipeline


class IntakeBatch:
    """Handles messages as Pipeline.handle does, but commits them together in commit().

    A message that fails is rolled back to its savepoint alone; the messages before it are
    committed, then it is quarantined (in a transaction of its own, as Pipeline.handle does).
    A dry run rolls everything back. Until commit() returns nothing is committed, so the
    caller flags messages on the server only after it, and a crash loses no handled message:
    the watermark moves in the same transaction."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.session: Session | None = None

    def handle(self, raw: bytes, location: Location) -> str:
        pipeline = self.pipeline
        if len(raw) > pipeline.settings.imap.max_message_bytes:
            self.commit()  # Pipeline.handle quarantines it in a transaction of its own
            return pipeline.handle(raw, location)
        ctx = pipeline.new_context(raw, location)
        session = self._session()
        audit.write_pending(session)  # so that a rollback to the savepoint forgets only this message's
        try:
            with session.begin_nested():  # released on success, rolled back to on any error
                return pipeline.run_stages(ctx, session)
        except Exception as exc:  # noqa: BLE001 - whatever it is, a human gets the message
            self.commit()  # the messages before it are fine (in a dry run: rolled back)
            return pipeline.quarantine_failed(ctx, exc)

    def handle_oversized(self, kept: bytes, location: Location, size: int, *, moved_to: str = "") -> str:
        self.commit()
        return self.pipeline.handle_oversized(kept, location, size, moved_to=moved_to)

    def commit(self) -> None:
        """Commit what was handled so far (a dry run: roll it back); the next message starts anew."""
        if self.session is None:
            return
        try:
            if self.pipeline.dry_run:
                self.session.rollback()
            else:
                self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        finally:
            self._close()

    def rollback(self) -> None:
        if self.session is not None:
            try:
                self.session.rollback()
            finally:
                self._close()

    def _session(self) -> Session:
        if self.session is None:
            self.session = self.pipeline.sessions()
            # On SQLite this also begins the transaction the savepoints nest in (pysqlite would
            # begin it only at the first write, and the first RELEASE would commit otherwise).
            take_write_lock(self.session)
        return self.session

    def _close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def __enter__(self) -> IntakeBatch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or (isinstance(exc, Exception) and not isinstance(exc, SQLAlchemyError)):
            self.commit()  # e.g. the mail server went away: what was handled is kept, as one by one
        else:
            self.rollback()
