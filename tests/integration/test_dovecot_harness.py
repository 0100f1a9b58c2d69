"""Prove that the loopback Dovecot harness behaves like a real IMAP server."""

import imaplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from imapclient import IMAPClient

from tests.support.dovecot import ensure_dovecot, start_dovecot

pytestmark = pytest.mark.integration

WAKE_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    if ensure_dovecot() is None:
        pytest.skip("no dovecot binary, and it cannot be installed here "
                    "(installing needs root and apt-get)")
    server = start_dovecot(tmp_path_factory.mktemp("dovecot"))
    yield server
    server.stop()


def make_message(number: int) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"user{number}@example.test"
    message["To"] = "support@example.test"
    message["Subject"] = f"删除我的个人信息 request {number}"
    message["Message-ID"] = f"<harness-{number}@example.test>"
    message.set_content(f"Please delete my account, number {number}.\n请删除。\n")
    return message.as_bytes()


def verifying_context(server) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.cafile)


def fetch_bodies(server, folder: str) -> dict[int, bytes]:
    with server.connect() as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
    return {uid: data[b"BODY[]"] for uid, data in fetched.items()}


def test_plain_login_offers_idle_and_starttls(dovecot):
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10) as client:
        assert b"STARTTLS" in client.capabilities()
        client.login(dovecot.username, dovecot.password)
        assert b"IDLE" in client.capabilities()


def test_wrong_password_is_refused(dovecot):
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10) as client:
        with pytest.raises(imaplib.IMAP4.error):
            client.login(dovecot.username, "not-the-password")


def test_starttls_verifies_against_cafile(dovecot):
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10) as client:
        client.starttls(verifying_context(dovecot))
        client.login(dovecot.username, dovecot.password)
        assert client.select_folder("INBOX")[b"UIDVALIDITY"] > 0


def test_implicit_tls_login(dovecot):
    with IMAPClient(dovecot.host, dovecot.tls_port, ssl=True, timeout=10,
                    ssl_context=verifying_context(dovecot)) as client:
        client.login(dovecot.username, dovecot.password)
        assert "INBOX" in [name for _, _, name in client.list_folders()]


def test_implicit_tls_rejects_unknown_certificate(dovecot):
    # Proves the verification above is real: without the cafile it fails.
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot.host, dovecot.tls_port, ssl=True, timeout=10,
                   ssl_context=ssl.create_default_context())


def test_append_then_read_back_by_uid(dovecot):
    dovecot.create_folder("Appended")
    raws = [make_message(n) for n in range(3)]
    uids = [dovecot.append(raw, folder="Appended") for raw in raws]
    assert uids == sorted(set(uids))
    assert dovecot.uids("Appended") == uids
    assert fetch_bodies(dovecot, "Appended") == dict(zip(uids, raws))


def test_flags_are_readable(dovecot):
    dovecot.create_folder("Flagged")
    seen = dovecot.append(make_message(10), folder="Flagged", flags=[r"\Seen"])
    unseen = dovecot.append(make_message(11), folder="Flagged")
    assert r"\Seen" in dovecot.flags("Flagged")[seen]
    assert r"\Seen" not in dovecot.flags("Flagged")[unseen]
    with dovecot.connect() as client:
        client.select_folder("Flagged")
        client.add_flags([unseen], [rb"\Seen"])
    assert r"\Seen" in dovecot.flags("Flagged")[unseen]


def test_append_wakes_idling_client(dovecot):
    dovecot.create_folder("Idle")
    with dovecot.connect() as idler:
        idler.select_folder("Idle")
        idler.idle()
        uid = dovecot.append(make_message(20), folder="Idle")
        started = time.monotonic()
        responses = idler.idle_check(timeout=WAKE_TIMEOUT)
        idler.idle_done()
    assert time.monotonic() - started < WAKE_TIMEOUT
    assert (1, b"EXISTS") in responses
    assert dovecot.uids("Idle") == [uid]


def test_stop_and_start_keep_messages(dovecot):
    dovecot.create_folder("Durable")
    uids = [dovecot.append(make_message(n), folder="Durable") for n in (30, 31)]
    dovecot.stop()
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((dovecot.host, dovecot.port), timeout=2)
    finally:
        dovecot.start()
    assert dovecot.uids("Durable") == uids


def test_kill_connections_drops_idling_client(dovecot):
    idler = dovecot.connect()
    try:
        idler.select_folder("INBOX")
        idler.idle()
        dovecot.kill_connections()
        try:
            responses = idler.idle_check(timeout=WAKE_TIMEOUT)
        except (imaplib.IMAP4.abort, OSError):
            responses = [(b"BYE",)]
        assert any(response[0] == b"BYE" for response in responses)
        # Whatever it said last, the connection is gone afterwards.
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            idler.idle_done()
            idler.noop()
    finally:
        idler.shutdown()
    with dovecot.connect() as client:
        assert client.noop()


def test_reset_uidvalidity_keeps_messages(dovecot):
    dovecot.create_folder("Renumbered")
    for n in (40, 41, 42):
        dovecot.append(make_message(n), folder="Renumbered")
    before = dovecot.uidvalidity("Renumbered")
    bodies = sorted(fetch_bodies(dovecot, "Renumbered").values())
    dovecot.reset_uidvalidity("Renumbered")
    assert dovecot.uidvalidity("Renumbered") != before
    assert sorted(fetch_bodies(dovecot, "Renumbered").values()) == bodies
