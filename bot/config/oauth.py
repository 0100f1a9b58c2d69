"""The [imap.oauth2] and [smtp.oauth2] sections: where a mailbox login gets its OAuth2 access token."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# bot.config imports this module, so it cannot import bot.config's Section: the same rule here.


class OAuth2Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "microsoft" (MSAL), "google" (google-auth) or "command" (prints a token).
    provider: Literal["", "microsoft", "google", "command"] = ""
    tenant_id: str = ""                  # microsoft: the directory (tenant) id
    client_id: str = ""
    # Secrets: prefer the environment (SUPPORTBOT_IMAP__OAUTH2__CLIENT_SECRET) or the *_file
    # settings, a file outside the repository holding only the value.
    client_secret: str = Field("", repr=False)
    client_secret_file: str = ""
    refresh_token: str = Field("", repr=False)
    refresh_token_file: str = ""
    certificate_file: str = ""           # microsoft: PEM with private key and certificate
    certificate_thumbprint: str = ""     # microsoft: its SHA-1 thumbprint, hex
    service_account_file: str = ""       # google: key file of a service account (domain-wide delegation)
    scopes: list[str] = []               # empty: the provider's usual scope for the protocol
    authority: str = ""                  # microsoft: empty means https://login.microsoftonline.com/<tenant_id>
    token_url: str = ""                  # google: empty means https://oauth2.googleapis.com/token
    cafile: str = ""                     # extra CA bundle for the token endpoint
    command: list[str] = []              # command: prints an access token on its first line
    command_token_seconds: int = Field(300, ge=10)  # command: how long its token is used
    refresh_margin_seconds: int = Field(300, ge=0)  # a token this close to expiry is renewed

    def secret(self, name: str) -> str:
        """A secret from its setting (environment) or, failing that, from its *_file."""
        value = getattr(self, name)
        path = getattr(self, f"{name}_file")
        if not value and path:
            value = Path(path).read_text(encoding="utf-8").strip()
        return value

    def problems(self) -> list[str]:
        """What is missing for the chosen provider, worded for the configuration file."""
        need = {"": ["provider"], "command": ["command"],
                "microsoft": ["client_id"] + ([] if self.authority else ["tenant_id"]),
                "google": [] if self.service_account_file else ["client_id"]}[self.provider]
        missing = [name for name in need if not getattr(self, name)]
        if self.provider == "google" and not self.service_account_file \
                and not (self.refresh_token or self.refresh_token_file):
            missing.append("refresh_token (or service_account_file)")
        if self.provider == "microsoft" and not (self.client_secret or self.client_secret_file
                                                 or self.certificate_file or self.refresh_token
                                                 or self.refresh_token_file):
            missing.append("client_secret, certificate_file or refresh_token")
        return missing


AuthKind = Literal["password", "oauth2"]
