"""Composition root: builds the services from settings; nothing connects on import."""
from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.accounts import AccountSource
from bot.store.accounts.embedded import EmbeddedAccountSource
from bot.store.accounts.sql import SqlAccountSource

from bot.classify import Classifier
from bot.classify.loading import LazyClassifier, load_classifier
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.store.db import SessionFactory, init_db, make_engine, session_factory
from bot.mail.imap import ImapMailbox, Mailbox
from bot.mail.sent_copies import ImapSentCopies, SentCopies
from bot.mail.sink import MailSink, SmtpSink
from bot.intake.runner import Pipeline
from bot.mail.render import MailRenderer
from bot.outbox.sender import SendReport, drain_outbox
from bot.mail.sms import SmsSender, make_sms_sender
from bot.sla.delivery import settle_replies

@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    classifier: Classifier
    sink: MailSink
    mailbox_factory: Callable[[], Mailbox]
    accounts: Callable[[Session], AccountSource]
    sms: SmsSender | None = None
    renderer: MailRenderer = field(default_factory=MailRenderer)
    sent_copies: SentCopies | None = None   # settles mail left in doubt by a crash; see bot/outbox/sender.py

    @property
    def sessions(self) -> SessionFactory:
        return session_factory(self.engine)

    @property
    def pipeline(self) -> Pipeline:
        return Pipeline(settings=self.settings, clock=self.clock, sessions=self.sessions,
                        classifier=self.classifier, renderer=self.renderer, accounts=self.accounts,
                        sms=self.sms)

    async def drain_outbox(self) -> SendReport:
        """Send every mail (and code by SMS) due now."""
        report = await drain_outbox(self.sessions, self.sink, self.clock, self.settings.smtp,
                                    sent_copies=self.sent_copies, global_per_hour=self.settings.loops.global_per_hour,
                                    sms=self.sms)
        # A ticket is complete when its reply is delivered, not when staff approved it.
        settle_replies(self.sessions, self.settings, self.clock)
        return report


def build_app(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None,
              sink: MailSink | None = None, mailbox_factory: Callable[[], Mailbox] | None = None,
              classifier: Classifier | None = None, accounts: Callable[[Session], AccountSource] | None = None,
              sms: SmsSender | None = None, sent_copies: SentCopies | None = None,
              create_schema: bool = True) -> App:
    engine = engine or make_engine(settings.database.url)
    if create_schema:
        init_db(engine)
    return App(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        classifier=classifier or classifier_from_settings(settings),
        sink=sink or SmtpSink(settings.smtp),
        mailbox_factory=mailbox_factory or (lambda: ImapMailbox(settings.imap)),
        accounts=accounts or account_source_factory(settings),
        sms=sms or make_sms_sender(settings.verification.sms_sender),
        sent_copies=sent_copies or sent_copies_from_settings(settings),
    )


def sent_copies_from_settings(settings: Settings) -> SentCopies | None:
    if settings.smtp.sent_copy_folder and settings.mailbox_configured:
        return ImapSentCopies(settings.imap, settings.smtp.sent_copy_folder)
    return None


def classifier_from_settings(settings: Settings) -> Classifier:
    """The configured classifier, loaded when the first message needs it; a missing model is refused now."""
    cfg = settings.classifier
    path = Path(cfg.model_path)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[2] / path
    kind = cfg.kind or ("model" if (path / "meta.json").is_file() else "rules")
    if kind == "model":
        if not (path / "meta.json").is_file():
            raise FileNotFoundError(errno.ENOENT, "no trained classifier there (see `supportbot train`)", str(path))
        return LazyClassifier(lambda: load_classifier("model", model_path=path, threshold=cfg.threshold))
    return LazyClassifier(lambda: load_classifier("rules"))


def account_source_factory(settings: Settings) -> Callable[[Session], AccountSource]:
    if settings.accounts.source == "sql":
        shared = SqlAccountSource.from_settings(settings.accounts)  # its own read-only engine
        return lambda _session: shared
    return EmbeddedAccountSource
