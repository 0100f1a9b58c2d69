"""A loopback OAuth2 authorisation server: OpenID metadata and a token endpoint (HTTPS), introspection (HTTP).

Speaks enough of the Microsoft identity platform for MSAL and of Google's token endpoint for
google-auth; Dovecot's oauth2 passdb asks its introspection endpoint whether a token is valid."""
from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt  # PyJWT, installed with msal

from tests.support.dovecot import _make_certificate

TENANT = "test-tenant"


@dataclass
class TokenServer:
    username: str                        # whom every token it issues belongs to
    client_id: str = "supportbot-client"
    client_secret: str = "client-secret-value"
    refresh_token: str = "refresh-token-value"
    lifetime_seconds: int = 3600         # expires_in of the tokens it issues
    issue_valid: bool = True             # False: what it issues, introspection refuses
    # PEM public key that signed JWT assertions must verify with (certificate credentials,
    # service accounts); None refuses them.
    assertion_key: bytes | None = None
    rotate_refresh_token: bool = False   # answer each refresh with a new refresh token
    grants: list[dict] = field(default_factory=list)    # every token request, as posted
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)        # tokens introspection calls active
    introspected: list[str] = field(default_factory=list)
    cafile: str = ""
    _servers: list[ThreadingHTTPServer] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self._servers[0].server_port}"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{TENANT}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_port}/introspect"

    def expire_all(self) -> None:
        """Every token issued so far stops being valid, as when it expired early or was revoked."""
        self.valid.clear()

    def start(self, tls_dir: Path) -> TokenServer:
        _make_certificate(tls_dir)
        self.cafile = str(tls_dir / "cert.pem")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_dir / "cert.pem", tls_dir / "key.pem")
        handler = type("Handler", (_Handler,), {"owner": self})
        secure, plain = ThreadingHTTPServer(("127.0.0.1", 0), handler), ThreadingHTTPServer(("127.0.0.1", 0), handler)
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        self._servers = [secure, plain]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _grant(self, form: dict[str, str]) -> tuple[int, dict]:
        self.grants.append(form)
        kind = form.get("grant_type")
        public = "client_secret" not in form and "client_assertion" not in form   # a public client
        client_ok = form.get("client_id") == self.client_id and (
            form.get("client_secret") == self.client_secret
            or self._claims(form.get("client_assertion")).get("sub") == self.client_id
            or (public and kind == "refresh_token"))
        if kind == "urn:ietf:params:oauth:grant-type:jwt-bearer":   # a service account acting as a user
            claims = self._claims(form.get("assertion"))
            ok = claims.get("sub") == self.username and "https://mail.google.com/" in claims.get("scope", "")
            form = {**form, "scope": claims.get("scope", "")}
        else:
            ok = client_ok and (kind == "client_credentials" or (
                kind == "refresh_token" and form.get("refresh_token") == self.refresh_token))
        if not ok:
            return 400, {"error": "invalid_grant", "error_description": "AADSTS70000: refused by the test"}
        token = f"access-{len(self.issued) + 1}-for-{self.username}"
        self.issued.append(token)
        if self.issue_valid:
            self.valid.add(token)
        reply = {"token_type": "Bearer", "access_token": token, "expires_in": self.lifetime_seconds,
                 "scope": form.get("scope", "")}
        if kind == "refresh_token" and self.rotate_refresh_token:
            self.refresh_token = reply["refresh_token"] = f"refresh-{len(self.issued)}"
        return 200, reply

    def _claims(self, assertion: str | None) -> dict:
        """The claims of a JWT signed with assertion_key, addressed to us; {} for anything else."""
        if not assertion or self.assertion_key is None:
            return {}
        try:
            return jwt.decode(assertion, self.assertion_key, algorithms=["RS256", "PS256"],
                              options={"verify_aud": False})
        except jwt.PyJWTError:
            return {}


class _Handler(BaseHTTPRequestHandler):
    owner: TokenServer

    def log_message(self, *args) -> None:   # quiet: pytest shows failures, not every request
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith(f"/{TENANT}/") and self.path.endswith("/.well-known/openid-configuration"):
            base = self.owner.authority
            self._reply(200, {"authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                              "token_endpoint": f"{base}/oauth2/v2.0/token",
                              "issuer": f"{base}/v2.0"})
        else:
            self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/introspect":
            token = form.get("token", "")
            self.owner.introspected.append(token)
            active = token in self.owner.valid
            self._reply(200, {"active": active, **({"username": self.owner.username} if active else {})})
        elif self.path in ("/token", f"/{TENANT}/oauth2/v2.0/token"):
            self._reply(*self.owner._grant(form))
        else:
            self._reply(404, {"error": "not_found"})
