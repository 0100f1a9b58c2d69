"""Reads new mail from a folder after the stored UID watermark and hands each message to the pipeline."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import select

from bot.store import audit
from bot.store.db import transaction
from bot.mail.imap import Mailbox
from bot.store.models import InboundMessage, MailboxState
from bot.intake.batch import IntakeBatch
from bot.mail.context import Location
from bot.intake.runner import Pipeline

log = logging.getLogger(__name__)


@dataclass
class FetchReport:
    outcomes: Counter = field(default_factory=Counter)
    lock_lost: bool = False   # the pass stopped early: another process may be the fetcher now

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())


def drain_folder(mailbox: Mailbox, pipeline: Pipeline, *, folder: str, batch_size: int = 50,
                 move_to: str = "", still_held: Callable[[], bool] = lambda: True,
                 committed: Callable[[], None] = lambda: None) -> FetchReport:
    """Handle every message above the watermark; safe to stop at any point and run again.

    `still_held` is asked before each batch whether this process still holds the fetch lock; when
    it says no, the pass ends there. `committed` is called after each batch is committed (its mail
    can be sent while the next batch is read). A dry-run pipeline changes nothing: no writes, flags
    or moves."""
    report = FetchReport()
    mark = not pipeline.dry_run
    uidvalidity = mailbox.select(folder)
    last_uid = _load_watermark(pipeline, folder, uidvalidity)
    if mark:
        _finish_marking(mailbox, pipeline, folder, uidvalidity, move_to)
    uids = mailbox.uids_after(last_uid)
    for start in range(0, len(uids), batch_size):
        if not still_held():
            # Batches so far are committed and flagged; the rest may be another fetcher's by now.
            log.warning("lost the fetch lock: stopping the pass with %d message(s) left", len(uids) - start)
            report.lock_lost = True
            break
        batch = uids[start:start + batch_size]
        done = []
        # The batch's messages are committed together (one savepoint each), when it ends.
        with IntakeBatch(pipeline) as intake:
            # A message over the limit arrives as its header alone, and is quarantined from that.
            messages = [(fetched, Location(folder, uidvalidity, fetched.uid, fetched.arrived_at))
                        for fetched in mailbox.fetch(batch, max_bytes=pipeline.settings.imap.max_message_bytes)]
            intake.expect([(fetched.raw, location) for fetched, location in messages if fetched.complete])
            for fetched, location in messages:
                if fetched.complete:
                    outcome = intake.handle(fetched.raw, location)
                else:
                    outcome = intake.handle_oversized(fetched.raw, location, fetched.size or 0, moved_to=move_to)
                report.outcomes[outcome] += 1
                if outcome != "unstorable":  # not even quarantined: left unread on the server for staff
                    done.append(fetched.uid)
        # Only committed messages are flagged (and moved); a crash before this is repaired
        # by _finish_marking on the next run.
        if mark:
            committed()
            mailbox.mark_handled(done, move_to=move_to)
            _record_marked(pipeline, folder, uidvalidity, done)
    return report


def _load_watermark(pipeline: Pipeline, folder: str, uidvalidity: int) -> int:
    with transaction(pipeline.sessions, commit=not pipeline.dry_run) as session:
        state = session.get(MailboxState, folder)
        if state is None:
            session.add(MailboxState(folder=folder, uidvalidity=uidvalidity, last_uid=0))
            return 0
        if state.uidvalidity != uidvalidity:
            # UIDs were renumbered: read the folder again from the start; the content key
            # in the pipeline recognises every message already stored.
            audit.record(session, pipeline.clock.now(), "mailbox.uidvalidity_changed", folder=folder,
                         old=state.uidvalidity, new=uidvalidity)
            log.warning("UIDVALIDITY of %s changed; re-scanning", folder)
            state.uidvalidity, state.last_uid = uidvalidity, 0
            session.add(state)
            return 0
        return state.last_uid


def _finish_marking(mailbox: Mailbox, pipeline: Pipeline, folder: str, uidvalidity: int, move_to: str) -> None:
    with transaction(pipeline.sessions) as session:
        uids = list(session.exec(select(InboundMessage.uid).where(
            InboundMessage.folder == folder, InboundMessage.uidvalidity == uidvalidity,
            InboundMessage.uid > 0, InboundMessage.flagged == False)))  # noqa: E712
    if uids:
        mailbox.mark_handled(sorted(uids), move_to=move_to)
        _record_marked(pipeline, folder, uidvalidity, uids)


def _record_marked(pipeline: Pipeline, folder: str, uidvalidity: int, uids: list[int]) -> None:
    if not uids:
        return
    with transaction(pipeline.sessions) as session:   # one UPDATE: the rows (and their raw mail) stay unread
        session.exec(update(InboundMessage).where(
            InboundMessage.folder == folder, InboundMessage.uidvalidity == uidvalidity,
            InboundMessage.uid.in_(uids)).values(flagged=True))
