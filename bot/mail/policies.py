"""Email policies as the stdlib's, minus repeated work: header classes built once, parsed headers reused."""
from __future__ import annotations

from functools import lru_cache

from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy, linesep_splitter

_MAX_REUSED = 2000   # longer values (rare) are parsed each time rather than kept


class _CachingRegistry(HeaderRegistry):
    """The stdlib makes a new header class (type()) for every header it parses: made once here."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


_REGISTRY = _CachingRegistry()


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, "".join(linesep_splitter.split(value)))


class _ReusingPolicy(EmailPolicy):
    """Reading a header parses it once: the parser alone asks for Content-Type a dozen times a
    message. Header objects are immutable strings, so one made earlier for the same name and
    value is as good as a new one."""

    def header_fetch_parse(self, name: str, value: str):
        if hasattr(value, "name") or len(value) > _MAX_REUSED:
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)


DEFAULT = _ReusingPolicy(header_factory=_REGISTRY)                  # behaves as email.policy.default
SMTP = _ReusingPolicy(header_factory=_REGISTRY, linesep="\r\n")     # behaves as email.policy.SMTP
