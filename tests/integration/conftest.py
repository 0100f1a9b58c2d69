"""Integration fixtures: a real Dovecot (pymap where Dovecot cannot be had) and the SMTP recorder."""
from __future__ import annotations

import pytest

from bot.demo.smtp_recorder import RecordingSmtpServer
from tests.support.dovecot import ensure_dovecot, start_dovecot

pytestmark = pytest.mark.integration


@pytest.fixture
def dovecot(tmp_path_factory):
    if ensure_dovecot() is None:
        pytest.skip("Dovecot cannot be installed here (not root, or no package source)")
    server = start_dovecot(tmp_path_factory.mktemp("dc"))
    yield server
    server.stop()


@pytest.fixture
def smtp():
    with RecordingSmtpServer() as server:
        yield server


def write_config(path, *, imap, smtp, database_url: str, security: str = "starttls", port: int | None = None,
                 **imap_extra) -> None:
    """A real config file, as a person would write it, pointing at the test servers."""
    extra = "".join(f'{key} = {value!r}\n' if isinstance(value, str) else f"{key} = {value}\n"
                    for key, value in imap_extra.items())
    extra = extra.replace("'", '"')
    path.write_text(
        "[imap]\n"
        f'host = "{imap.host}"\nport = {port or imap.port}\nsecurity = "{security}"\n'
        f'username = "{imap.username}"\ncafile = "{getattr(imap, "cafile", "")}"\n{extra}'
        "[smtp]\n"
        f'host = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "support@esl.example"\n'
        "[database]\n"
        f'url = "{database_url}"\n'
        "[web]\nport = 0\n"   # the console listens on a free port, never a fixed one
    )


def of_kind(received, kind: str = "ack") -> list:
    """The recorded mails of one kind (our X-Supportbot-Kind header)."""
    return [m for m in received if m.message["X-Supportbot-Kind"] == kind]
