"""The [web] section: where the staff console listens and how its sessions behave."""
from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# bot.config imports this module for its [web] section, so it cannot import bot.config's
# Section; the same rule here: unknown keys are refused.


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True                # served by `supportbot run` as well as `supportbot web`
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=0, le=65535)
    # Signs the session cookie; prefer SUPPORTBOT_WEB__SECRET_KEY. Empty: one is generated
    # once and kept in the database (table websecret), shared by every process using it.
    secret_key: str = ""
    # "auto": Secure cookies unless the console listens on loopback only (plain http on
    # localhost); set true behind a TLS reverse proxy on loopback.
    cookie_secure: bool | Literal["auto"] = "auto"
    session_hours: int = Field(12, ge=1, le=24 * 30)
    page_size: int = Field(50, ge=10, le=500)
    password_min_length: int = Field(12, ge=8, le=128)
    # After this many failed logins from one client address (whatever the account name), within
    # login_window_minutes, its further attempts are refused (HTTP 429) until the window passes.
    login_max_failures: int = Field(5, ge=1, le=1000)
    # For one account name from all addresses together: higher, so that one client's guesses
    # never lock the real user out, while guesses spread over many addresses still stop.
    login_max_account_failures: int = Field(50, ge=1, le=100_000)
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)
    # Reverse proxies whose X-Forwarded-Proto/For are believed (comma-separated addresses); empty:
    # none, so a client cannot name its own address. The client is the hop the last proxy appended.
    forwarded_allow_ips: str = ""
    # /metrics needs "Authorization: Bearer <token>" when set (prefer SUPPORTBOT_WEB__METRICS_TOKEN);
    # empty: open, like /healthz (both show counts only, never personal data).
    metrics_token: str = ""
    # /healthz fails when the mailbox watcher has not finished a round for this long (at least
    # 3 * [imap] poll_seconds is used).
    watcher_stale_seconds: int = Field(300, ge=10)
    # The console's language for staff who have not chosen one: "zh" (Chinese) or "en" (English).
    language: Literal["en", "zh"] = "en"
    # The console as managers reach it, for the digest's links; empty: pages named, not linked.
    public_url: str = ""

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure != "auto":
            return bool(self.cookie_secure)
        return not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_settings(settings: object) -> WebSettings:
    """The [web] section of the bot's settings, or the defaults while Settings has none."""
    found = getattr(settings, "web", None)
    return found if isinstance(found, WebSettings) else WebSettings()
