"""`supportbot mail check`, IMAP: reach the server, log in, find the folders, see whether it has IDLE."""
from __future__ import annotations

import contextlib

from imapclient import IMAPClient

from bot.config import Settings
from bot.mail.check import Report, Step, obtain_token, resolve, tcp
from bot.mail.login import tls_context
from bot.mail.imap import CONNECTION_ERRORS
from bot.mail.login import imap_login, imap_mechanism


async def check_imap(settings: Settings, report: Report) -> None:
    s, area, box = settings.imap, "IMAP", {}
    if not s.host:
        report.steps.append(Step(area, "settings", False, "no [imap] host configured"))
        return
    await report.step(area, "DNS", lambda: resolve(s.host, s.port))
    await report.step(area, "TCP", lambda: tcp(s.host, s.port, s.timeout_seconds))

    def connect() -> str:
        context = tls_context(s.security, s.cafile)
        box["client"] = client = IMAPClient(s.host, port=s.port, ssl=s.security == "tls", ssl_context=context,
                                            timeout=s.timeout_seconds)
        if s.security == "starttls":
            client.starttls(context)
        cipher = client.socket().cipher() if s.security != "none" else None
        return f"{s.security}: {cipher[1]} {cipher[0]}" if cipher else "no encryption (security = \"none\")"
    await report.step(area, "TLS" if s.security != "none" else "greeting", connect)
    if s.auth == "oauth2":
        await report.step(area, "OAuth2 token", lambda: obtain_token(s.oauth2, "imap", s.username))
        await report.step(area, "OAuth2 mechanism", lambda: f"logging in with {imap_mechanism(box['client'])}")
    await report.step(area, "login", lambda: imap_login(box["client"], s) or f"logged in as {s.username}"
                      + (", ID sent" if s.send_id else ""))
    folders = [(s.folder, "read"), (s.processed_folder, "created when missing"),
               (settings.smtp.sent_copy_folder, "sent copies")]
    for folder, role in folders:
        if folder:
            await report.step(area, f"folder {folder!r}", lambda f=folder, r=role: _folder(box["client"], f, r))
    await report.step(area, "IDLE", lambda: "supported: new mail is seen at once" if b"IDLE" in
                      box["client"].capabilities() else f"not offered: the bot polls every {s.poll_seconds} s")
    if "client" in box:
        with contextlib.suppress(*CONNECTION_ERRORS):   # the check is over; a rude goodbye changes nothing
            box["client"].logout()


def _folder(client: IMAPClient, folder: str, role: str) -> str:
    if client.folder_exists(folder):
        return "exists"
    if role == "created when missing":
        return "missing; the bot will create it"
    names = ", ".join(str(f[2]) for f in client.list_folders()[:30])
    raise LookupError(f"no such folder (the server has: {names})")
