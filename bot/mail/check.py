"""`supportbot mail check`: a report of named steps, and the steps both protocols share (DNS, TCP, token)."""
from __future__ import annotations

import inspect
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.mail.oauth import token_source

LOGIN_HINT = (" (QQ, Exmail, NetEase and Alibaba Mail want the authorisation code, 授权码, as the password;"
              " Microsoft 365 and Gmail want auth = \"oauth2\")")


@dataclass(frozen=True)
class Step:
    area: str                 # "IMAP" or "SMTP"
    name: str                 # e.g. "login"
    ok: bool | None           # None: skipped, an earlier step of its area failed
    detail: str


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)

    def failed(self, area: str) -> bool:
        return any(s.area == area and s.ok is False for s in self.steps)

    async def step(self, area: str, name: str, action: Callable[[], object]) -> None:
        """Run action (it returns what to say, or raises) unless an earlier step of area failed."""
        if self.failed(area):
            self.steps.append(Step(area, name, None, "skipped"))
            return
        try:
            detail = action()
            if inspect.isawaitable(detail):
                detail = await detail
            self.steps.append(Step(area, name, True, str(detail or "ok")))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, worded, and named
            hint = LOGIN_HINT if name == "login" else ""
            self.steps.append(Step(area, name, False, f"{type(exc).__name__}: {str(exc)[:300]}{hint}"))


def resolve(host: str, port: int) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError(f"the name {host} does not resolve ({exc.strerror})") from None
    return f"{host} is {', '.join(sorted({info[4][0] for info in found}))}"


def tcp(host: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return f"port {port} accepts connections"
    except ConnectionRefusedError:
        raise ConnectionError(f"nothing accepts connections on {host}:{port} (wrong port?)") from None
    except TimeoutError:
        raise ConnectionError(f"no answer from {host}:{port} within {timeout} s (a firewall?)") from None



def obtain_token(oauth2, protocol: str, username: str) -> str:
    token_source(oauth2, protocol, username).token()
    return f"obtained from {oauth2.provider}"     # never the token itself
