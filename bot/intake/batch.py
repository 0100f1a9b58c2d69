"""Several messages in one transaction: one commit for a fetched batch, savepoints only after a failure."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.store.batch_index import Expected, attach
from bot.store.write_lock import take_write_lock
from bot.mail.context import Location, advance_watermark
from bot.mail.parse import ParsedMessage, parse_message
from bot.intake.runner import Pipeline
from bot.intake.stages import dedup_key


class IntakeBatch:
    """Handles messages as Pipeline.handle does, but commits them together in commit().

    The messages share the batch's transaction with no savepoint each (a savepoint costs more
    than most messages' rows). When one fails, the whole transaction is rolled back, the messages
    before it are handled again in a fresh one (each in a savepoint this time, as a replay may
    meet what the first pass did not) and committed, then the failed one is quarantined in a
    transaction of its own, as Pipeline.handle does. A dry run rolls everything back. Until
    commit() returns nothing is committed, so the caller flags messages on the server only after
    it, and a crash loses no handled message: the watermark moves in the same transaction."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.session: Session | None = None
        self.handled: list[tuple[bytes, Location]] = []   # in this transaction, to replay after a failure
        self.parsed: dict[Location, tuple[bytes, ParsedMessage]] = {}   # expected, not handled yet
        self.expected: list[Expected] = []

    def expect(self, messages: list[tuple[bytes, Location]]) -> None:
        """The messages handle() will be given: parsed now, so that each session's lookups (stored
        already? duplicate candidates, accounts) are one query for them all (bot/store/batch_index.py)."""
        for raw, location in messages:
            if len(raw) <= self.pipeline.settings.imap.max_message_bytes:
                parsed = parse_message(raw)
                self.parsed[location] = raw, parsed
                self.expected.append(Expected(dedup_key(parsed.from_address, parsed.message_id, raw),
                                              location.place, parsed.from_address,
                                              self.pipeline.new_context(raw, location).received_at))

    def handle(self, raw: bytes, location: Location) -> str:
        pipeline = self.pipeline
        if len(raw) > pipeline.settings.imap.max_message_bytes:
            self.commit()  # Pipeline.handle quarantines it in a transaction of its own
            return pipeline.handle(raw, location)
        ctx = pipeline.new_context(raw, location)
        expected_raw, ctx.parsed = self.parsed.pop(location, (raw, None))
        if expected_raw is not raw:
            ctx.parsed = None   # not the message expected there: the parse stage reads this one
        try:   # the watermark moves once, to the last message, as the batch commits
            outcome = pipeline.run_stages(ctx, self._session(), watermark=False)
        except Exception as exc:  # noqa: BLE001 - whatever it is, a human gets the message
            self._replay_before_failure()
            return pipeline.quarantine_failed(ctx, exc)
        self.handled.append((raw, location))
        return outcome

    def handle_oversized(self, kept: bytes, location: Location, size: int, *, moved_to: str = "") -> str:
        self.commit()
        return self.pipeline.handle_oversized(kept, location, size, moved_to=moved_to)

    def commit(self) -> None:
        """Commit what was handled so far (a dry run: roll it back); the next message starts anew."""
        if self.session is None:
            return
        try:
            if self.handled:
                advance_watermark(self.session, max((loc for _, loc in self.handled), key=lambda loc: loc.uid))
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

    def _replay_before_failure(self) -> None:
        """Undo the failed message's work, keeping the messages before it: handled again, then committed."""
        earlier, dry_run = self.handled, self.pipeline.dry_run
        self.rollback()
        if dry_run or not earlier:
            return   # a dry run commits nothing anyway; its observer has seen every message already
        replay = replace(self.pipeline, observer=None)   # told of each message once, the first time
        session = self._session()
        for raw, location in earlier:
            ctx = replay.new_context(raw, location)
            try:
                with session.begin_nested():
                    replay.run_stages(ctx, session)
            except Exception as exc:  # noqa: BLE001 - it passed once: a human looks at what changed
                self.commit()
                replay.quarantine_failed(ctx, exc)
                session = self._session()
        self.commit()

    def _session(self) -> Session:
        if self.session is None:
            self.session = self.pipeline.sessions()
            # On SQLite this also begins the transaction (pysqlite would begin it only at the first
            # write, and a savepoint's RELEASE would commit otherwise).
            take_write_lock(self.session)
            if self.expected:
                attach(self.session, self.expected)
        return self.session

    def _close(self) -> None:
        session, self.session, self.handled = self.session, None, []
        if session is not None:
            session.close()

    def __enter__(self) -> IntakeBatch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or (isinstance(exc, Exception) and not isinstance(exc, SQLAlchemyError)):
            self.commit()  # e.g. the mail server went away: what was handled is kept, as one by one
        else:
            self.rollback()
