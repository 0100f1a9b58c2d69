"""OAuth2 mailbox logins against real servers: Dovecot's oauth2 passdb, aiosmtpd with XOAUTH2, and
the real MSAL / google-auth code talking to the test's own token endpoint."""
from __future__ import annotations

import asyncio
import logging

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from bot.config import ImapSettings, SmtpSettings
from bot.mail.imap import ImapMailbox
from bot.mail.login import imap_mechanism
from bot.mail.oauth import TokenError, token_source
from bot.mail.sink import SmtpSink, TemporaryFailure
from tests.support.dovecot import ensure_dovecot, start_dovecot
from tests.support.oauth_smtp import OAuthSmtpServer
from tests.support.token_server import TENANT, TokenServer

USER = "support@example.test"


@pytest.fixture
def tokens(tmp_path):
    server = TokenServer(USER).start(tmp_path / "token-tls")
    yield server
    server.stop()


def _dovecot(tmp_path_factory, tokens, **options):
    if ensure_dovecot() is None:
        pytest.skip("Dovecot cannot be installed here")
    return start_dovecot(tmp_path_factory.mktemp("dc"), username=USER,
                         oauth2_introspection_url=tokens.introspection_url, **options)


@pytest.fixture
def dovecot(tmp_path_factory, tokens):
    server = _dovecot(tmp_path_factory, tokens)
    yield server
    server.stop()


def microsoft(tokens: TokenServer, **extra) -> dict:
    return {"provider": "microsoft", "tenant_id": TENANT, "client_id": tokens.client_id,
            "client_secret": tokens.client_secret, "authority": tokens.authority, "cafile": tokens.cafile, **extra}


def google(tokens: TokenServer) -> dict:
    return {"provider": "google", "client_id": tokens.client_id, "client_secret": tokens.client_secret,
            "refresh_token": tokens.refresh_token, "token_url": tokens.token_url, "cafile": tokens.cafile}


def imap_settings(dovecot, oauth2: dict, **extra) -> ImapSettings:
    return ImapSettings(host=dovecot.host, port=dovecot.port, security="none", username=USER,
                        auth="oauth2", oauth2=oauth2, timeout_seconds=10, **extra)


def offered_mechanism(server) -> str:
    with IMAPClient(server.host, server.port, ssl=False, timeout=10) as client:
        return imap_mechanism(client)


def test_microsoft_client_credentials_log_in_to_dovecot_with_xoauth2(dovecot, tokens):
    settings = imap_settings(dovecot, microsoft(tokens))
    mailbox = ImapMailbox(settings)
    try:
        assert mailbox.select("INBOX") > 0
    finally:
        mailbox.close()
    assert [g["grant_type"] for g in tokens.grants] == ["client_credentials"]
    assert "https://outlook.office365.com/.default" in tokens.grants[0]["scope"]
    assert tokens.introspected == tokens.issued[:1]        # Dovecot checked the very token MSAL got
    assert offered_mechanism(dovecot) == "XOAUTH2"


def test_a_token_refused_by_the_server_is_renewed_once_and_the_login_succeeds(dovecot, tokens, caplog):
    settings = imap_settings(dovecot, microsoft(tokens))
    ImapMailbox(settings).close()
    again = ImapMailbox(settings)       # the cached token still looks fresh: no new request
    again.close()
    assert len(tokens.issued) == 1
    tokens.expire_all()                 # the server now calls it expired
    with caplog.at_level(logging.DEBUG):    # MSAL, requests and imapclient included
        third = ImapMailbox(settings)
    third.close()
    assert len(tokens.issued) == 2 and tokens.introspected[-2:] == tokens.issued   # old refused, new accepted
    assert token_source(settings.oauth2, "imap", USER).fetched == 2
    assert not any(t in caplog.text for t in tokens.issued + [tokens.client_secret])


def test_a_login_refused_even_with_a_renewed_token_fails_cleanly(dovecot, tokens, caplog):
    tokens.issue_valid = False          # everything it issues is already expired
    settings = imap_settings(dovecot, microsoft(tokens))
    with caplog.at_level(logging.DEBUG), pytest.raises(LoginError, match="also with a renewed token") as err:
        ImapMailbox(settings)
    assert len(tokens.issued) == 2      # one renewal, not a loop
    assert not any(t in str(err.value) + caplog.text for t in tokens.issued + [tokens.client_secret])


def test_a_refused_client_secret_names_the_providers_error_not_the_secret(dovecot, tokens):
    settings = imap_settings(dovecot, microsoft(tokens, client_secret="wrong-secret"))
    with pytest.raises(TokenError, match="invalid_grant") as err:
        ImapMailbox(settings)
    assert "wrong-secret" not in str(err.value)


def test_google_refresh_token_logs_in(dovecot, tokens, caplog):
    with caplog.at_level(logging.DEBUG):
        ImapMailbox(imap_settings(dovecot, google(tokens))).close()
    assert not any(t in caplog.text for t in tokens.issued + [tokens.client_secret, tokens.refresh_token])
    assert tokens.grants[0]["grant_type"] == "refresh_token"
    assert tokens.grants[0]["refresh_token"] == tokens.refresh_token
    assert tokens.grants[0]["scope"] == "https://mail.google.com/"
    assert tokens.introspected == tokens.issued


def test_oauthbearer_is_used_where_only_it_is_offered(tmp_path_factory, tokens):
    server = _dovecot(tmp_path_factory, tokens, oauth2_mechanisms="oauthbearer")
    try:
        assert offered_mechanism(server) == "OAUTHBEARER"
        ImapMailbox(imap_settings(server, microsoft(tokens))).close()
        assert tokens.introspected == tokens.issued
    finally:
        server.stop()


def test_the_sink_sends_with_xoauth2_and_renews_a_refused_token(tokens):
    with OAuthSmtpServer(tokens) as smtp:
        settings = SmtpSettings(host=smtp.host, port=smtp.port, security="none", username=USER,
                                auth="oauth2", oauth2=microsoft(tokens), from_address=USER)

        async def send_twice() -> None:
            sink = SmtpSink(settings)
            await sink.send(b"Subject: one\r\n\r\nfirst\r\n", sender=USER, recipients=["a@example.test"])
            await sink.close()
            tokens.expire_all()
            await sink.send(b"Subject: two\r\n\r\nsecond\r\n", sender=USER, recipients=["a@example.test"])
            await sink.close()

        asyncio.run(send_twice())
        assert [m.message["Subject"] for m in smtp.received] == ["one", "two"]
        assert smtp.logins == [(USER, True), (USER, False), (USER, True)]
        scopes = {g["scope"] for g in tokens.grants}
        assert any("https://outlook.office365.com/.default" in s for s in scopes)


def test_the_sink_defers_mail_when_no_token_is_accepted(tokens):
    tokens.issue_valid = False
    with OAuthSmtpServer(tokens) as smtp:
        settings = SmtpSettings(host=smtp.host, port=smtp.port, security="none", username=USER,
                                auth="oauth2", oauth2=microsoft(tokens), from_address=USER)
        with pytest.raises(TemporaryFailure, match="OAuth2 login"):
            asyncio.run(SmtpSink(settings).send(b"Subject: x\r\n\r\ny\r\n", sender=USER, recipients=["a@x.test"]))
        assert smtp.received == [] and len(smtp.logins) == 2


def _key_and_certificate(tmp_path):
    """An RSA key with a self-signed certificate: PEM file (key + certificate), public key, SHA-1 thumbprint."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supportbot-test")])
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=36500))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    path = tmp_path / "app-cert.pem"
    path.write_text(key_pem + cert.public_bytes(serialization.Encoding.PEM).decode())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, key_pem, public, cert.fingerprint(hashes.SHA1()).hex()


def test_microsoft_certificate_credential_signs_a_client_assertion(dovecot, tokens, tmp_path):
    path, _, public, thumbprint = _key_and_certificate(tmp_path)
    tokens.assertion_key = public
    oauth2 = microsoft(tokens, client_secret="", certificate_file=str(path), certificate_thumbprint=thumbprint)
    ImapMailbox(imap_settings(dovecot, oauth2)).close()
    assert "client_assertion" in tokens.grants[0] and "client_secret" not in tokens.grants[0]
    assert tokens.introspected == tokens.issued


def test_microsoft_delegated_refresh_token_with_the_imap_scope_and_rotation(dovecot, tokens, tmp_path):
    tokens.rotate_refresh_token = True
    first_refresh_token = tokens.refresh_token
    secret_file = tmp_path / "refresh-token"       # outside the repository, as the README says
    secret_file.write_text(first_refresh_token + "\n")
    oauth2 = microsoft(tokens, client_secret="", refresh_token_file=str(secret_file))
    settings = imap_settings(dovecot, oauth2)
    ImapMailbox(settings).close()
    tokens.expire_all()
    ImapMailbox(settings).close()                  # renewed with the rotated refresh token
    assert [g["grant_type"] for g in tokens.grants] == ["refresh_token", "refresh_token"]
    assert tokens.grants[0]["refresh_token"] == first_refresh_token
    assert tokens.grants[1]["refresh_token"] == "refresh-1"
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in tokens.grants[0]["scope"]
    assert tokens.introspected[-1] == tokens.issued[-1]


def test_google_service_account_with_domain_wide_delegation(dovecot, tokens, tmp_path):
    import json
    _, key_pem, public, _ = _key_and_certificate(tmp_path)
    tokens.assertion_key = public
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "esl", "private_key_id": "k1", "private_key": key_pem,
        "client_email": "bot@esl.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}))    # overridden by token_url
    oauth2 = {"provider": "google", "service_account_file": str(key_file), "token_url": tokens.token_url,
              "cafile": tokens.cafile}
    ImapMailbox(imap_settings(dovecot, oauth2)).close()
    assert tokens.grants[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert tokens.introspected == tokens.issued
