"""Settings: one TOML file, validated on load, with secrets from the environment (sla.py and
web.py hold those sections). A shared edge: it imports nothing else of the bot."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.sla import DigestSettings, ReminderSettings, SlaRules, StaffSettings  # noqa: E402
from bot.config.web import WebSettings  # noqa: E402
from bot.config.oauth import AuthKind, OAuth2Settings  # noqa: E402

Security = Literal["none", "starttls", "tls"]

# Environment variables that override secrets (and the database URL); see README.
ENV_PREFIX = "SUPPORTBOT_"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImapSettings(Section):
    host: str = ""                      # empty: no real mailbox, `run` falls back to the demo
    port: int = Field(993, ge=1, le=65535)
    security: Security = "tls"
    username: str = ""
    password: str = ""                  # prefer SUPPORTBOT_IMAP__PASSWORD
    auth: AuthKind = "password"         # "oauth2": SASL XOAUTH2/OAUTHBEARER with a token from [imap.oauth2]
    oauth2: OAuth2Settings = OAuth2Settings()
    send_id: bool = False               # send the IMAP ID command after login (NetEase requires it)
    cafile: str = ""                    # extra CA bundle for a private certificate
    folder: str = "INBOX"
    processed_folder: str = ""          # empty: leave handled mail where it is (flagged \Seen)
    poll_seconds: int = Field(60, ge=1)
    batch_size: int = Field(50, ge=1, le=1000)
    timeout_seconds: int = Field(60, ge=1)
    # Larger messages are not downloaded: their header is stored, quarantined for staff.
    max_message_bytes: int = Field(26_214_400, ge=1024)

    @model_validator(mode="after")
    def oauth2_complete(self) -> "ImapSettings":
        return _oauth2_complete(self)


class SmtpSettings(Section):
    host: str = ""
    port: int = Field(465, ge=1, le=65535)
    security: Security = "tls"
    username: str = ""
    password: str = ""                  # prefer SUPPORTBOT_SMTP__PASSWORD
    auth: AuthKind = "password"         # "oauth2": AUTH XOAUTH2 with a token from [smtp.oauth2]
    oauth2: OAuth2Settings = OAuth2Settings()
    cafile: str = ""
    from_address: str = "support@example.com"
    from_name: str = "ESL Privacy Team"
    timeout_seconds: int = Field(30, ge=1)
    max_attempts: int = Field(8, ge=1)
    retry_base_seconds: int = Field(30, ge=1)
    # How long a sender holds claimed mail; a claim older than this is taken up again.
    claim_lease_seconds: int = Field(120, ge=5)
    # Where the server files a copy of what it accepted from us (an IMAP folder of the [imap]
    # account), and an optional envelope-only Bcc that makes it do so.
    sent_copy_folder: str = ""
    sent_copy_bcc: str = ""
    # `supportbot run` sends from a second process of its own (bot/service/sender_process.py).
    sender_process: bool = True

    @property
    def send_seconds(self) -> int:
        """The longest one SMTP transaction is allowed for (connect, MAIL, RCPT, DATA: a few timeouts)."""
        return 2 * self.timeout_seconds + 5

    @model_validator(mode="after")
    def lease_outlasts_a_send(self) -> "SmtpSettings":
        # A claim must not run out while its SMTP transaction may still be going on.
        if self.claim_lease_seconds < self.send_seconds:
            raise ValueError(f"claim_lease_seconds must be at least 2 * timeout_seconds + 5 ({self.send_seconds})")
        return _oauth2_complete(self)


def _oauth2_complete(section):
    """auth = "oauth2" needs a user name and a provider with what it needs."""
    if section.auth == "oauth2":
        missing = (["username"] if not section.username else []) + \
            [f"oauth2.{name}" for name in section.oauth2.problems()]
        if missing:
            raise ValueError(f'auth = "oauth2" needs {", ".join(missing)}')
    return section


class DatabaseSettings(Section):
    url: str = "sqlite:///supportbot.db"


class SlaSettings(SlaRules):
    days: int = Field(15, ge=1, le=365)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")
        return value


class TicketSettings(Section):
    reference_prefix: str = Field("ESL", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    triage_threshold: float = Field(0.85, ge=0, le=1)
    # Same requester, same kind, open ticket received within this many days: linked (0: off).
    duplicate_window_days: int = Field(30, ge=0, le=3650)


class LoopSettings(Section):
    # Automatic mail (bot.outbox.loops.AUTOMATIC_KINDS) over the per-address limit is withheld;
    # over the global one it waits (see bot/outbox/sender.py).
    per_address_per_hour: int = Field(5, ge=0)
    global_per_hour: int = Field(500, ge=1)


class AccountSettings(Section):
    source: Literal["embedded", "sql"] = "embedded"
    url: str = ""                       # the app's database (read-only), for source = "sql"
    # Parameterised queries returning account_id, nickname, phone, email, wechat_bound, status.
    query_by_email: str = ""
    query_by_phone: str = ""
    query_by_nickname: str = ""
    query_by_id: str = ""
    default_region: str = Field("CN", pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def sql_needs_queries(self) -> "AccountSettings":
        if self.source == "sql":
            missing = [name for name in ("url", "query_by_email", "query_by_phone", "query_by_id")
                       if not getattr(self, name)]
            if missing:
                raise ValueError(f"source = \"sql\" needs {', '.join(missing)}")
        return self


class VerificationSettings(Section):
    # Authentication-Results headers are believed only from these servers (our own MX).
    trusted_authserv_ids: list[str] = []
    code_ttl_hours: int = Field(72, ge=1, le=24 * 30)
    max_attempts: int = Field(5, ge=1, le=20)
    sms_sender: Literal["none", "log"] = "none"


class ClassifierSettings(Section):
    # "model" (the trained spaCy pipeline), "rules" (spaCy patterns), or "" for the model
    # when classifiers/model exists and the rules otherwise.
    kind: Literal["", "model", "rules"] = ""
    model_path: str = "classifiers/model"   # relative paths start at the project directory
    threshold: float = Field(0.5, ge=0, le=1)  # a right's score from which it counts as asked


class ExportSettings(Section):
    # Extra read-only queries for access exports: name -> SQL with :account_id; run against
    # `url`, or the [accounts] url when empty (source = "sql").
    url: str = ""
    queries: dict[str, str] = {}


class ThirdParty(Section):
    name: str
    email: str


class DeletionSettings(Section):
    # Recipients of our personal information, told when an account's data is deleted.
    third_parties: list[ThirdParty] = []
    # Run once per approved deletion, with :account_id bound: SQL against `url` (or the
    # [accounts] url), then a command whose arguments may contain {account_id}.
    url: str = ""
    sql: list[str] = []
    command: list[str] = []
    timeout_seconds: int = Field(120, ge=1)
    # A notice unanswered for `confirm_days` is reminded, `confirm_reminders` times, each
    # `confirm_days` after the last; then it is escalated to staff (bot/processors).
    confirm_days: int = Field(7, ge=1, le=365)
    confirm_reminders: int = Field(2, ge=0, le=10)


class RetentionSettings(Section):
    # Message bodies (ours and theirs), drafts and their attachments of tickets completed more
    # than `days` ago are purged daily; mail with no ticket `days` after it arrived or was sent.
    enabled: bool = True
    days: int = Field(365, ge=1, le=36500)
    cron: str = "30 3 * * *"            # when the daily purge runs, in the [sla] time zone

    valid_cron = field_validator("cron")(DigestSettings.valid_crontab.__func__)


class LoggingSettings(Section):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )
    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    database: DatabaseSettings = DatabaseSettings()
    sla: SlaSettings = SlaSettings()
    tickets: TicketSettings = TicketSettings()
    loops: LoopSettings = LoopSettings()
    accounts: AccountSettings = AccountSettings()
    verification: VerificationSettings = VerificationSettings()
    export: ExportSettings = ExportSettings()
    deletion: DeletionSettings = DeletionSettings()
    reminders: ReminderSettings = ReminderSettings()
    digest: DigestSettings = DigestSettings()
    staff: StaffSettings = StaffSettings()
    web: WebSettings = WebSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, so secrets never need to be in it.
        return (env_settings, init_settings)

    @property
    def mailbox_configured(self) -> bool:
        return bool(self.imap.host)


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


def load_settings(path: Path | None, *, required: bool = False) -> Settings:
    """Read and validate `path`; a missing file gives the embedded defaults unless required."""
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    elif required:
        raise ConfigError(f"{path}: no such configuration file")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(path if data else None, exc)) from None


def _describe(path: Path | None, exc: ValidationError) -> str:
    """Each bad value blamed where it came from: the environment variable that set it, else the file."""
    lines = [f"{path}: invalid configuration" if path else "invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        got = "" if err["type"] == "extra_forbidden" else f" (got {err.get('input')!r})"
        variable = ENV_PREFIX + "__".join(str(part) for part in err["loc"][:2]).upper()
        source = f"environment variable {variable}" if variable in os.environ else key
        lines.append(f"  {source}: {message}{got}" if source == key else f"  {source} ({key}): {message}{got}")
    return "\n".join(lines)
