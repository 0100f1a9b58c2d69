"""Asking an OAuth2 provider for a mail access token: Microsoft (MSAL), Google (google-auth) or a command."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.config.oauth import OAuth2Settings

# The scopes each provider documents for mail, when [*.oauth2] scopes is empty.
MICROSOFT_APP_SCOPES = ["https://outlook.office365.com/.default"]      # client credentials
MICROSOFT_USER_SCOPES = {"imap": ["https://outlook.office.com/IMAP.AccessAsUser.All"],
                         "smtp": ["https://outlook.office.com/SMTP.Send"]}  # delegated (refresh token)
GOOGLE_SCOPES = ["https://mail.google.com/"]
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
COMMAND_TIMEOUT_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 30


class TokenError(Exception):
    """No token could be had; the message names the provider's error, never a secret."""


@dataclass(frozen=True)
class Grant:
    access_token: str
    lifetime_seconds: float
    refresh_token: str = ""       # a rotated refresh token to use next time, if the provider sent one


def microsoft(settings: OAuth2Settings, protocol: str, refresh_token: str) -> Grant:
    import msal
    authority = settings.authority or f"https://login.microsoftonline.com/{settings.tenant_id}"
    options = {"authority": authority, "http_client": http_session(settings.cafile)}
    if settings.authority:   # a private or test endpoint that Microsoft's discovery does not know
        options.update(validate_authority=False, instance_discovery=False)
    credential = settings.secret("client_secret") or None
    if settings.certificate_file:
        credential = {"private_key": Path(settings.certificate_file).read_text(encoding="utf-8"),
                      "thumbprint": settings.certificate_thumbprint}
    try:
        if credential:
            app = msal.ConfidentialClientApplication(settings.client_id, client_credential=credential, **options)
        else:
            app = msal.PublicClientApplication(settings.client_id, **options)
        if refresh_token:
            scopes = settings.scopes or MICROSOFT_USER_SCOPES[protocol]
            result = app.acquire_token_by_refresh_token(refresh_token, scopes=scopes)
        else:
            result = app.acquire_token_for_client(scopes=settings.scopes or MICROSOFT_APP_SCOPES)
    except (ValueError, OSError) as exc:   # requests' errors are OSErrors; MSAL raises ValueError on discovery
        raise TokenError(f"microsoft: {type(exc).__name__}: {_first_line(str(exc))}") from None
    if "access_token" not in result:
        raise TokenError(f"microsoft: {result.get('error')}: {_first_line(result.get('error_description', ''))}")
    return Grant(result["access_token"], float(result.get("expires_in", 3600)), result.get("refresh_token", ""))


def google(settings: OAuth2Settings, username: str, refresh_token: str, now: datetime) -> Grant:
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import Request
    from google.oauth2 import credentials, service_account
    session = http_session(settings.cafile)
    scopes = settings.scopes or GOOGLE_SCOPES
    token_url = settings.token_url or GOOGLE_TOKEN_URL
    try:
        if settings.service_account_file:
            # Domain-wide delegation: the service account acts as the mailbox's user.
            creds = service_account.Credentials.from_service_account_file(
                settings.service_account_file, scopes=scopes, subject=username).with_token_uri(token_url)
        else:
            creds = credentials.Credentials(
                None, refresh_token=refresh_token, token_uri=token_url, client_id=settings.client_id,
                client_secret=settings.secret("client_secret") or None, scopes=scopes)
        creds.refresh(Request(session))
    except (GoogleAuthError, ValueError, OSError) as exc:
        raise TokenError(f"google: {type(exc).__name__}: {_first_line(str(exc))}") from None
    expiry = creds.expiry.replace(tzinfo=timezone.utc) if creds.expiry else None
    lifetime = (expiry - now).total_seconds() if expiry else 3600.0
    rotated = getattr(creds, "refresh_token", None) or ""
    return Grant(creds.token, lifetime, rotated if rotated != refresh_token else "")


def command(settings: OAuth2Settings) -> Grant:
    try:
        done = subprocess.run(settings.command, capture_output=True, text=True, check=False,
                              timeout=COMMAND_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TokenError(f"token command: {type(exc).__name__}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:   # its stderr stays out of our log: it may hold anything
        raise TokenError(f"token command exited {done.returncode} with {'a' if lines else 'no'} token")
    return Grant(lines[0].strip(), float(settings.command_token_seconds))


def http_session(cafile: str):
    """A requests session that trusts cafile when given (requests lets REQUESTS_CA_BUNDLE win otherwise)."""
    import requests

    class Session(requests.Session):
        def merge_environment_settings(self, *args, **kwargs):
            merged = super().merge_environment_settings(*args, **kwargs)
            if cafile:
                merged["verify"] = cafile
            return merged

        def request(self, *args, **kwargs):
            kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
            return super().request(*args, **kwargs)

    return Session()


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]
