"""`supportbot demo`: the real bot against embedded servers, then a requester proves who she is with a code.

It keeps what it made in a folder (./demo/ by default): the database, a config.toml pointing at it,
and every mail the SMTP server received (mail/*.eml), so the console has something to show."""
from __future__ import annotations

import re
import shutil
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from rich.console import Console
from sqlmodel import select

from bot.service.app import build_app
from bot.store.accounts.embedded import import_accounts, read_account_file
from bot.config import DatabaseSettings, ImapSettings, Settings, SmtpSettings, VerificationSettings
from bot.store.db import transaction
from bot.cli.demo.imap_server import EmbeddedImapServer
from bot.cli.demo.samples import ACCOUNTS_CSV, SUPPORT, sample_messages
from bot.cli.demo.smtp_recorder import ReceivedMail, RecordingSmtpServer
from bot.service.run import run_once
from bot.cli.tables import messages_table, sent_table, tickets_table
from bot.tickets.views import message_rows, ticket_rows
from bot.store.models import OutboxMessage
from bot.outbox.sms import SMS_KIND

DATABASE, CONFIG, MAIL = "supportbot.db", "config.toml", "mail"


def _due_line(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("plain",)).get_content()
    return next((line.strip() for line in body.splitlines() if "due by" in line or "期限" in line), "")


def _reply_with_code(mail: ReceivedMail) -> bytes:
    """Alice answers the code mail that reached her registered address, quoting it."""
    challenge = mail.message
    body = challenge.get_body(("plain",)).get_content()
    code = re.search(r"\b\d{4}-\d{4}\b", body).group()
    reply = EmailMessage()
    reply["From"], reply["To"] = challenge["To"], SUPPORT
    reply["Subject"] = "Re: " + " ".join(str(challenge["Subject"]).split())
    reply["Message-ID"] = "<demo-reply@mail.example>"
    reply["In-Reply-To"] = reply["References"] = challenge["Message-ID"]
    quoted = "\n".join("> " + line for line in body.splitlines())
    reply.set_content(f"Yes, it was me. The code is {code}\n\nOn Tue, ESL Privacy Team wrote:\n{quoted}")
    return reply.as_bytes(policy=SMTP)


def next_steps(folder: Path, console: Console) -> None:
    config = folder / CONFIG
    console.print(f"\nThe demo's database, settings and the mail it sent are in {folder}/ "
                  f"({DATABASE}, {CONFIG}, {MAIL}/*.eml).", style="bold")
    console.print("Next steps:\n"
                  f"  supportbot --config {config} users add you@esl.example --role manager\n"
                  f"  supportbot --config {config} web          # the staff console on http://127.0.0.1:8025\n"
                  f"  supportbot --config {config} tickets list\n"
                  "Run the demo again from scratch with: supportbot demo --reset", highlight=False)


def _write_config(folder: Path) -> None:
    (folder / CONFIG).write_text(
        "# Written by `supportbot demo`: the demo's database, for the console and the CLI.\n"
        f'[database]\nurl = "sqlite:///{(folder / DATABASE).resolve()}"\n', encoding="utf-8")


def run_demo(base: Settings, console: Console, folder: Path = Path("demo"), *, reset: bool = False) -> None:
    """Into `folder`; when a demo is already there it is kept and shown, unless `reset`."""
    if (folder / DATABASE).exists() and not reset:
        console.print(f"A demo is already in {folder}/: starting from it (supportbot demo --reset starts afresh).")
        settings = base.model_copy(update={"database": DatabaseSettings(url=f"sqlite:///{folder / DATABASE}")})
        app = build_app(settings)
        with app.sessions() as session:
            console.print(tickets_table(ticket_rows(session, settings, app.clock.now())))
        app.engine.dispose()
        next_steps(folder, console)
        return
    if reset and folder.exists():
        shutil.rmtree(folder)
    (folder / MAIL).mkdir(parents=True, exist_ok=True)
    with EmbeddedImapServer(username=SUPPORT) as imap, RecordingSmtpServer() as smtp:
        settings = base.model_copy(update={
            "imap": ImapSettings(host=imap.host, port=imap.port, security="none", username=imap.username,
                                 password=imap.password, poll_seconds=5),
            "smtp": SmtpSettings(host=smtp.host, port=smtp.port, security="none", from_address=SUPPORT,
                                 from_name="ESL Privacy Team"),
            "database": DatabaseSettings(url=f"sqlite:///{folder / DATABASE}"),
            "verification": VerificationSettings(trusted_authserv_ids=["mx.esl.example"], sms_sender="log"),
        })
        _play(settings, imap, smtp, folder, console)
    _write_config(folder)
    next_steps(folder, console)


def _play(settings: Settings, imap: EmbeddedImapServer, smtp: RecordingSmtpServer, folder: Path,
          console: Console) -> None:
    samples = sample_messages()
    console.rule("[bold]supportbot demo")
    console.print(f"Embedded IMAP server on {imap.host}:{imap.port}, SMTP recorder on {smtp.host}:{smtp.port}")
    for raw in samples:
        imap.append(raw)
    console.print(f"Delivered {len(samples)} sample messages (English and Chinese) to INBOX.\n")
    app = build_app(settings)
    accounts_file = folder / "accounts.csv"
    accounts_file.write_text(ACCOUNTS_CSV, encoding="utf-8")
    with transaction(app.sessions) as session:
        imported = import_accounts(session, read_account_file(accounts_file))
    console.print(f"Imported {imported} sample accounts of the app.\n")
    run_once(app)
    console.print(f"Run 1: {_sent(app, smtp)}")
    code_mail = next(m for m in smtp.received
                     if m.recipients == ["alice@example.org"]
                     and m.message["X-Supportbot-Kind"] in ("challenge", "ack-code"))
    imap.append(_reply_with_code(code_mail))
    report = run_once(app)
    console.print(f"Run 2 (Alice replies with the code from her registered address): "
                  f"{dict(report.fetched.outcomes)}; {_sent(app, smtp)}\n")
    with app.sessions() as session:
        console.print(tickets_table(ticket_rows(session, settings, app.clock.now())))
        console.print(messages_table(message_rows(session)))
    console.print(sent_table([(str(m.message["X-Supportbot-Kind"]), ", ".join(m.recipients),
                               " ".join(str(m.message["Subject"]).split()), _due_line(m))
                              for m in smtp.received]))
    for n, mail in enumerate(smtp.received, 1):
        (folder / MAIL / f"{n:02d}-{mail.message['X-Supportbot-Kind']}.eml").write_bytes(mail.message.as_bytes())
    console.print("\nFirst acknowledgement as received:\n", style="bold")
    console.print(smtp.received[0].message.get_body(("plain",)).get_content(), highlight=False)
    app.engine.dispose()


def _sent(app, smtp: RecordingSmtpServer) -> str:
    """So far: mail the SMTP server received, and codes by SMS (only logged: the demo has no gateway)."""
    with app.sessions() as session:
        sms = len(session.exec(select(OutboxMessage.id).where(OutboxMessage.kind == SMS_KIND,
                                                             OutboxMessage.status == "sent")).all())
    return f"mail sent so far: {len(smtp.received)}" + (f" (and {sms} SMS, only logged)" if sms else "")
