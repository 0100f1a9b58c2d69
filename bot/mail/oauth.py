"""OAuth2 access tokens for the mailbox login: fetched when needed, kept in memory only, renewed early."""
from __future__ import annotations

import logging
import threading

from bot.clock import Clock, SystemClock
from bot.mail import oauth_providers
from bot.mail.oauth_providers import TokenError
from bot.config.oauth import OAuth2Settings

__all__ = ["TokenError", "TokenSource", "token_source"]

log = logging.getLogger(__name__)


class TokenSource:
    """One account's token: the cached one while it has refresh_margin_seconds left, else a new one.

    Never written to disk or to the log; a refresh token the provider rotates is kept in memory."""

    def __init__(self, settings: OAuth2Settings, protocol: str, username: str,
                 clock: Clock | None = None) -> None:
        self.settings, self.protocol, self.username = settings, protocol, username
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0          # clock.monotonic() seconds
        self._lifetime = 0.0
        self._refresh_token = ""        # the provider's latest, when it rotated the configured one
        self.fetched = 0                # tokens obtained so far (for tests and `mail check`)

    def token(self, *, renew: bool = False) -> str:
        """A usable access token; renew=True after a server refused the cached one."""
        with self._lock:
            margin = min(self.settings.refresh_margin_seconds, 0.5 * self._lifetime) if self._token else 0
            if renew or not self._token or self.clock.monotonic() >= self._expires_at - margin:
                self._fetch()
            return self._token

    def _fetch(self) -> None:
        s = self.settings
        refresh_token = self._refresh_token or (s.secret("refresh_token") if s.provider != "command" else "")
        if s.provider == "microsoft":
            grant = oauth_providers.microsoft(s, self.protocol, refresh_token)
        elif s.provider == "google":
            grant = oauth_providers.google(s, self.username, refresh_token, self.clock.now())
        elif s.provider == "command":
            grant = oauth_providers.command(s)
        else:
            raise TokenError(f"unknown OAuth2 provider {s.provider!r}")
        self._token, self._lifetime = grant.access_token, grant.lifetime_seconds
        self._expires_at = self.clock.monotonic() + grant.lifetime_seconds
        self._refresh_token = grant.refresh_token or self._refresh_token
        self.fetched += 1
        log.info("%s OAuth2 token obtained from %s, valid %d s", self.protocol, s.provider, grant.lifetime_seconds)


_sources: dict[tuple[str, str, str], TokenSource] = {}
_sources_lock = threading.Lock()


def token_source(settings: OAuth2Settings, protocol: str, username: str) -> TokenSource:
    """The process's one TokenSource for these settings, so every connection shares its token."""
    key = (settings.model_dump_json(), protocol, username)
    with _sources_lock:
        if key not in _sources:
            _sources[key] = TokenSource(settings, protocol, username)
        return _sources[key]

