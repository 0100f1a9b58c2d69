"""[imap] send_id: the bot introduces itself with the IMAP ID command (NetEase requires it), seen in Dovecot's log."""
from __future__ import annotations

import time

import pytest

from bot.config import ImapSettings
from bot.mail.imap import ImapMailbox
from tests.support.dovecot import ensure_dovecot, start_dovecot


@pytest.fixture
def dovecot(tmp_path_factory):
    if ensure_dovecot() is None:
        pytest.skip("Dovecot cannot be installed here")
    server = start_dovecot(tmp_path_factory.mktemp("dc"), log_imap_id=True)
    yield server
    server.stop()


def _log_after_login(dovecot, send_id: bool) -> str:
    settings = ImapSettings(host=dovecot.host, port=dovecot.port, security="none", username=dovecot.username,
                            password=dovecot.password, send_id=send_id, timeout_seconds=10)
    mailbox = ImapMailbox(settings)
    mailbox.select("INBOX")
    mailbox.close()
    time.sleep(0.3)    # the log process writes a moment later
    return dovecot.log()


def test_no_id_unless_configured(dovecot):
    assert "ID sent" not in _log_after_login(dovecot, send_id=False)


def test_id_names_the_client_when_configured(dovecot):
    log = _log_after_login(dovecot, send_id=True)
    assert "ID sent: name=supportbot" in log, log[-2000:]
