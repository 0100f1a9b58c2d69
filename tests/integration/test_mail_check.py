"""`supportbot mail check` against real servers: a working set-up passes; a broken one names the failing step."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli.mail import register
from bot.config import Settings
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from tests.integration.test_mail_oauth import USER, microsoft
from tests.support.cli_app import cli_with
from tests.support.dovecot import ensure_dovecot, start_dovecot
from tests.support.oauth_smtp import OAuthSmtpServer
from tests.support.token_server import TokenServer


@pytest.fixture
def tokens(tmp_path):
    server = TokenServer(USER).start(tmp_path / "token-tls")
    yield server
    server.stop()


@pytest.fixture
def dovecot(tmp_path_factory, tokens):
    if ensure_dovecot() is None:
        pytest.skip("Dovecot cannot be installed here")
    server = start_dovecot(tmp_path_factory.mktemp("dc"), username=USER,
                           oauth2_introspection_url=tokens.introspection_url)
    yield server
    server.stop()


def check(imap: dict, smtp: dict) -> tuple[int, str]:
    settings = Settings(imap=imap, smtp={"from_address": USER, "security": "none", "timeout_seconds": 10, **smtp})
    result = CliRunner().invoke(cli_with(settings, register), ["mail", "check"])
    return result.exit_code, result.output


def password_imap(dovecot, **extra) -> dict:
    return {"host": dovecot.host, "port": dovecot.tls_port, "security": "tls", "cafile": dovecot.cafile,
            "username": USER, "password": dovecot.password, "timeout_seconds": 10, **extra}


def test_a_working_setup_passes_every_step(dovecot):
    with RecordingSmtpServer() as smtp:
        code, out = check(password_imap(dovecot, processed_folder="Done"),
                          {"host": smtp.host, "port": smtp.port})
        assert smtp.received == []                     # sending rights asked, nothing sent
    assert code == 0, out
    for line in ("ok    IMAP DNS", "ok    IMAP TLS: tls: TLS", "ok    IMAP login", "ok    IMAP folder 'INBOX'",
                 "IMAP folder 'Done': missing; the bot will create it", "ok    IMAP IDLE: supported",
                 "ok    SMTP EHLO", "ok    SMTP sending rights", "mail check passed"):
        assert line in out, out


def test_a_wrong_password_names_the_login_step_and_skips_what_follows(dovecot):
    with RecordingSmtpServer() as smtp:
        code, out = check(password_imap(dovecot, password="wrong"), {"host": smtp.host, "port": smtp.port})
    assert code == 1
    assert "FAIL  IMAP login" in out and "授权码" in out
    assert "skip  IMAP folder 'INBOX'" in out and "ok    SMTP sending rights" in out
    assert out.strip().endswith("mail check failed at: IMAP login")


def test_a_missing_folder_and_a_closed_smtp_port_are_both_named(dovecot):
    code, out = check(password_imap(dovecot, folder="Support"), {"host": "127.0.0.1", "port": 1})
    assert code == 1
    assert "no such folder (the server has: INBOX" in out
    assert "mail check failed at: IMAP folder 'Support', SMTP TCP" in out


def test_oauth2_setup_passes_and_a_wrong_secret_names_the_token_step(dovecot, tokens):
    imap = {"host": dovecot.host, "port": dovecot.port, "security": "none", "username": USER, "auth": "oauth2",
            "timeout_seconds": 10}
    with OAuthSmtpServer(tokens) as smtp:
        smtp_settings = {"host": smtp.host, "port": smtp.port, "username": USER, "auth": "oauth2"}
        code, out = check({**imap, "oauth2": microsoft(tokens)}, {**smtp_settings, "oauth2": microsoft(tokens)})
        assert code == 0, out
        assert "ok    IMAP OAuth2 token: obtained from microsoft" in out and "logging in with XOAUTH2" in out
        assert "ok    SMTP login" in out and "ok    SMTP sending rights" in out
        bad = microsoft(tokens, client_secret="wrong-secret")
        code, out = check({**imap, "oauth2": bad}, {**smtp_settings, "oauth2": bad})
    assert code == 1
    assert "invalid_grant" in out and "mail check failed at: IMAP OAuth2 token, SMTP OAuth2 token" in out
    assert not any(secret in out for secret in tokens.issued + ["wrong-secret", tokens.client_secret])



def test_the_command_reads_oauth2_from_the_file_and_the_secret_from_the_environment(dovecot, tokens, tmp_path):
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    with OAuthSmtpServer(tokens) as smtp:
        oauth2 = (f'provider = "microsoft"\ntenant_id = "t"\nclient_id = "{tokens.client_id}"\n'
                  f'authority = "{tokens.authority}"\ncafile = "{tokens.cafile}"\n')
        config = tmp_path / "config.toml"
        config.write_text(
            f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "none"\nusername = "{USER}"\n'
            f'auth = "oauth2"\n[imap.oauth2]\n{oauth2}'
            f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\nusername = "{USER}"\n'
            f'auth = "oauth2"\nfrom_address = "{USER}"\n[smtp.oauth2]\n{oauth2}')
        env = {**os.environ, "SUPPORTBOT_IMAP__OAUTH2__CLIENT_SECRET": tokens.client_secret,
               "SUPPORTBOT_SMTP__OAUTH2__CLIENT_SECRET": tokens.client_secret}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bot.cli", "-c", str(config), "mail", "check"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
        print(f"mail check (IMAP + SMTP, OAuth2, loopback) took {time.monotonic() - started:.2f} s")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok    SMTP login" in done.stdout and "ok    IMAP login" in done.stdout
        assert smtp.received == []
        env.pop("SUPPORTBOT_SMTP__OAUTH2__CLIENT_SECRET")     # the SMTP section now lacks its secret
        done = subprocess.run([sys.executable, "-m", "bot.cli", "-c", str(config), "mail", "check"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "smtp" in done.stderr and "client_secret" in done.stderr
