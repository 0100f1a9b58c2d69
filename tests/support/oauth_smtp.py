"""The recording SMTP server, accepting AUTH XOAUTH2 with a token that a TokenServer calls valid."""
from __future__ import annotations

import base64
import json
import warnings

from aiosmtpd.smtp import SMTP, AuthResult

from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from tests.support.token_server import TokenServer


class OAuthSmtpServer(RecordingSmtpServer):
    """Offers only XOAUTH2 (over plain loopback) and refuses mail from a session not logged in."""

    def __init__(self, tokens: TokenServer) -> None:
        super().__init__()
        self.tokens = tokens
        self.logins: list[tuple[str, bool]] = []      # (user, accepted) for every AUTH
        self.handler.auth_XOAUTH2 = self._auth_xoauth2

    async def _serve(self):
        return await self._loop.create_server(self._session, self.host, self.port)

    def _session(self) -> SMTP:
        with warnings.catch_warnings():   # AUTH without TLS: on loopback, on purpose
            warnings.simplefilter("ignore")
            return SMTP(self.handler, hostname="oauth.test", auth_require_tls=False, auth_required=True,
                        auth_exclude_mechanism=["LOGIN", "PLAIN"])

    async def _auth_xoauth2(self, server: SMTP, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else await server.challenge_auth("", encode_to_b64=False)
        text = base64.b64decode(blob).decode() if isinstance(blob, (str, bytes)) else ""
        fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        accepted = user == self.tokens.username and token in self.tokens.valid
        self.logins.append((user, accepted))
        if accepted:
            return AuthResult(success=True, auth_data=user)
        # As Gmail and Outlook do: a JSON error as a challenge, then 535 after the empty answer.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")
