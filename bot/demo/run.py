"""`supportbot demo`: the real bot against embedded servers, then a requester replies to an acknowledgement."""
from __future__ import annotations

import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from rich.console import Console

from bot.app import build_app
from bot.config import DatabaseSettings, ImapSettings, Settings, SmtpSettings
from bot.demo.imap_server import EmbeddedImapServer
from bot.demo.samples import SUPPORT, sample_messages
from bot.demo.smtp_recorder import ReceivedMail, RecordingSmtpServer
from bot.service import run_once
from bot.tables import messages_table, sent_table, tickets_table
from bot.views import message_rows, ticket_rows


def _due_line(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("plain",)).get_content()
    return next((line.strip() for line in body.splitlines() if "due by" in line or "期限" in line), "")


def _reply_to(mail: ReceivedMail) -> bytes:
    """What the first requester sends back to our acknowledgement."""
    ack = mail.message
    reply = EmailMessage()
    reply["From"], reply["To"] = ack["To"], SUPPORT
    reply["Subject"] = "Re: " + ack["Subject"]
    reply["Message-ID"] = "<demo-reply@mail.example>"
    reply["In-Reply-To"] = ack["Message-ID"]
    reply["References"] = ack["Message-ID"]
    reply.set_content("Thanks! My WeChat nickname is alice_c, in case that helps.\n\n> " + ack["Subject"])
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
        })
        samples = sample_messages()
        console.rule("[bold]supportbot demo")
        console.print(f"Embedded IMAP server on {imap.host}:{imap.port}, SMTP recorder on {smtp.host}:{smtp.port}")
        for raw in samples:
            imap.append(raw)
        console.print(f"Delivered {len(samples)} sample messages (English and Chinese) to INBOX.\n")
        app = build_app(settings)
        report = run_once(app)
        console.print(f"Run 1: {dict(report.fetched.outcomes)}; acknowledgements sent: {report.sent.sent}")

        first_ack = next(m for m in smtp.received if "alice@example.org" in m.recipients)
        imap.append(_reply_to(first_ack))
        report = run_once(app)
        console.print(f"Run 2 (Alice replies to her acknowledgement): {dict(report.fetched.outcomes)}; "
                      f"mail sent: {report.sent.sent}\n")

        with app.sessions() as session:
            console.print(tickets_table(ticket_rows(session, settings, app.clock.now())))
            console.print(messages_table(message_rows(session)))
        console.print(sent_table([(", ".join(m.recipients), " ".join(str(m.message["Subject"]).split()), _due_line(m))
                                  for m in smtp.received]))
        console.print("\nFirst acknowledgement as received:\n", style="bold")
        console.print(smtp.received[0].message.get_body(("plain",)).get_content(), highlight=False)
        app.engine.dispose()
