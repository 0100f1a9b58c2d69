"""A pipeline on an in-memory mailbox with sample accounts, for tests that follow a ticket through."""
from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP

from sqlmodel import Session, select

from bot.store.accounts.embedded import import_accounts, read_account_file
from bot.service.app import build_app
from bot.config import Settings
from bot.store.db import transaction
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent, OutboxMessage, Ticket
from bot.mail.sms import LoggingSmsSender
from tests.support.memory_mailbox import MemoryMailbox

ACCOUNTS = """account_id,nickname,phone,email,wechat_bound,status
A1,alice_c,+86 138 0013 8000,owner@example.org,true,active
A2,bobby,13900139000,shared@example.org,false,active
A3,bobby2,139-0013-9001,shared@example.org,false,active
A4,nomail,13700137000,,true,active
"""
TRUSTED_PASS = "mx.esl.example; spf=pass smtp.mailfrom=owner@example.org; dmarc=pass header.from=example.org"


def make_app(engine, clock, tmp_path, **overrides):
    smtp = {"from_address": "support@esl.example", **overrides.pop("smtp", {})}
    settings = Settings(smtp=smtp,
                        verification={"trusted_authserv_ids": ["mx.esl.example"]}, **overrides)
    app = build_app(settings, engine=engine, clock=clock, create_schema=False, sms=LoggingSmsSender())
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    with transaction(app.sessions) as session:
        import_accounts(session, read_account_file(path))
    return app


def mail(sender, subject, body, msgid, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "support@esl.example", subject, msgid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


class Flow:
    def __init__(self, app):
        self.app, self.box = app, MemoryMailbox()

    def send(self, raw: bytes):
        self.box.add(raw)
        return drain_folder(self.box, self.app.pipeline, folder="INBOX")

    def ticket(self, n=1) -> Ticket:
        with Session(self.app.engine) as s:
            return s.exec(select(Ticket).where(Ticket.id == n)).one()

    def outbox(self, kind=None) -> list[OutboxMessage]:
        with Session(self.app.engine) as s:
            rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            return [r for r in rows if kind is None or r.kind == kind]

    def code_and_id(self) -> tuple[str, str, str]:
        row = [r for r in self.outbox() if r.kind in ("challenge", "ack-code")][-1]   # a code alone, or with the ack
        body = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
        return re.search(r"\d{4}-\d{4}", body).group(), row.message_id, row.to_address

    def actions(self) -> list[str]:
        with Session(self.app.engine) as s:
            return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]

    def reply(self, sender, text, in_reply_to, n) -> None:
        self.send(mail(sender, "Re: [ESL-000001] code", text, f"<r{n}@x>", In_Reply_To=in_reply_to))
