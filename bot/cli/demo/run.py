"""`supportbot demo`: the real bot against embedded servers, then a requester proves who she is with a code."""
from __future__ import annotations

import re
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from rich.console import Console

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


def run_demo(base: Settings, console: Console) -> None:
    with EmbeddedImapServer(username=SUPPORT) as imap, RecordingSmtpServer() as smtp, \
            tempfile.TemporaryDirectory(prefix="supportbot-demo-") as tmp:
        settings = base.model_copy(update={
            "imap": ImapSettings(host=imap.host, port=imap.port, security="none", username=imap.username,
                                 password=imap.password, poll_seconds=5),
            "smtp": SmtpSettings(host=smtp.host, port=smtp.port, security="none", from_address=SUPPORT,
                                 from_name="ESL Privacy Team"),
            "database": DatabaseSettings(url=f"sqlite:///{Path(tmp) / 'demo.db'}"),
            "verification": VerificationSettings(trusted_authserv_ids=["mx.esl.example"], sms_sender="log"),
        })
        samples = sample_messages()
        console.rule("[bold]supportbot demo")
        console.print(f"Embedded IMAP server on {imap.host}:{imap.port}, SMTP recorder on {smtp.host}:{smtp.port}")
        for raw in samples:
            imap.append(raw)
        console.print(f"Delivered {len(samples)} sample messages (English and Chinese) to INBOX.\n")
        app = build_app(settings)
        accounts_file = Path(tmp) / "accounts.csv"
        accounts_file.write_text(ACCOUNTS_CSV, encoding="utf-8")
        with transaction(app.sessions) as session:
            imported = import_accounts(session, read_account_file(accounts_file))
        console.print(f"Imported {imported} sample accounts of the app.\n")
        report = run_once(app)
        console.print(f"Run 1: {dict(report.fetched.outcomes)}; mail sent: {report.sent.sent}")

        code_mail = next(m for m in smtp.received
                         if m.recipients == ["alice@example.org"]
                         and m.message["X-Supportbot-Kind"] in ("challenge", "ack-code"))
        imap.append(_reply_with_code(code_mail))
        report = run_once(app)
        console.print(f"Run 2 (Alice replies with the code from her registered address): "
                      f"{dict(report.fetched.outcomes)}; mail sent: {report.sent.sent}\n")

        with app.sessions() as session:
            console.print(tickets_table(ticket_rows(session, settings, app.clock.now())))
            console.print(messages_table(message_rows(session)))
        console.print(sent_table([(str(m.message["X-Supportbot-Kind"]), ", ".join(m.recipients),
                                   " ".join(str(m.message["Subject"]).split()), _due_line(m))
                                  for m in smtp.received]))
        console.print("\nFirst acknowledgement as received:\n", style="bold")
        console.print(smtp.received[0].message.get_body(("plain",)).get_content(), highlight=False)
        app.engine.dispose()
