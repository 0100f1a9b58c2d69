"""Integration fixtures: a real Dovecot (pymap where Dovecot cannot be had) and config files for `supportbot`."""
from __future__ import annotations

import json

import pytest

from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from tests.support.dovecot import ensure_dovecot, start_dovecot

pytestmark = pytest.mark.integration


@pytest.fixture
def dovecot(tmp_path_factory):
    if ensure_dovecot() is None:
        pytest.skip("Dovecot cannot be installed here (not root, or no package source)")
    server = start_dovecot(tmp_path_factory.mktemp("dc"))
    yield server
    server.stop()


SENT_COPIES = "sent-copies@esl.example"   # the Bcc our test "mail server" files into "Sent"


@pytest.fixture
def journaled_smtp(dovecot):
    """The recorder as a mail server that files a copy of what it accepts into "Sent" (Bcc to us)."""
    dovecot.create_folder("Sent")

    def file_copy(mail) -> None:
        if SENT_COPIES in mail.recipients:
            dovecot.append(mail.raw, folder="Sent")

    with RecordingSmtpServer(on_accept=file_copy) as server:
        yield server


def _toml(value) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_config(path, *, imap, smtp, database_url: str, security: str = "starttls", port: int | None = None,
                 sections: dict[str, dict] | None = None, **imap_extra) -> None:
    """A real config file, as a person would write it, pointing at the test servers.

    `sections` adds keys: to [smtp] or [web], or as further tables, e.g. {"loops": {...}}."""
    sections = dict(sections or {})
    extra = "".join(f"{key} = {_toml(value)}\n" for key, value in imap_extra.items())
    more = lambda name: "".join(f"{k} = {_toml(v)}\n" for k, v in sections.pop(name, {}).items())  # noqa: E731
    text = (
        "[imap]\n"
        f'host = "{imap.host}"\nport = {port or imap.port}\nsecurity = "{security}"\n'
        f'username = "{imap.username}"\ncafile = "{getattr(imap, "cafile", "")}"\n{extra}'
        "[smtp]\n"
        f'host = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "support@esl.example"\n'
        f"{more('smtp')}"
        "[database]\n"
        f'url = "{database_url}"\n'
        f"[web]\nport = 0\n{more('web')}"   # the console listens on a free port, never a fixed one
    )
    for name, keys in sections.items():
        text += f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in keys.items())
    path.write_text(text)


def of_kind(received, kind: str = "ack") -> list:
    """The recorded mails of one kind (our X-Supportbot-Kind header)."""
    return [m for m in received if m.message["X-Supportbot-Kind"] == kind]
