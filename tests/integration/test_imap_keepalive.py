"""A silently dropped IMAP connection is noticed: TCP keepalive is on, and the IDLE wait ends on time."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from bot.config import ImapSettings
from bot.mail import imap
from bot.mail.imap import CONNECTION_ERRORS, IDLE_REPLY_SECONDS, KEEPALIVE_OPTIONS, ImapMailbox
from tests.conftest import REPO
from tests.support.dovecot import ensure_dovecot, start_dovecot

pytestmark = pytest.mark.integration


def settings_for(server, security: str, **extra) -> ImapSettings:
    port = server.tls_port if security == "tls" else server.port
    return ImapSettings(host=server.host, port=port, security=security, username=server.username,
                        password=server.password, cafile=server.cafile, **extra)


@pytest.mark.parametrize("security", ["tls", "starttls", "none"])
def test_the_imap_connection_has_short_keepalive(dovecot, security):
    mailbox = ImapMailbox(settings_for(dovecot, security))
    try:
        sock = mailbox.client.socket()
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        for name, seconds in KEEPALIVE_OPTIONS.items():
            if hasattr(socket, name):
                assert sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, name)) == seconds, name
        assert mailbox.select("INBOX") > 0   # and the connection works as before
    finally:
        mailbox.close()


def idle_while_the_server_vanishes(wait: float, keepalive: dict[str, int] | None) -> dict:
    """In a network namespace of its own: IDLE on Dovecot, then its address stops answering.

    A blackhole route makes every packet to the server vanish without a reset, as when a NAT
    or firewall forgets the connection; probes that fail this way count as unanswered."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    if keepalive:
        imap.KEEPALIVE_OPTIONS = keepalive
    server = start_dovecot(tempfile.mkdtemp())
    try:
        mailbox = ImapMailbox(settings_for(server, "none", timeout_seconds=60))
        mailbox.select("INBOX")

        def vanish() -> None:
            time.sleep(1)
            subprocess.run("ip rule add pref 10 to 127.0.0.1 blackhole && ip rule del pref 0 && "
                           "ip rule add pref 100 lookup local", shell=True, check=True)

        threading.Thread(target=vanish).start()
        started = time.monotonic()
        try:
            outcome = repr(mailbox.wait_for_news(wait, threading.Event()))
        except CONNECTION_ERRORS as exc:
            outcome = type(exc).__name__
        return {"outcome": outcome, "seconds": time.monotonic() - started}
    finally:
        subprocess.run("ip rule del pref 10", shell=True)
        server.stop()


def run_in_own_network(wait: float, keepalive: dict[str, int] | None) -> dict:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip") or ensure_dovecot() is None:
        pytest.skip("needs root, unshare, ip and Dovecot for a private network namespace")
    code = ("import json, sys\nfrom tests.integration.test_imap_keepalive import idle_while_the_server_vanishes\n"
            "print(json.dumps(idle_while_the_server_vanishes(float(sys.argv[1]), json.loads(sys.argv[2]))))")
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", code, str(wait), json.dumps(keepalive)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.skip("network namespaces are not available here")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_keepalive_ends_the_idle_wait_on_a_vanished_server():
    # Timings shortened from a minute to about 4 s, so that the probes give up well within the wait.
    result = run_in_own_network(60, {"TCP_KEEPIDLE": 2, "TCP_KEEPINTVL": 1, "TCP_KEEPCNT": 2})
    assert result["outcome"] in {"BrokenPipeError", "TimeoutError", "ConnectionResetError"}, result
    assert result["seconds"] < 15, result


def test_the_idle_wait_does_not_outlast_its_timeout_by_the_network_timeout():
    # Keepalive has not given up yet when the wait ends: DONE goes unanswered, and is given up on
    # after IDLE_REPLY_SECONDS rather than after the 60 s network timeout.
    result = run_in_own_network(3, None)
    assert result["outcome"] == "TimeoutError", result
    assert 3 + IDLE_REPLY_SECONDS - 1 < result["seconds"] < 3 + IDLE_REPLY_SECONDS + 5, result
